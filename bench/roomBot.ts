import dgram from 'node:dgram';
import { AUDIO, AUDIO_STREAM, audioParams, VIDEO_STREAM, type NodeAddress, type Sink } from './bots.js';
import { isKeyframeRequest, RtpPacketizer, senderReport, vp8Payload, writeStamp } from './rtp.js';
import { BenchSignal } from './signal.js';
import { SIMULCAST_ENCODINGS } from '../client/sdk/simulcast.js';
import type { Method } from '../core/protocol.js';

/**
 * A camera's three simulcast layers as the web app sends them at 30 fps (720p top layer; the
 * SDK's encodings, at their maximum bit rates): nominal bit rates, resolution divisors, and the
 * packets each frame takes (≤ 1,100 B each).
 */
export const LAYERS = SIMULCAST_ENCODINGS.map((e) => {
  const kbps = e.maxBitrate / 1000;
  const frameBytes = (kbps * 1000) / 8 / 30;
  const packets = Math.ceil(frameBytes / 1100);
  return { kbps, scaleResolutionDownBy: e.scaleResolutionDownBy, packets, bytes: Math.round(frameBytes / packets) };
});
export const NOMINAL_FPS = 30;
/** TIDs of the L1T3 pattern, and each frame's bytes against the layer's mean frame. */
const L1T3_PATTERN = [0, 2, 1, 2];
const TID_SHARE = [1.6, 0.8, 0.8];
export const VIDEO_HEIGHT = 720;
/** Periodic key frames, in wall-clock seconds (whatever the time scale). */
const KEYFRAME_EVERY_SEC = 2;
/** Sender Reports of every layer at once, in wall-clock ms. */
const SR_EVERY_MS = 1000;

const simulcastParams = (ssrcs: readonly number[]): unknown => ({
  mid: '1',
  codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
  headerExtensions: [],
  // L1T3, as mediasoup-client declares for a browser's VP8 simulcast: SFUs may thin frame rates.
  encodings: ssrcs.map((ssrc, i) => ({ ssrc, scaleResolutionDownBy: LAYERS[i]!.scaleResolutionDownBy, scalabilityMode: 'L1T3' })),
  rtcp: { cname: 'bench-room', reducedSize: true },
});

/**
 * The router's capabilities without transport-cc, abs-send-time and REMB: with them, mediasoup
 * runs bandwidth estimation on the plain receive transport, gets no feedback from the sink and
 * walks every simulcast consumer down to layer 0 within seconds. Without, a consumer is on the
 * layer its preferences and the publisher's streams allow (a browser on a good network).
 */
export function withoutBwe(caps: any): any {
  const bwe = /transport-wide-cc|abs-send-time/;
  return {
    ...caps,
    headerExtensions: (caps.headerExtensions ?? []).filter((h: { uri: string }) => !bwe.test(h.uri)),
    codecs: (caps.codecs ?? []).map((c: { rtcpFeedback?: { type: string }[] }) => ({ ...c, rtcpFeedback: (c.rtcpFeedback ?? []).filter((f) => f.type !== 'transport-cc' && f.type !== 'goog-remb') })),
  };
}

export interface RoomBotOptions {
  /** Stop sending the layers above producerDemand's maxSpatialLayer (dynacast), as the web app does. */
  honourDemand: boolean;
  /** Slow motion: frames and audio packets come `timeScale` times less often (bytes per frame unchanged). */
  timeScale: number;
  /** false: a watcher only (no send transport, no producers). */
  publish?: boolean;
  /** false: video only. */
  audio?: boolean;
}

export interface RoomConsumer {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  ssrc: number;
}

/**
 * One participant of the room scenario on one signaling connection: a plain send transport with
 * an Opus-like producer and a three-layer VP8-like simulcast producer (distinct SSRC per layer),
 * and a plain receive transport into the shared sink. Counts the bytes it sends per layer.
 * Audio consumers are resumed as they come; video consumers wait for resumeAll() (today's
 * client) or applyView() (the adaptive one), called once the publishers' Sender Reports are in.
 */
