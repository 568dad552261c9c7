import type { types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { Logger } from '../core/logger.js';

export interface LayerFilterOptions {
  router: types.Router;
  /** A simulcast video producer on `router` (see LayerFilter.applies). */
  producer: types.Producer;
  /** Where the loopback pair listens: the node's media listen IP (see tapIp). */
  listenIp: string;
  /** Initial mask (bit i = encoding i forwarded); every layer unless told. */
  layers?: number;
  log: Logger;
}

export type LayerFilterEvents = {
  /** The filter closed itself (its producer or router closed, or one of its parts did). */
  '@close': [];
};

// Extensions that would make the tap pair play bandwidth estimation with itself: with
// transport-cc or abs-send-time negotiated, tapOut would run a congestion controller fed by
// tapIn's feedback and could hold a layer back; without them each tap consumer just follows its
// preferred layer.
const TAP_DROPPED_EXTENSIONS = new Set([
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  // The tap producer is found by SSRC; a MID would name the tap consumer, not it.
  'urn:ietf:params:rtp-hdrext:sdes:mid',
]);
const TAP_DROPPED_FEEDBACK = new Set(['transport-cc', 'goog-remb']);

/** The router's capabilities as the tap consumers use them (see TAP_DROPPED_EXTENSIONS). */
export function tapCapabilities(caps: types.RtpCapabilities): types.RtpCapabilities {
  return {
    codecs: (caps.codecs ?? []).map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback ?? []).filter((fb) => !TAP_DROPPED_FEEDBACK.has(fb.type)) })),
    headerExtensions: (caps.headerExtensions ?? []).filter((h) => !TAP_DROPPED_EXTENSIONS.has(h.uri)),
  };
}

/**
 * An unspecified listen address (0.0.0.0, ::) cannot be the tap's connect target: a packet
 * sent there arrives from loopback, which a non-comedia PlainTransport would then drop as
 * coming from an unknown tuple. Any other listen IP is the node's own address, reachable from
 * itself also in a network namespace whose loopback is down.
 */
export function tapIp(listenIp: string): string {
  if (listenIp === '0.0.0.0') return '127.0.0.1';
  if (listenIp === '::') return '::1';
  return listenIp;
}

/**
 * A copy of one simulcast producer P on its own router that carries only the spatial layers
 * asked for, for one outgoing pipe (mediasoup pipe consumers forward every encoding and cannot
 * be told to drop one). Inside the worker: a loopback PlainTransport pair; on tapOut one
 * simulcast consumer C_i of P per encoding, preferring spatial layer i; on tapIn a producer P*
 * whose encoding i is C_i's stream. P* keeps P's shape (same codec, N encodings), so a pipe
 * made from P* looks to the far node like a pipe of P in which the layers nobody asked for
 * are silent; its simulcast consumers switch among the layers that do arrive.
 *
 * Key-frame requests go back the same way (P* sends PLI/FIR to tapOut, C_i asks P); NACKs on
 * the tap are answered from C_i's retransmission buffer (RTX negotiated from the router's
 * capabilities). A C_i whose layer is gone at the publisher falls back to the next lower one,
 * as any simulcast consumer does.
 */
export class LayerFilter extends EnhancedEventEmitter<LayerFilterEvents> {
  readonly #o: LayerFilterOptions;
  readonly #tapOut: types.PlainTransport;
  readonly #tapIn: types.PlainTransport;
  readonly #taps: types.Consumer[];
  /** P*: what the outgoing pipe consumes instead of P. */
  readonly producer: types.Producer;
  #layers: number;
  #closed = false;
  readonly #onProducerClose = (): void => this.#closeFor('producer closed');

  /** Whether `producer` needs a filter: video with more than one encoding (simulcast). */
  static applies(producer: types.Producer): boolean {
    return producer.kind === 'video' && producer.type === 'simulcast' && (producer.consumableRtpParameters.encodings?.length ?? 0) > 1;
  }

