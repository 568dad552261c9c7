import dgram from 'node:dgram';
import { isKeyframeRequest, parseRtpHeader, readStamp, RtpPacketizer, vp8Payload, writeStamp } from './rtp.js';
import { BenchSignal } from './signal.js';

export const AUDIO_STREAM = 1;
export const VIDEO_STREAM = 2;

/** Stream shapes: Opus-like 50 pps x 120 B; VP8-like 30 fps x 3 packets x 1100 B (~0.8 Mbps). */
export const AUDIO = { pt: 100, pps: 50, bytes: 120 };
export const VIDEO = { pt: 101, fps: 30, packetsPerFrame: 3, bytes: 1100, keyframeEvery: 60 };

/** Opus as a bot produces it (`cname` tells the bench's kinds of bot apart in dumps). */
export const audioParams = (ssrc: number, cname = 'bench'): unknown => ({
  mid: '0',
  codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO.pt, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc }],
  rtcp: { cname, reducedSize: true },
});
const videoParams = (ssrc: number): unknown => ({
  mid: '1',
  codecs: [{ mimeType: 'video/VP8', payloadType: VIDEO.pt, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
  headerExtensions: [],
  encodings: [{ ssrc }],
  rtcp: { cname: 'bench', reducedSize: true },
});

/** Where a bot connects: a region node in this process, or a node process's address. */
export interface NodeAddress {
  readonly wsUrl: string;
}

/** Hands a bot's socket to the caller as soon as it is open, so that a soak can drop it mid-setup. */
export type OnSignal = (signal: BenchSignal) => void;

export async function joinAs(node: NodeAddress, room: string, name: string, onSignal?: OnSignal): Promise<{ signal: BenchSignal; peerId: string }> {
  const signal = await BenchSignal.connect(node.wsUrl, { record: false });
  onSignal?.(signal);
  const caps = await signal.request('getRouterRtpCapabilities');
  const join = await signal.request('join', { room, displayName: name, rtpCapabilities: caps });
  return { signal, peerId: join.peerId };
}

/**
 * A publishing bot: one plain send transport carrying an Opus-like and a VP8-like producer.
 * Answers PLI/FIR with a keyframe on the next frame. `sent(stream)` is the next packet index.
 */
export class Publisher {
  readonly signal: BenchSignal;
  readonly producerIds: string[];
  readonly #sock: dgram.Socket;
  readonly #target: { ip: string; port: number };
  readonly #audio = new RtpPacketizer({ ssrc: 0, payloadType: AUDIO.pt });
  readonly #video: RtpPacketizer;
  #audioIndex = 0;
  #videoIndex = 0;
  #frame = 0;
  #wantKeyframe = true;
  #timers: NodeJS.Timeout[] = [];
  #running = false;

  private constructor(signal: BenchSignal, sock: dgram.Socket, target: { ip: string; port: number }, ids: string[], ssrcs: [number, number]) {
    this.signal = signal;
    this.#sock = sock;
    this.#target = target;
    this.producerIds = ids;
    this.#audio = new RtpPacketizer({ ssrc: ssrcs[0], payloadType: AUDIO.pt });
    this.#video = new RtpPacketizer({ ssrc: ssrcs[1], payloadType: VIDEO.pt });
    sock.on('message', (msg) => {
      if (isKeyframeRequest(msg)) this.#wantKeyframe = true;
    });
  }

  static async create(node: NodeAddress, room: string, name: string, opts: { video?: boolean; onSignal?: OnSignal } = {}): Promise<Publisher> {
    const { signal } = await joinAs(node, room, name, opts.onSignal);
    const t = await signal.request('createPlainTransport', { direction: 'send' });
    const base = (Math.random() * 0x7fffffff) >>> 0;
    const ssrcs: [number, number] = [base, (base + 1) >>> 0];
    const ids = [(await signal.request('produce', { transportId: t.transportId, kind: 'audio', rtpParameters: audioParams(ssrcs[0]) })).producerId];
    if (opts.video !== false) ids.push((await signal.request('produce', { transportId: t.transportId, kind: 'video', rtpParameters: videoParams(ssrcs[1]) })).producerId);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const p = new Publisher(signal, sock, { ip: t.ip, port: t.port }, ids, ssrcs);
    p.#hasVideo = opts.video !== false;
    return p;
  }

  #hasVideo = true;

  /** Next packet index of a stream (= packets sent so far). */
  sent(stream: number): number {
    return stream === AUDIO_STREAM ? this.#audioIndex : this.#videoIndex;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#timers.push(setInterval(() => this.#sendAudio(), 1000 / AUDIO.pps));
    if (this.#hasVideo) this.#timers.push(setInterval(() => this.#sendFrame(), 1000 / VIDEO.fps));
  }

  stop(): void {
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  close(): void {
    this.stop();
    this.#sock.close();
    this.signal.close();
  }

  #send(buf: Buffer): void {
    this.#sock.send(buf, this.#target.port, this.#target.ip);
  }

  #sendAudio(): void {
    const payload = Buffer.alloc(AUDIO.bytes, 0x55);
    writeStamp(payload, AUDIO_STREAM, this.#audioIndex++, process.hrtime.bigint());
    this.#send(this.#audio.packet(payload, false));
    this.#audio.advance(960);
  }

  #sendFrame(): void {
    const keyframe = this.#wantKeyframe || this.#frame % VIDEO.keyframeEvery === 0;
    this.#wantKeyframe = false;
    for (let i = 0; i < VIDEO.packetsPerFrame; i++) {
      const payload = vp8Payload({ pictureId: this.#frame, keyframe, first: i === 0, size: VIDEO.bytes });
      writeStamp(payload, VIDEO_STREAM, this.#videoIndex++, process.hrtime.bigint());
      this.#send(this.#video.packet(payload, i === VIDEO.packetsPerFrame - 1));
    }
    this.#video.advance(90000 / VIDEO.fps);
    this.#frame++;
  }
}

interface SsrcState {
  stream: number;
  total: number;
  /** Bytes received (RTP header included). */
  bytes: number;
  inWindow: number;
  firstAt: number;
}

/**
 * One UDP socket receiving every consumer's RTP, told apart by SSRC. A window counts, per
 * SSRC, the packets whose sender index lies in [from, to) of their stream, and samples the
 * one-way delay (now - send time in the payload stamp).
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

  #onPacket(msg: Buffer): void {
    const h = parseRtpHeader(msg);
    if (!h) return;
    const stamp = readStamp(msg);
    if (!stamp) return;
    let s = this.ssrcs.get(h.ssrc);
    if (!s) {
      s = { stream: stamp.stream, total: 0, bytes: 0, inWindow: 0, firstAt: performance.now() };
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
    for (const s of this.ssrcs.values()) s.inWindow = 0;
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
  }

  /** Received-in-window per SSRC, for the given SSRCs. */
  counts(ssrcs: Iterable<number>): { ssrc: number; stream: number; received: number }[] {
    return [...ssrcs].map((ssrc) => ({ ssrc, stream: this.ssrcs.get(ssrc)?.stream ?? 0, received: this.ssrcs.get(ssrc)?.inWindow ?? 0 }));
  }

  close(): void {
    for (const sock of this.#socks) sock.close();
  }
}

/** A watching bot: joins, opens a plain receive transport into `sink`, resumes every consumer. */
export class Subscriber {
  readonly signal: BenchSignal;
  readonly consumers = new Map<number, { kind: string; producerId: string }>();
  readonly startedAt: number;

  private constructor(signal: BenchSignal, startedAt: number) {
    this.signal = signal;
    this.startedAt = startedAt;
  }

  static async create(node: NodeAddress, room: string, name: string, sink: Sink, onConsumer?: (ssrc: number, sub: Subscriber) => void, onSignal?: OnSignal): Promise<Subscriber> {
    const t0 = performance.now();
    const signal = await BenchSignal.connect(node.wsUrl, { record: false });
    onSignal?.(signal);
    const sub = new Subscriber(signal, t0);
    signal.onNotification((name, data) => {
      if (name !== 'newConsumer') return;
      const ssrc = data.rtpParameters.encodings[0].ssrc as number;
      sub.consumers.set(ssrc, { kind: data.kind, producerId: data.producerId });
      onConsumer?.(ssrc, sub);
      signal.request('resumeConsumer', { consumerId: data.consumerId }).catch(() => undefined);
    });
    const caps = await signal.request('getRouterRtpCapabilities');
    await signal.request('join', { room, displayName: name, rtpCapabilities: caps });
    const t = await signal.request('createPlainTransport', { direction: 'recv' });
    await signal.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: sink.nextPort() });
    return sub;
  }

  close(): void {
    this.signal.close();
  }
}

/** Creates `count` subscribers, `batch` at a time. */
export async function addSubscribers(node: NodeAddress, room: string, sink: Sink, count: number, prefix: string, batch = 10): Promise<Subscriber[]> {
  const out: Subscriber[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, k) => Subscriber.create(node, room, `${prefix}${i + k}`, sink)))));
  }
  return out;
}