export class RoomBot {
  readonly signal: BenchSignal;
  readonly peerId: string;
  readonly name: string;
  readonly consumers = new Map<string, RoomConsumer>();
  /** Bytes sent per simulcast layer, and audio. */
  readonly sentBytes = [0, 0, 0];
  readonly #sentPackets = [0, 0, 0];
  sentAudioBytes = 0;
  /** producerDemand notifications received (honoured or not). */
  demandNotices = 0;
  /** Errors the server answered to the view requests (setView, setConsumerView, pause/resume). */
  readonly viewErrors: string[] = [];
  videoProducerId = '';
  readonly #o: RoomBotOptions;
  #sock: dgram.Socket | undefined;
  #target = { ip: '', port: 0 };
  #audio: RtpPacketizer | undefined;
  #layers: RtpPacketizer[] = [];
  /** producerDemand's maxSpatialLayer by producer id (-1: nobody watches). */
  readonly #demand = new Map<string, number>();
  #closed = false;
  #keyframe = [true, true, true];
  #frame = 0;
  /** Per layer: position in the L1T3 pattern (a key frame starts it over) and TL0PICIDX. */
  readonly #tpos = [0, 0, 0];
  readonly #tl0 = [0, 0, 0];
  #index = 0;
  /** The pending tick of audio, video and Sender Reports. */
  readonly #timers: (NodeJS.Timeout | undefined)[] = [];
  #running = false;
  /** Set by resumeAll: every video consumer resumed as it comes. */
  #resumeAll = false;
  /** Set once the page is known (adaptive bots). */
  #page: Set<string> | undefined;
  #tile = { width: 256, height: 144 };

  private constructor(signal: BenchSignal, peerId: string, name: string, o: RoomBotOptions) {
    this.signal = signal;
    this.peerId = peerId;
    this.name = name;
    this.#o = o;
  }

  static async join(node: NodeAddress, room: string, name: string, sink: Sink, o: RoomBotOptions): Promise<RoomBot> {
    let early: RoomBot | undefined;
    const pending: [string, any][] = [];
    const signal = await BenchSignal.connect(node.wsUrl, { record: false });
    signal.onNotification((n, d) => (early ? early.#onNotification(n, d) : pending.push([n, d])));
    const caps = withoutBwe(await signal.request('getRouterRtpCapabilities'));
    const { peerId } = await signal.request('join', { room, displayName: name, rtpCapabilities: caps });
    const bot = (early = new RoomBot(signal, peerId, name, o));
    for (const [n, d] of pending) bot.#onNotification(n, d);
    if (o.publish !== false) await bot.#produce();
    const recv = await signal.request('createPlainTransport', { direction: 'recv' });
    await signal.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: sink.nextPort() });
    return bot;
  }

