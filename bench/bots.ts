import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { isKeyframeRequest, RtpPacketizer, vp8Payload, writeStamp } from './rtp.js';
import { BenchSignal } from './signal.js';
import type { Sink } from './sink.js';

export { Sink } from './sink.js';

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
export const videoParams = (ssrc: number): unknown => ({
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

interface PublisherParts {
  sock: dgram.Socket;
  target: { ip: string; port: number };
  ids: string[];
  ssrcs: [number, number];
  video: boolean;
  onClose?: () => void;
}

type Produce = (kind: 'audio' | 'video', rtpParameters: unknown) => Promise<string>;

/**
 * A bot sending an Opus-like and a VP8-like stream to a plain transport's address, its
 * producers made by `produce` (over signaling, or on a bare router). Answers PLI/FIR with a
 * keyframe on the next frame. `sent(stream)` is the next packet index.
 */
export class RtpPublisher {
  readonly producerIds: string[];
  readonly #sock: dgram.Socket;
  readonly #target: { ip: string; port: number };
  readonly #audio: RtpPacketizer;
  readonly #video: RtpPacketizer;
  readonly #hasVideo: boolean;
  readonly #onClose: (() => void) | undefined;
  #audioIndex = 0;
  #videoIndex = 0;
  #frame = 0;
  #wantKeyframe = true;
  #timers: NodeJS.Timeout[] = [];
  #running = false;

  protected constructor(p: PublisherParts) {
    this.#sock = p.sock;
    this.#target = p.target;
    this.producerIds = p.ids;
    this.#hasVideo = p.video;
    this.#onClose = p.onClose;
    this.#audio = new RtpPacketizer({ ssrc: p.ssrcs[0], payloadType: AUDIO.pt });
    this.#video = new RtpPacketizer({ ssrc: p.ssrcs[1], payloadType: VIDEO.pt });
    p.sock.on('message', (msg) => {
      if (isKeyframeRequest(msg)) this.#wantKeyframe = true;
    });
  }

  /** Makes the producers and the sending socket. */
  protected static async prepare(target: { ip: string; port: number }, produce: Produce, video: boolean): Promise<PublisherParts> {
    const base = (Math.random() * 0x7fffffff) >>> 0;
    const ssrcs: [number, number] = [base, (base + 1) >>> 0];
    const ids = [await produce('audio', audioParams(ssrcs[0]))];
    if (video) ids.push(await produce('video', videoParams(ssrcs[1])));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return { sock, target, ids, ssrcs, video };
  }

  /** A publisher whose producers `produce` makes (a bare mediasoup router's transport). */
  static async open(target: { ip: string; port: number }, produce: Produce, opts: { video?: boolean; onClose?: () => void } = {}): Promise<RtpPublisher> {
    return new RtpPublisher({ ...(await RtpPublisher.prepare(target, produce, opts.video !== false)), ...(opts.onClose ? { onClose: opts.onClose } : {}) });
  }

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
    this.#onClose?.();
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

/** A publishing bot over signaling: one plain send transport carrying both producers. */
export class Publisher extends RtpPublisher {
  readonly signal: BenchSignal;

  private constructor(signal: BenchSignal, p: PublisherParts) {
    super({ ...p, onClose: () => signal.close() });
    this.signal = signal;
  }

  static async create(node: NodeAddress, room: string, name: string, opts: { video?: boolean; onSignal?: OnSignal } = {}): Promise<Publisher> {
    const { signal } = await joinAs(node, room, name, opts.onSignal);
    const t = await signal.request('createPlainTransport', { direction: 'send' });
    const produce: Produce = async (kind, rtpParameters) => (await signal.request('produce', { transportId: t.transportId, kind, rtpParameters })).producerId;
    return new Publisher(signal, await RtpPublisher.prepare({ ip: t.ip, port: t.port }, produce, opts.video !== false));
  }
}

/** What a window counts of a watching bot: its consumers by SSRC. */
export interface Watcher {
  readonly consumers: Map<number, { kind: string; producerId: string }>;
  close(): void;
}

export type SrtpSuite = 'AEAD_AES_256_GCM' | 'AES_CM_128_HMAC_SHA1_80';

/** Master key + salt of a suite, random (the sink never decrypts: these only let the node start). */
export function srtpParameters(suite: SrtpSuite): { cryptoSuite: SrtpSuite; keyBase64: string } {
  return { cryptoSuite: suite, keyBase64: randomBytes(suite === 'AEAD_AES_256_GCM' ? 44 : 30).toString('base64') };
}

export interface SubscriberOptions {
  onConsumer?: (ssrc: number, sub: Subscriber) => void;
  onSignal?: OnSignal;
  /** The node sends SRTP with this suite (the sink counts by sequence number). */
  srtp?: SrtpSuite;
  /** Count by sequence number even in plain RTP (so that plain and SRTP are counted alike). */
  bySeq?: boolean;
}

/** A watching bot: joins, opens a plain receive transport into `sink`, resumes every consumer. */
export class Subscriber implements Watcher {
  readonly signal: BenchSignal;
  readonly consumers = new Map<number, { kind: string; producerId: string }>();
  readonly startedAt: number;

  private constructor(signal: BenchSignal, startedAt: number) {
    this.signal = signal;
    this.startedAt = startedAt;
  }

  static async create(node: NodeAddress, room: string, name: string, sink: Sink, opts: SubscriberOptions = {}): Promise<Subscriber> {
    const t0 = performance.now();
    const signal = await BenchSignal.connect(node.wsUrl, { record: false });
    opts.onSignal?.(signal);
    const sub = new Subscriber(signal, t0);
    signal.onNotification((name, data) => {
      if (name !== 'newConsumer') return;
      const ssrc = data.rtpParameters.encodings[0].ssrc as number;
      sub.consumers.set(ssrc, { kind: data.kind, producerId: data.producerId });
      if (opts.srtp || opts.bySeq) sink.watch(ssrc, data.kind === 'audio' ? AUDIO_STREAM : VIDEO_STREAM);
      opts.onConsumer?.(ssrc, sub);
      signal.request('resumeConsumer', { consumerId: data.consumerId }).catch(() => undefined);
    });
    const caps = await signal.request('getRouterRtpCapabilities');
    await signal.request('join', { room, displayName: name, rtpCapabilities: caps });
    const t = await signal.request('createPlainTransport', opts.srtp ? { direction: 'recv', srtp: opts.srtp } : { direction: 'recv' });
    const keys = opts.srtp ? { srtpParameters: srtpParameters(opts.srtp) } : {};
    await signal.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: sink.nextPort(), ...keys });
    return sub;
  }

  close(): void {
    this.signal.close();
  }
}

/** Creates `count` subscribers, `batch` at a time. */
export async function addSubscribers(node: NodeAddress, room: string, sink: Sink, count: number, prefix: string, opts: { batch?: number } & SubscriberOptions = {}): Promise<Subscriber[]> {
  const out: Subscriber[] = [];
  const batch = opts.batch ?? 10;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, k) => Subscriber.create(node, room, `${prefix}${i + k}`, sink, opts)))));
  }
  return out;
}

/** Window counts for a set of subscribers: expected vs received per consumer. */
export function windowRows(sink: Sink, subs: readonly Watcher[], expected: Map<number, number>): { expected: number; received: number }[] {
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
export async function measureWindow(pub: RtpPublisher, sink: Sink, subs: readonly Watcher[], ms: number, graceMs = 400): Promise<{ expected: number; received: number }[]> {
  const from = new Map([AUDIO_STREAM, VIDEO_STREAM].map((s) => [s, pub.sent(s)] as [number, number]));
  sink.openWindow(from, Math.max(1, Math.floor(subs.length / 10)));
  await new Promise((r) => setTimeout(r, ms));
  const to = new Map([AUDIO_STREAM, VIDEO_STREAM].map((s) => [s, pub.sent(s)] as [number, number]));
  sink.closeWindow(to);
  await new Promise((r) => setTimeout(r, graceMs));
  const expected = new Map([...to].map(([s, v]) => [s, v - from.get(s)!]));
  return windowRows(sink, subs, expected);
}