/** Window counts for a set of subscribers: expected vs received per consumer. */
export function windowRows(sink: Sink, subs: readonly Subscriber[], expected: Map<number, number>): { expected: number; received: number }[] {
  const rows: { expected: number; received: number }[] = [];
  for (const sub of subs) {
    for (const c of sink.counts(sub.consumers.keys())) {
      const stream = c.stream || (sub.consumers.get(c.ssrc)?.kind === 'audio' ? AUDIO_STREAM : VIDEO_STREAM);
      rows.push({ expected: expected.get(stream) ?? 0, received: c.received });
    }
  }
  return rows;
}

/** Measures delivery to `subs` over `ms`: opens a window on the publisher's indexes, waits, closes it, waits `graceMs`. */
export async function measureWindow(pub: Publisher, sink: Sink, subs: readonly Subscriber[], ms: number, graceMs = 400): Promise<{ expected: number; received: number }[]> {
  const from = new Map([AUDIO_STREAM, VIDEO_STREAM].map((s) => [s, pub.sent(s)] as [number, number]));
  sink.openWindow(from, Math.max(1, Math.floor(subs.length / 10)));
  await new Promise((r) => setTimeout(r, ms));
  const to = new Map([AUDIO_STREAM, VIDEO_STREAM].map((s) => [s, pub.sent(s)] as [number, number]));
  sink.closeWindow(to);
  await new Promise((r) => setTimeout(r, graceMs));
  const expected = new Map([...to].map(([s, v]) => [s, v - from.get(s)!]));
  return windowRows(sink, subs, expected);
}
