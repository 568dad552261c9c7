import { parseScalabilityMode, type types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import { BadRequestError, NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { demandMask, isDemand, spatialLayerFor, type Wants } from './demandPolicy.js';
import { scalabilityModeOf } from './rtpShape.js';

/** One consumer on this node and what its client wants of it. */
export interface Watch {
  readonly consumer: types.Consumer;
  readonly producerId: string;
  /** The peer that watches (the consumer's owner). */
  readonly watcher: string;
  /** The peer whose media it is. */
  readonly publisher: string;
  readonly source: string;
  /** Spatial layers of the stream (1 unless simulcast/SVC), and their heights, lowest first. */
  readonly layers: number;
  readonly heights: readonly number[];
  readonly wants: Wants;
  /** The pause state last asked of mediasoup (its own flag updates only after the request). */
  applied: 'paused' | 'resumed';
}

export type ConsumerDemandEvents = {
  /** What this node's consumers of `producerId` need may have changed (see `mask`). */
  changed: [producerId: string];
};

/**
 * Every consumer of one room on this node with what its client asked for (paused or not, the
 * size it is drawn at) and what last-N allows, and the one place that turns these into the
 * consumer's real state: paused on the server unless the client resumed it and its peer is
 * forwarded; its preferred layer from the tile size. What the watchers of a stream need in all
 * (`mask`) is what crosses the relay for it and what its publisher keeps sending (dynacast).
 */
export class ConsumerDemand extends EnhancedEventEmitter<ConsumerDemandEvents> {
  readonly #byConsumer = new Map<string, Watch>();
  readonly #byProducer = new Map<string, Set<Watch>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    super(log);
    this.#log = log;
  }

  /** A new consumer (made paused, as every consumer is until its client resumes it). */
  track(w: Omit<Watch, 'layers' | 'applied' | 'wants'> & { forwarded: boolean }): Watch {
    const layers = spatialLayersOf(w.consumer);
    const watch: Watch = {
      consumer: w.consumer,
      producerId: w.producerId,
      watcher: w.watcher,
      publisher: w.publisher,
      source: w.source,
      heights: w.heights,
      layers,
      wants: { clientPaused: true, forwarded: w.forwarded, spatialLayer: null },
      applied: w.consumer.paused ? 'paused' : 'resumed',
    };
    this.#byConsumer.set(w.consumer.id, watch);
    let set = this.#byProducer.get(w.producerId);
    if (!set) this.#byProducer.set(w.producerId, (set = new Set()));
    set.add(watch);
    w.consumer.observer.once('close', () => {
      this.#byConsumer.delete(w.consumer.id);
      set.delete(watch);
      if (set.size === 0 && this.#byProducer.get(w.producerId) === set) this.#byProducer.delete(w.producerId);
      this.safeEmit('changed', w.producerId);
    });
    this.safeEmit('changed', w.producerId);
    return watch;
  }

  /** The consumer `consumerId` of peer `watcher`; NotFoundError for anyone else's. */
  get(watcher: string, consumerId: string): Watch {
    const w = this.#byConsumer.get(consumerId);
    if (!w || w.watcher !== watcher || w.consumer.closed) throw new NotFoundError(`no consumer ${consumerId.slice(0, 64)}`);
    return w;
  }

  watchesOf(watcher: string): Watch[] {
    return [...this.#byConsumer.values()].filter((w) => w.watcher === watcher);
  }

  /** The layers this node's watchers of `producerId` need (demandPolicy.demandMask); 0 for none. */
  mask(producerId: string, layers: number): number {
    return demandMask([...(this.#byProducer.get(producerId) ?? [])].map((w) => w.wants), layers);
  }

  setClientPaused(w: Watch, paused: boolean): Promise<void> {
    w.wants.clientPaused = paused;
    return this.#apply(w);
  }

  setForwarded(w: Watch, forwarded: boolean): void {
    if (w.wants.forwarded === forwarded) return;
    w.wants.forwarded = forwarded;
    this.#apply(w).catch((err: Error) => this.#log.debug({ err: err.message, consumer: w.consumer.id }, 'last-N pause/resume failed'));
  }

  /** An explicit layer (setConsumerPreferredLayers); refuses one the stream does not have. */
  async setLayer(w: Watch, spatialLayer: number, temporalLayer?: number): Promise<void> {
    if (spatialLayer >= w.layers) throw new BadRequestError(`spatialLayer: the stream has ${w.layers} spatial layer${w.layers === 1 ? '' : 's'} (0-${w.layers - 1})`);
    w.wants.spatialLayer = spatialLayer;
    this.safeEmit('changed', w.producerId);
    if (w.consumer.type === 'simple' || w.consumer.type === 'pipe') return;
    await w.consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer !== undefined ? { temporalLayer } : {}) });
  }

  /** Adaptive stream: the tile's size in device pixels picks the layer. */
  async setView(w: Watch, width: number, height: number): Promise<void> {
    if (w.consumer.kind !== 'video') throw new BadRequestError('setConsumerView: an audio consumer has no view');
    const layer = spatialLayerFor(w.heights, width, height);
    if (w.wants.spatialLayer === layer) return;
    await this.setLayer(w, Math.min(layer, w.layers - 1));
  }

  /**
   * Makes the consumer's pause state what its wants say, telling mediasoup only on a change. A
   * resumed video consumer asks for a key frame, so the viewer does not wait for a periodic one.
   */
  async #apply(w: Watch): Promise<void> {
    const want = isDemand(w.wants) ? 'resumed' : 'paused';
    if (w.applied === want || w.consumer.closed) return;
    w.applied = want;
    this.safeEmit('changed', w.producerId);
    if (want === 'paused') return w.consumer.pause();
    await w.consumer.resume();
    if (w.consumer.kind === 'video') await w.consumer.requestKeyFrame().catch(() => undefined);
  }
}

/** Spatial layers a consumer can choose among: from its scalability mode ("L3T3" for three simulcast streams). */
export function spatialLayersOf(consumer: types.Consumer): number {
  const mode = scalabilityModeOf(consumer);
  return mode ? Math.max(1, parseScalabilityMode(mode).spatialLayers) : 1;
}
