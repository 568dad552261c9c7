import { createWorker, type types } from 'mediasoup';
import { MEDIA_CODECS } from '../region-node/mediaCodecs.js';
import { AUDIO_STREAM, RtpPublisher, srtpParameters, VIDEO_STREAM, type SrtpSuite, type Watcher } from './bots.js';
import type { Sink } from './sink.js';

const LISTEN = { protocol: 'udp', ip: '127.0.0.1' } as const;

/**
 * Bare mediasoup: a worker (the same binary as the nodes') and routers made directly, with no
 * octomesh code between the bots and the worker, so that a fanout on it tells what octomesh
 * adds. Same codecs as a room's router; consumers take the capabilities a bot joins with (the
 * router's own) and are made paused and resumed, as a room makes them.
 */
export class BareMediasoup {
  readonly worker: types.Worker;
  readonly #routers = new Map<string, types.Router>();
  readonly #producers = new Map<string, types.Producer[]>();

  private constructor(worker: types.Worker) {
    this.worker = worker;
  }

  static async start(workerBin?: string): Promise<BareMediasoup> {
    return new BareMediasoup(await createWorker({ logLevel: 'error', ...(workerBin ? { workerBin } : {}) }));
  }

  async cpuMs(): Promise<number> {
    const u = await this.worker.getResourceUsage();
    return u.ru_utime + u.ru_stime;
  }

  async #router(room: string): Promise<types.Router> {
    let r = this.#routers.get(room);
    if (!r) this.#routers.set(room, (r = await this.worker.createRouter({ mediaCodecs: MEDIA_CODECS })));
    return r;
  }

  /** A publisher in `room`: a comedia plain transport and its two producers. */
  async publisher(room: string): Promise<RtpPublisher> {
    const router = await this.#router(room);
    const t = await router.createPlainTransport({ listenInfo: LISTEN, rtcpMux: true, comedia: true });
    const producers: types.Producer[] = [];
    this.#producers.set(room, producers);
    const produce = async (kind: 'audio' | 'video', rtpParameters: unknown): Promise<string> => {
      const p = await t.produce({ kind, rtpParameters: rtpParameters as types.RtpParameters });
      producers.push(p);
      return p.id;
    };
    return RtpPublisher.open({ ip: t.tuple.localAddress ?? t.tuple.localIp, port: t.tuple.localPort }, produce, { onClose: () => t.close() });
  }

  /** A subscriber in `room` consuming its publisher's producers into `sink` (counted by sequence number). */
  async subscriber(room: string, sink: Sink, srtp?: SrtpSuite): Promise<Watcher> {
    const router = await this.#router(room);
    const t = await router.createPlainTransport({ listenInfo: LISTEN, rtcpMux: true, comedia: false, ...(srtp ? { enableSrtp: true, srtpCryptoSuite: srtp } : {}) });
    await t.connect({ ip: '127.0.0.1', port: sink.nextPort(), ...(srtp ? { srtpParameters: srtpParameters(srtp) } : {}) });
    const consumers = new Map<number, { kind: string; producerId: string }>();
    for (const p of this.#producers.get(room) ?? []) {
      const c = await t.consume({ producerId: p.id, rtpCapabilities: router.rtpCapabilities, paused: true });
      const ssrc = c.rtpParameters.encodings![0]!.ssrc!;
      consumers.set(ssrc, { kind: c.kind, producerId: p.id });
      sink.watch(ssrc, c.kind === 'audio' ? AUDIO_STREAM : VIDEO_STREAM);
      await c.resume();
    }
    return { consumers, close: () => t.close() };
  }

  /** `count` subscribers, `batch` at a time. */
  async subscribers(room: string, sink: Sink, count: number, srtp?: SrtpSuite, batch = 20): Promise<Watcher[]> {
    const out: Watcher[] = [];
    for (let i = 0; i < count; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => this.subscriber(room, sink, srtp)))));
    return out;
  }

  close(): void {
    this.worker.close();
  }
}
