/**
 * RTP packetizing for the bench bots (RFC 3550 header, no CSRC, no extensions) and a
 * VP8-like payload (RFC 7741 descriptor). Every payload ends with a 13-byte stamp
 * (stream id, the sender's packet index, the send time in ns) that the sink reads back.
 */

export const RTP_HEADER_BYTES = 12;
export const STAMP_BYTES = 13;

export class RtpPacketizer {
  readonly ssrc: number;
  readonly payloadType: number;
  #seq: number;
  #ts: number;

  constructor(opts: { ssrc: number; payloadType: number; sequenceNumber?: number; timestamp?: number }) {
    this.ssrc = opts.ssrc >>> 0;
    this.payloadType = opts.payloadType & 0x7f;
    this.#seq = (opts.sequenceNumber ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
    this.#ts = (opts.timestamp ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
  }

  get sequenceNumber(): number {
    return this.#seq;
  }

  get timestamp(): number {
    return this.#ts;
  }

  /** One packet with the current timestamp; the sequence number grows by one (wrapping at 2^16). */
  packet(payload: Buffer, marker = false): Buffer {
    const out = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
    out[0] = 0x80;
    out[1] = (marker ? 0x80 : 0) | this.payloadType;
    out.writeUInt16BE(this.#seq, 2);
    out.writeUInt32BE(this.#ts, 4);
    out.writeUInt32BE(this.ssrc, 8);
    payload.copy(out, RTP_HEADER_BYTES);
    this.#seq = (this.#seq + 1) & 0xffff;
    return out;
  }

  /** Moves the media clock on (one frame), wrapping at 2^32. */
  advance(ticks: number): void {
    this.#ts = (this.#ts + ticks) >>> 0;
  }
}

export interface RtpHeader {
  version: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

export function parseRtpHeader(buf: Buffer): RtpHeader | undefined {
  if (buf.length < RTP_HEADER_BYTES || buf[0]! >> 6 !== 2) return undefined;
  const pt = buf[1]! & 0x7f;
  if (pt >= 72 && pt <= 79) return undefined; // RTCP on a muxed port (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR)
  return { version: 2, marker: (buf[1]! & 0x80) !== 0, payloadType: pt, sequenceNumber: buf.readUInt16BE(2), timestamp: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8) };
}

/** Offset of the payload: after CSRCs and a header extension, if any. */
export function rtpPayloadOffset(buf: Buffer): number {
  let off = RTP_HEADER_BYTES + 4 * (buf[0]! & 0x0f);
  if (buf[0]! & 0x10 && buf.length >= off + 4) off += 4 + 4 * buf.readUInt16BE(off + 2);
  return off;
}

/**
 * A VP8 payload: descriptor with X, S (start of partition 0) on a frame's first packet, a
 * 15-bit picture id, with `temporal` its TL0PICIDX and TID (Y set: every frame of the L1T3
 * pattern an SFU may switch up at), then on the first packet the 3-byte frame tag (P=0 on a
 * keyframe, plus the start code and 320x240 size a keyframe carries), filler up to `size` bytes.
 */
export function vp8Payload(opts: { pictureId: number; keyframe: boolean; first: boolean; size: number; temporal?: { tl0PicIdx: number; tid: number } }): Buffer {
  const pid = opts.pictureId & 0x7fff;
  const t = opts.temporal;
  const desc = [opts.first ? 0x90 : 0x80, t ? 0xe0 : 0x80, 0x80 | (pid >> 8), pid & 0xff, ...(t ? [t.tl0PicIdx & 0xff, ((t.tid & 3) << 6) | 0x20] : [])];
  const head = !opts.first ? [] : opts.keyframe ? [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00] : [0x11, 0x02, 0x00];
  const fixed = Buffer.from([...desc, ...head]);
  const out = Buffer.alloc(Math.max(opts.size, fixed.length + STAMP_BYTES), 0xab);
  fixed.copy(out, 0);
  return out;
}

/** Whether a VP8 RTP payload starts a keyframe (S=1, PID=0, frame tag P bit 0). */
export function isVp8Keyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  if (!(b0 & 0x10) || (b0 & 0x07) !== 0) return false;
  let off = 1;
  if (b0 & 0x80) {
    const x = payload[off++]!;
    if (x & 0x80) off += payload[off]! & 0x80 ? 2 : 1; // picture id
    if (x & 0x40) off += 1; // TL0PICIDX
    if (x & 0x30) off += 1; // TID / KEYIDX
  }
  return off < payload.length && (payload[off]! & 0x01) === 0;
}

/** Writes the stamp into the last STAMP_BYTES of a payload (in place). */
export function writeStamp(payload: Buffer, stream: number, index: number, sentNs: bigint): void {
  const o = payload.length - STAMP_BYTES;
  payload[o] = stream & 0xff;
  payload.writeUInt32BE(index >>> 0, o + 1);
  payload.writeBigUInt64BE(sentNs, o + 5);
}

export function readStamp(packet: Buffer): { stream: number; index: number; sentNs: bigint } | undefined {
  if (packet.length < RTP_HEADER_BYTES + STAMP_BYTES) return undefined;
  const o = packet.length - STAMP_BYTES;
  return { stream: packet[o]!, index: packet.readUInt32BE(o + 1), sentNs: packet.readBigUInt64BE(o + 5) };
}

/** An RTCP PLI or FIR (payload-specific feedback, PT 206, FMT 1 or 4) anywhere in a compound packet. */
export function isKeyframeRequest(buf: Buffer): boolean {
  let off = 0;
  while (off + 4 <= buf.length) {
    const fmt = buf[off]! & 0x1f;
    if (buf[off + 1] === 206 && (fmt === 1 || fmt === 4)) return true;
    off += 4 * (buf.readUInt16BE(off + 2) + 1);
  }
  return false;
}

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_SEC = 2_208_988_800;

/**
 * An RTCP Sender Report (RFC 3550 §6.4.1, no report blocks). mediasoup switches a simulcast
 * consumer to another layer only once it has an SR of both layers: it maps one layer's RTP
 * time onto the other's through them.
 */
export function senderReport(opts: { ssrc: number; wallMs: number; rtpTimestamp: number; packets: number; octets: number }): Buffer {
  const out = Buffer.alloc(28);
  out[0] = 0x80;
  out[1] = 200;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(opts.ssrc >>> 0, 4);
  const sec = Math.floor(opts.wallMs / 1000);
  out.writeUInt32BE((sec + NTP_UNIX_OFFSET_SEC) >>> 0, 8);
  out.writeUInt32BE(Math.floor(((opts.wallMs - sec * 1000) / 1000) * 2 ** 32) >>> 0, 12);
  out.writeUInt32BE(opts.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(opts.packets >>> 0, 20);
  out.writeUInt32BE(opts.octets >>> 0, 24);
  return out;
}