  static async create(o: LayerFilterOptions): Promise<LayerFilter> {
    const { router, producer } = o;
    const n = producer.consumableRtpParameters.encodings?.length ?? 0;
    if (!LayerFilter.applies(producer)) throw new TypeError(`producer ${producer.id} is not simulcast`);
    const layers = (o.layers ?? 2 ** n - 1) >>> 0;
    const ip = tapIp(o.listenIp);
    const appData = { layerFilterOf: producer.id };
    const made: { close(): void }[] = [];
    try {
      const plain = async (): Promise<types.PlainTransport> => {
        const t = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip }, rtcpMux: true, comedia: false, appData });
        made.push(t);
        return t;
      };
      const [tapOut, tapIn] = await Promise.all([plain(), plain()]);
      await Promise.all([
        tapOut.connect({ ip: tapIn.tuple.localAddress, port: tapIn.tuple.localPort }),
        tapIn.connect({ ip: tapOut.tuple.localAddress, port: tapOut.tuple.localPort }),
      ]);
      const rtpCapabilities = tapCapabilities(router.rtpCapabilities);
      const taps = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          tapOut.consume({ producerId: producer.id, rtpCapabilities, preferredLayers: { spatialLayer: i }, paused: !(layers & (1 << i)), appData: { ...appData, layer: i } }),
        ),
      );
      const first = taps[0]!.rtpParameters;
      const star = await tapIn.produce({
        kind: 'video',
        rtpParameters: {
          codecs: first.codecs,
          headerExtensions: first.headerExtensions ?? [],
          encodings: taps.map((c, i) => {
            const e = c.rtpParameters.encodings![0]!;
            const mode = producer.consumableRtpParameters.encodings![i]!.scalabilityMode;
            return { ssrc: e.ssrc!, ...(e.rtx ? { rtx: { ssrc: e.rtx.ssrc } } : {}), ...(mode ? { scalabilityMode: mode } : {}) };
          }),
          rtcp: { cname: first.rtcp?.cname ?? producer.rtpParameters.rtcp?.cname ?? 'octomesh', reducedSize: true },
        },
        appData,
      });
      return new LayerFilter(o, tapOut, tapIn, taps, star, layers);
    } catch (err) {
      for (const m of made) m.close(); // closes the consumers and producer made on them
      throw err;
    }
  }

  private constructor(o: LayerFilterOptions, tapOut: types.PlainTransport, tapIn: types.PlainTransport, taps: types.Consumer[], star: types.Producer, layers: number) {
    super(o.log);
    this.#o = o;
    this.#tapOut = tapOut;
    this.#tapIn = tapIn;
    this.#taps = taps;
    this.producer = star;
    this.#layers = layers;
    const gone = (why: string) => () => this.#closeFor(why);
    // P closed, or the router (which closes all of this), or a part closed on its own.
    if (o.producer.closed) queueMicrotask(this.#onProducerClose);
    o.producer.observer.once('close', this.#onProducerClose);
    for (const t of [tapOut, tapIn]) t.observer.once('close', gone('tap transport closed'));
    for (const c of taps) c.observer.once('close', gone('tap consumer closed'));
    star.observer.once('close', gone('tap producer closed'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Encodings forwarded now (bit i = encoding i). */
  get layers(): number {
    return this.#layers;
  }

  /** Bit i set: encoding i crosses. Pauses and resumes the tap consumers (a resumed one asks P for a key frame). */
  setLayers(mask: number): void {
    if (this.#closed) return;
    const next = mask >>> 0;
    const prev = this.#layers;
    this.#layers = next;
    this.#taps.forEach((c, i) => {
      const want = (next & (1 << i)) !== 0;
      if (want === ((prev & (1 << i)) !== 0) || c.closed) return;
      // The worker applies channel requests in order: the last call wins.
      (want ? c.resume() : c.pause()).catch((err: Error) => this.#o.log.debug({ err: err.message, layer: i }, 'tap consumer pause/resume failed'));
    });
  }

  /** Per-layer counters of what the tap consumers sent (for stats and benches). */
  async tapStats(): Promise<{ layer: number; bytes: number; packets: number }[]> {
    return Promise.all(
      this.#taps.map(async (c, layer) => {
        const stats = c.closed ? [] : await c.getStats().catch(() => []);
        const out = stats.filter((s) => s.type === 'outbound-rtp');
        return { layer, bytes: out.reduce((n, s) => n + s.byteCount, 0), packets: out.reduce((n, s) => n + s.packetCount, 0) };
      }),
    );
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    this.#closeFor('closed');
  }

  #closeFor(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.producer.observer.off('close', this.#onProducerClose);
    // Children first (the pipe consuming P* sees producerclose), then the pair.
    for (const c of this.#taps) c.close();
    this.producer.close();
    this.#tapOut.close();
    this.#tapIn.close();
    if (reason !== 'closed') this.#o.log.debug({ producer: this.#o.producer.id, reason }, 'layer filter closed');
    this.safeEmit('@close');
  }
}
