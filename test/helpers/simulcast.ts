import dgram from 'node:dgram';
import type { types } from 'mediasoup';
import { isVp8Keyframe, parseRtpHeader, rtpPayloadOffset, RtpPacketizer, vp8Payload } from '../../bench/rtp.js';

/** One simulcast encoding: its SSRC and its frames' shape (30 fps). */
export interface LayerShape {
  ssrc: number;
  packetsPerFrame: number;
  bytes: number;
}

/** Three layers, about 100, 270 and 800 kbit/s of payload, like a camera's 180p/360p/720p. */
export const THREE_LAYERS = (base: number): LayerShape[] => [
  { ssrc: base, packetsPerFrame: 1, bytes: 400 },
  { ssrc: base + 1, packetsPerFrame: 1, bytes: 1100 },
  { ssrc: base + 2, packetsPerFrame: 3, bytes: 1100 },
];

const FPS = 30;
const PT = 101;

/** What a browser sends to produce VP8 simulcast over a plain transport (one SSRC per encoding). */
export function simulcastRtpParameters(layers: LayerShape[]): unknown {
  return {
    mid: '1',
    codecs: [{ mimeType: 'video/VP8', payloadType: PT, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
    headerExtensions: [],
    encodings: layers.map((l) => ({ ssrc: l.ssrc })),
    rtcp: { cname: 'simulcast-bot', reducedSize: true },
  };
}

/** Media SSRCs named by the PLIs and FIRs in a compound RTCP packet. */
export function keyframeRequestSsrcs(buf: Buffer): number[] {
  const out: number[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const fmt = buf[off]! & 0x1f;
    const len = 4 * (buf.readUInt16BE(off + 2) + 1);
    if (buf[off + 1] === 206 && fmt === 1 && off + 12 <= buf.length) out.push(buf.readUInt32BE(off + 8));
    if (buf[off + 1] === 206 && fmt === 4) for (let f = off + 12; f + 8 <= off + len && f + 8 <= buf.length; f += 8) out.push(buf.readUInt32BE(f));
    off += len;
  }
  return out;
}

function senderReport(ssrc: number, rtpTs: number, packets: number, octets: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  const ms = Date.now() + 2_208_988_800_000; // NTP epoch 1900
  b.writeUInt32BE(Math.floor(ms / 1000) >>> 0, 8);
  b.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  b.writeUInt32BE(rtpTs >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}

/**
 * A VP8 simulcast sender like a browser's: every layer at 30 fps, a key frame on a layer only
 * when asked (PLI/FIR for its SSRC) or on its first frame, a Sender Report per layer every
 * second (mediasoup switches between simulcast streams only once it can align their clocks).
 */
export async function startSimulcastSender(target: { ip: string; port: number }, layers: LayerShape[]) {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const state = layers.map((l) => ({
    ...l,
    rtp: new RtpPacketizer({ ssrc: l.ssrc, payloadType: PT }),
    frame: 0,
    wantKey: true,
    sentBytes: 0,
    sentPackets: 0,
    keyframeRequests: 0,
  }));
  sock.on('message', (msg) => {
    for (const ssrc of keyframeRequestSsrcs(msg)) {
      const s = state.find((x) => x.ssrc === ssrc);
      if (!s) continue;
      s.wantKey = true;
      s.keyframeRequests++;
    }
  });
  const send = (b: Buffer): void => sock.send(b, target.port, target.ip);
  const frames = setInterval(() => {
    for (const s of state) {
      const key = s.wantKey;
      s.wantKey = false;
      for (let i = 0; i < s.packetsPerFrame; i++) {
        const pkt = s.rtp.packet(vp8Payload({ pictureId: s.frame, keyframe: key, first: i === 0, size: s.bytes }), i === s.packetsPerFrame - 1);
        s.sentBytes += pkt.length;
        s.sentPackets++;
        send(pkt);
      }
      s.rtp.advance(90000 / FPS);
      s.frame++;
    }
  }, 1000 / FPS);
  const reports = setInterval(() => {
    for (const s of state) send(senderReport(s.ssrc, s.rtp.timestamp, s.sentPackets, s.sentBytes));
  }, 1000);
  let stopped = false;
  return {
    /** RTP bytes (headers included) and packets sent on a layer so far. */
    sent: (layer: number) => ({ bytes: state[layer]!.sentBytes, packets: state[layer]!.sentPackets }),
    /** PLIs and FIRs received for a layer's SSRC so far. */
    keyframeRequests: (layer: number) => state[layer]!.keyframeRequests,
    stop(): void {
      if (stopped) return;
      stopped = true;
      clearInterval(frames);
      clearInterval(reports);
      sock.close();
    },
  };
}

/** A UDP socket that counts RTP bytes, packets and VP8 key frames (RTCP apart). */
export async function startVp8Sink() {
  const sock = dgram.createSocket('udp4');
  const c = { bytes: 0, packets: 0, keyframes: 0 };
  sock.on('message', (msg) => {
    const h = parseRtpHeader(msg);
    if (!h) return;
    c.bytes += msg.length;
    c.packets++;
    if (isVp8Keyframe(msg.subarray(rtpPayloadOffset(msg)))) c.keyframes++;
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, counts: () => ({ ...c }), close: () => sock.close() };
}

/**
 * RTP packets each encoding of `producers` has received so far, summed by encoding index (a
 * simulcast producer's layer i is its encoding i; a stream not yet seen counts 0).
 */
export async function encodingPackets(producers: types.Producer[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of producers) {
    const stats = p.closed ? [] : await p.getStats().catch(() => []);
    (p.rtpParameters.encodings ?? []).forEach((e, i) => {
      out[i] = (out[i] ?? 0) + (stats.find((s) => s.ssrc === e.ssrc)?.packetCount ?? 0);
    });
  }
  return out;
}