  async #produce(): Promise<void> {
    const { signal } = this;
    const send = await signal.request('createPlainTransport', { direction: 'send' });
    this.#target = { ip: send.ip, port: send.port };
    const base = (Math.random() * 0x7ffffff0) >>> 0;
    this.#audio = new RtpPacketizer({ ssrc: base, payloadType: AUDIO.pt });
    this.#layers = LAYERS.map((_, i) => new RtpPacketizer({ ssrc: base + 1 + i, payloadType: 101 }));
    if (this.#o.audio !== false) await signal.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioParams(base, 'bench-room') });
    const video = await signal.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: simulcastParams(this.#layers.map((l) => l.ssrc)), videoHeight: VIDEO_HEIGHT });
    this.videoProducerId = video.producerId;
    const sock = (this.#sock = dgram.createSocket('udp4'));
    sock.on('message', (msg) => {
      if (isKeyframeRequest(msg)) this.#keyframe = [true, true, true];
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  }

  /** The layers this bot currently sends. */
  get maxLayer(): number {
    return this.#o.honourDemand ? Math.min(2, this.#demand.get(this.videoProducerId) ?? 2) : 2;
  }

  #onNotification(name: string, data: any): void {
    if (name === 'producerDemand') {
      // Kept by producer id: the first one may come before the answer to produce.
      this.demandNotices++;
      const was = this.maxLayer;
      this.#demand.set(data.producerId, data.maxSpatialLayer as number);
      // A layer switched back on starts with a key frame, as an encoder's does.
      for (let i = was + 1; i <= this.maxLayer; i++) this.#keyframe[i] = true;
      return;
    }
    if (name !== 'newConsumer') return;
    const c: RoomConsumer = { consumerId: data.consumerId, producerId: data.producerId, peerId: data.peerId, kind: data.kind, ssrc: data.rtpParameters.encodings[0].ssrc };
    this.consumers.set(c.consumerId, c);
    if (c.kind === 'audio' || this.#resumeAll) void this.#request('resumeConsumer', { consumerId: c.consumerId });
    else if (this.#page) void this.#show(c);
  }

  #request(method: Method, data: object): Promise<boolean> {
    return this.signal.request(method, data).then(
      () => true,
      (err: Error) => {
        if (this.viewErrors.length < 20) this.viewErrors.push(`${method}: ${err.message}`);
        return false;
      },
    );
  }

  /** Page tile: its view size, then resumed; any other tile: paused (the web app's order). */
  async #show(c: RoomConsumer): Promise<void> {
    if (!this.#page!.has(c.peerId)) {
      await this.#request('pauseConsumer', { consumerId: c.consumerId });
      return;
    }
    await this.#request('setConsumerView', { consumerId: c.consumerId, ...this.#tile });
    await this.#request('resumeConsumer', { consumerId: c.consumerId });
  }

  /** Today's client: every video consumer resumed, whatever is on screen. */
  async resumeAll(): Promise<void> {
    this.#resumeAll = true;
    await Promise.all([...this.consumers.values()].filter((c) => c.kind === 'video').map((c) => this.#request('resumeConsumer', { consumerId: c.consumerId })));
  }

  /** What the adaptive client does for a grid page: setView, then each video tile shown or paused. */
  async applyView(page: readonly string[], tile: { width: number; height: number }): Promise<void> {
    this.#page = new Set(page);
    this.#tile = tile;
    await this.#request('setView', { pinned: [], page: [...page] });
    await Promise.all([...this.consumers.values()].filter((c) => c.kind === 'video').map((c) => this.#show(c)));
  }

  /**
   * Each stream keeps its own clock from a random phase: bots started together would otherwise
   * send their frames in the same millisecond, a burst of hundreds of packets. A late tick sends
   * what is due (setInterval drifts: ~10 % fewer frames on a busy event loop).
   */
  start(): void {
    if (this.#running || !this.#sock) return;
    this.#running = true;
    const s = this.#o.timeScale;
    const every = (slot: number, ms: number, fn: () => void): void => {
      const t0 = performance.now() + Math.random() * ms;
      let n = 0;
      const tick = (): void => {
        if (!this.#running) return;
        const due = Math.floor((performance.now() - t0) / ms) + 1;
        // After a long stall, skip rather than burst (as an encoder drops frames).
        if (due - n > 3) n = due - 1;
        while (n < due) (n++, fn());
        this.#timers[slot] = setTimeout(tick, Math.max(0, t0 + n * ms - performance.now()));
      };
      this.#timers[slot] = setTimeout(tick, Math.max(0, t0 - performance.now()));
    };
    if (this.#o.audio !== false) every(0, (1000 / AUDIO.pps) * s, () => this.#sendAudio());
    every(1, (1000 / NOMINAL_FPS) * s, () => this.#sendFrame());
    every(2, SR_EVERY_MS, () => this.#sendReports());
  }

  stop(): void {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
  }

  /** Synchronous, idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    this.#sock?.close();
    this.signal.close();
  }

  #send(buf: Buffer): void {
    this.#sock!.send(buf, this.#target.port, this.#target.ip);
  }

  /** One SR per layer with the same wall clock, so the layers' RTP clocks line up (even those switched off). */
  #sendReports(): void {
    const wallMs = Date.now();
    this.#layers.forEach((rtp, l) => this.#send(senderReport({ ssrc: rtp.ssrc, wallMs, rtpTimestamp: rtp.timestamp, packets: this.#sentPackets[l]!, octets: this.sentBytes[l]! })));
  }

  #sendAudio(): void {
    const payload = Buffer.alloc(AUDIO.bytes, 0x55);
    writeStamp(payload, AUDIO_STREAM, this.#index++, process.hrtime.bigint());
    const pkt = this.#audio!.packet(payload, false);
    this.#send(pkt);
    this.sentAudioBytes += pkt.length;
    this.#audio!.advance(960);
  }

  #sendFrame(): void {
    const every = Math.max(1, Math.round((KEYFRAME_EVERY_SEC * NOMINAL_FPS) / this.#o.timeScale));
    const periodic = this.#frame % every === 0;
    for (let l = 0; l <= this.maxLayer; l++) {
      const layer = LAYERS[l]!;
      const keyframe = periodic || this.#keyframe[l]!;
      this.#keyframe[l] = false;
      const rtp = this.#layers[l]!;
      if (keyframe) this.#tpos[l] = 0;
      const tid = L1T3_PATTERN[this.#tpos[l]!++ % 4]!;
      if (tid === 0) this.#tl0[l] = (this.#tl0[l]! + 1) & 0xff;
      // WebRTC's VP8 L1T3 rate split: 40 % / 20 % / 40 % of the bits in 1 / 1 / 2 of 4 frames.
      const frameBytes = layer.bytes * layer.packets * TID_SHARE[tid]!;
      const packets = Math.max(1, Math.ceil(frameBytes / 1100));
      for (let i = 0; i < packets; i++) {
        const payload = vp8Payload({ pictureId: this.#frame, keyframe, first: i === 0, size: Math.round(frameBytes / packets), temporal: { tl0PicIdx: this.#tl0[l]!, tid } });
        writeStamp(payload, VIDEO_STREAM, this.#index++, process.hrtime.bigint());
        const pkt = rtp.packet(payload, i === packets - 1);
        this.#send(pkt);
        this.sentBytes[l]! += pkt.length;
        this.#sentPackets[l]!++;
      }
    }
    // Every layer's clock runs whether it sends or not: a layer switched back on carries on in time.
    for (const rtp of this.#layers) rtp.advance(90000 / NOMINAL_FPS);
    this.#frame++;
  }
}
