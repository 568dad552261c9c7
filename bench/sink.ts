import dgram from 'node:dgram';
import { parseRtpHeader, readStamp } from './rtp.js';

interface SsrcState {
  stream: number;
  total: number;
  /** Bytes received (RTP header included). */
  bytes: number;
  inWindow: number;
  firstAt: number;
  /** Counted by sequence number (set by `watch`): the payload is opaque (SRTP) or not read. */
  bySeq: boolean;
  /** Highest extended sequence number seen (-1: none yet). */
  hi: number;
  /** Window in extended sequence numbers [seqFrom, seqTo) (bySeq only). */
  seqFrom: number;
  seqTo: number;
}

/**
 * One UDP socket receiving every consumer's RTP, told apart by SSRC. A window counts, per
 * SSRC, the packets whose sender index lies in [from, to) of their stream, and samples the
 * one-way delay (now - send time in the payload stamp).
 *
 * An SSRC announced with `watch` is counted by its RTP sequence number instead, which is in
 * clear under SRTP when the payload (and its stamp) is not: its window starts after the highest
 * sequence number seen when it opens and spans as many packets as the publisher sent in the
 * window. mediasoup keeps a consumer's sequence numbers contiguous where its input was, so a
 * gap is a packet lost on the way in or out.
 */
export class Sink {
  readonly #socks: dgram.Socket[];
  #next = 0;
  readonly ssrcs = new Map<number, SsrcState>();
  #window: Map<number, { from: number; to: number }> | undefined;
  delaysMs: number[] = [];
  #sampleEvery = 1;
  #n = 0;
  /** Called on an SSRC's first packet. */
  onFirst: ((ssrc: number, at: number) => void) | undefined;

  private constructor(socks: dgram.Socket[]) {
    this.#socks = socks;
    for (const sock of socks) sock.on('message', (msg) => this.#onPacket(msg));
  }

  /**
   * Several sockets, not one: libuv reads at most 32 datagrams from a UDP socket per event-loop
   * turn, so one socket drains ~32 × turns/s; at tens of thousands of packets a second the rest
   * waits in the kernel buffer (seconds of false "latency") or is dropped there (false "loss").
   * Subscribers are spread over the sockets (`nextPort`).
   */
  static async create(sockets = 16): Promise<Sink> {
    const socks = await Promise.all(
      Array.from({ length: sockets }, async () => {
        const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        return sock;
      }),
    );
    return new Sink(socks);
  }

  /** The port the next subscriber should send to (round robin over the sockets). */
  nextPort(): number {
    return this.#socks[this.#next++ % this.#socks.length]!.address().port;
  }

  /** Counts `ssrc` (of `stream`) by sequence number, never reading its payload. */
  watch(ssrc: number, stream: number): void {
    if (!this.ssrcs.has(ssrc)) this.ssrcs.set(ssrc, { stream, total: 0, bytes: 0, inWindow: 0, firstAt: 0, bySeq: true, hi: -1, seqFrom: Infinity, seqTo: Infinity });
  }

  #onPacket(msg: Buffer): void {
    const h = parseRtpHeader(msg);
    if (!h) return;
    let s = this.ssrcs.get(h.ssrc);
    if (s?.bySeq) {
      const ext = s.hi < 0 ? h.sequenceNumber : s.hi + ((((h.sequenceNumber - (s.hi & 0xffff)) & 0xffff) ^ 0x8000) - 0x8000);
      if (ext > s.hi) s.hi = ext;
      if (s.total++ === 0) this.onFirst?.(h.ssrc, (s.firstAt = performance.now()));
      s.bytes += msg.length;
      if (ext >= s.seqFrom && ext < s.seqTo) s.inWindow++;
      return;
    }
    const stamp = readStamp(msg);
    if (!stamp) return;
    if (!s) {
      s = { stream: stamp.stream, total: 0, bytes: 0, inWindow: 0, firstAt: performance.now(), bySeq: false, hi: -1, seqFrom: Infinity, seqTo: Infinity };
      this.ssrcs.set(h.ssrc, s);
      this.onFirst?.(h.ssrc, s.firstAt);
    }
    s.total++;
    s.bytes += msg.length;
    const w = this.#window?.get(stamp.stream);
    if (w && stamp.index >= w.from && stamp.index < w.to) {
      s.inWindow++;
      if (this.#n++ % this.#sampleEvery === 0 && this.delaysMs.length < 200_000) this.delaysMs.push(Number(process.hrtime.bigint() - stamp.sentNs) / 1e6);
    }
  }

  /** Starts counting packets with sender index >= from[stream]. */
  openWindow(from: Map<number, number>, sampleEvery = 1): void {
    this.#window = new Map([...from].map(([k, v]) => [k, { from: v, to: Infinity }]));
    for (const s of this.ssrcs.values()) {
      s.inWindow = 0;
      s.seqFrom = s.hi + 1;
      s.seqTo = Infinity;
    }
    this.delaysMs = [];
    this.#sampleEvery = sampleEvery;
    this.#n = 0;
  }

  /** Stops counting at sender index to[stream] (late packets below it still count). */
  closeWindow(to: Map<number, number>): void {
    for (const [k, v] of to) {
      const w = this.#window?.get(k);
      if (w) w.to = v;
    }
    for (const s of this.ssrcs.values()) {
      const w = this.#window?.get(s.stream);
      if (s.bySeq && w) s.seqTo = s.seqFrom + (w.to - w.from);
    }
  }

  /** Received-in-window per SSRC, for the given SSRCs. */
  counts(ssrcs: Iterable<number>): { ssrc: number; stream: number; received: number }[] {
    return [...ssrcs].map((ssrc) => ({ ssrc, stream: this.ssrcs.get(ssrc)?.stream ?? 0, received: this.ssrcs.get(ssrc)?.inWindow ?? 0 }));
  }

  close(): void {
    for (const sock of this.#socks) sock.close();
  }
}
