import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKeyframeRequest, isVp8Keyframe, parseRtpHeader, readStamp, RtpPacketizer, rtpPayloadOffset, STAMP_BYTES, vp8Payload, writeStamp } from '../../bench/rtp.js';

describe('bench RTP packetizer', () => {
  it('writes RFC 3550 header fields', () => {
    const p = new RtpPacketizer({ ssrc: 0xdeadbeef, payloadType: 101, sequenceNumber: 7, timestamp: 1234 });
    const buf = p.packet(Buffer.from([1, 2, 3]), true);
    assert.equal(buf.length, 15);
    assert.equal(buf[0], 0x80);
    assert.deepEqual(parseRtpHeader(buf), { version: 2, marker: true, payloadType: 101, sequenceNumber: 7, timestamp: 1234, ssrc: 0xdeadbeef });
    assert.equal(rtpPayloadOffset(buf), 12);
    assert.deepEqual([...buf.subarray(12)], [1, 2, 3]);
    assert.equal(parseRtpHeader(p.packet(Buffer.alloc(1)))!.marker, false);
  });

  it('wraps the sequence number at 2^16 and the timestamp at 2^32', () => {
    const p = new RtpPacketizer({ ssrc: 1, payloadType: 100, sequenceNumber: 0xfffe, timestamp: 0xffffffff - 959 });
    const seqs = [0, 1, 2].map(() => parseRtpHeader(p.packet(Buffer.alloc(1)))!.sequenceNumber);
    assert.deepEqual(seqs, [0xfffe, 0xffff, 0]);
    p.advance(960);
    assert.equal(p.timestamp, 0);
    p.advance(960);
    assert.equal(parseRtpHeader(p.packet(Buffer.alloc(1)))!.timestamp, 960);
  });

  it('keeps the timestamp within a frame and advances it between frames', () => {
    const p = new RtpPacketizer({ ssrc: 1, payloadType: 101, sequenceNumber: 0, timestamp: 0 });
    const a = parseRtpHeader(p.packet(Buffer.alloc(1)))!;
    const b = parseRtpHeader(p.packet(Buffer.alloc(1), true))!;
    p.advance(3000);
    const c = parseRtpHeader(p.packet(Buffer.alloc(1)))!;
    assert.equal(a.timestamp, b.timestamp);
    assert.equal(c.timestamp, 3000);
    assert.deepEqual([a.sequenceNumber, b.sequenceNumber, c.sequenceNumber], [0, 1, 2]);
  });

  it('marks VP8 keyframes only on the first packet of a keyframe', () => {
    const key = vp8Payload({ pictureId: 300, keyframe: true, first: true, size: 1100 });
    assert.equal(key.length, 1100);
    assert.equal(isVp8Keyframe(key), true);
    assert.deepEqual([...key.subarray(7, 10)], [0x9d, 0x01, 0x2a], 'start code');
    assert.equal((((key[2]! & 0x7f) << 8) | key[3]!), 300, '15-bit picture id');
    assert.equal(isVp8Keyframe(vp8Payload({ pictureId: 301, keyframe: false, first: true, size: 1100 })), false);
    assert.equal(isVp8Keyframe(vp8Payload({ pictureId: 300, keyframe: true, first: false, size: 1100 })), false);
    assert.equal(isVp8Keyframe(vp8Payload({ pictureId: 0x7fff + 2, keyframe: true, first: true, size: 10 })), true);
  });

  it('round-trips the payload stamp at the end of a packet', () => {
    const p = new RtpPacketizer({ ssrc: 9, payloadType: 100 });
    const payload = Buffer.alloc(120);
    writeStamp(payload, 2, 0xfffffffe, 123456789012345n);
    const s = readStamp(p.packet(payload));
    assert.deepEqual(s, { stream: 2, index: 0xfffffffe, sentNs: 123456789012345n });
    assert.equal(readStamp(Buffer.alloc(12 + STAMP_BYTES - 1)), undefined);
  });

  it('tells RTCP apart and finds PLI/FIR in a compound packet', () => {
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    const nack = Buffer.from([0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0]);
    assert.equal(parseRtpHeader(Buffer.concat([rr, Buffer.alloc(8)])), undefined);
    assert.equal(isKeyframeRequest(Buffer.concat([rr, pli])), true);
    assert.equal(isKeyframeRequest(Buffer.concat([rr, nack])), false);
    assert.equal(isKeyframeRequest(Buffer.from([0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0])), true, 'FIR');
  });
});
