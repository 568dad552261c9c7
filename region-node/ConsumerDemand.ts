import { parseScalabilityMode, type types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import { BadRequestError, NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { CROWDED_VIEW, demandMask, isDemand, spatialLayerFor, temporalLayerFor, type Wants } from './demandPolicy.js';
import { holdAfter, holdTick, NO_HOLD, type LayerHold } from './layerHold.js';
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
  /** Temporal layers of each spatial layer (1 when the publisher declared none). */
  readonly temporalLayers: number;
  /** A temporal layer the client asked for itself (setConsumerPreferredLayers). */
  askedTemporal?: number;
  /** The preferred layers last set in mediasoup. */
  sentLayers: types.ConsumerLayers;
  readonly heights: readonly number[];
  readonly wants: Wants;
  /** The pause state last asked of mediasoup (its own flag updates only after the request). */
  applied: 'paused' | 'resumed';
  revive?: NodeJS.Timeout;
  /** When this node last paused and resumed it to revive it (its own pause reports no layer). */
  revivedAt?: number;
  /** Revivals in the current REVIVE_WINDOW_MS, and when it began. */
  revivals?: { since: number; count: number };
  /** The spatial layer mediasoup last reported sending (undefined: none, or paused). */
  current?: number;
  /** Held below its layer after bandwidth estimation stepped it down (layerHold.ts). */
  hold: LayerHold;
  holdTimer?: NodeJS.Timeout;
}

/** What the room tells about a new consumer; the rest of a Watch is this class's. */
export type NewWatch = Pick<Watch, 'consumer' | 'producerId' | 'watcher' | 'publisher' | 'source' | 'heights'>;

/** mediasoup reports a consumer's new layers and the producer streams' scores apart: read the scores this long after a step down. */
const STEP_DOWN_SETTLE_MS = 300;

/**
 * When a simulcast consumer is left without a layer while it should flow and its producer still
 * has a live stream, it is paused and resumed after these delays. Measured (bench, two nodes, 12
 * runs): a far consumer on layer 2 asked for layer 0, whose layers above then stopped crossing,
 * sat on no layer for good in 3 runs (producer scores [10, 0, 0]); neither a key-frame request
 * nor setting the same preferred layers again revived it; a resume (mediasoup re-chooses its
 * layer and asks for a key frame) did, in every run.
 */
const REVIVE_AFTER_MS = [500, 1_500, 4_000];
/**
 * At most this many revivals per consumer in this window: a consumer that bandwidth estimation
 * leaves without a layer again and again must not be paused and resumed (each resume asks for a
 * key frame) against it.
 */
const REVIVE_WINDOW_MS = 30_000;
const REVIVES_PER_WINDOW = 3;

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
  /** Per watching peer: a crowded-view check or a last-N refresh reads one peer's, not the room's. */
  readonly #byWatcher = new Map<string, Set<Watch>>();
  readonly #log: Logger;
  /** Peers whose view is crowded (demandPolicy.temporalLayerFor). */
  readonly #crowded = new Set<string>();

  constructor(log: Logger) {
    super(log);
    this.#log = log;
  }

  /** A new consumer (made paused, as every consumer is until its client resumes it). */
  track(w: NewWatch & { forwarded: boolean }): Watch {
    const layers = spatialLayersOf(w.consumer);
    const temporalLayers = temporalLayersOf(w.consumer);
    const watch: Watch = {
      consumer: w.consumer,
      producerId: w.producerId,
      watcher: w.watcher,
      publisher: w.publisher,
      source: w.source,
      heights: w.heights,
      layers,
      temporalLayers,
      // mediasoup starts a consumer on the highest layers.
      sentLayers: { spatialLayer: layers - 1, temporalLayer: temporalLayers - 1 },
      wants: { clientPaused: true, forwarded: w.forwarded, spatialLayer: null },
      applied: w.consumer.paused ? 'paused' : 'resumed',
      hold: NO_HOLD,
    };
    this.#byConsumer.set(w.consumer.id, watch);
    const set = addTo(this.#byProducer, w.producerId, watch);
    const mine = addTo(this.#byWatcher, w.watcher, watch);
    if (layers > 1) {
      w.consumer.on('layerschange', (l) => {
        const from = watch.current;
        watch.current = l?.spatialLayer;
        if (!l) {
          if (performance.now() - (watch.revivedAt ?? -Infinity) > 1_000) this.#revive(watch, 0);
        } else if (from !== undefined && l.spatialLayer < from) {
          setTimeout(() => this.#steppedDown(watch, from, l.spatialLayer), STEP_DOWN_SETTLE_MS).unref();
        }
      });
    }
    w.consumer.observer.once('close', () => {
      if (watch.revive) clearTimeout(watch.revive);
      if (watch.holdTimer) clearTimeout(watch.holdTimer);
      this.#byConsumer.delete(w.consumer.id);
      removeFrom(this.#byProducer, w.producerId, set, watch);
      removeFrom(this.#byWatcher, w.watcher, mine, watch);
      this.safeEmit('changed', w.producerId);
      if (watch.applied === 'resumed') this.#checkCrowded(watch.watcher);
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
    return [...(this.#byWatcher.get(watcher) ?? [])];
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
    if (temporalLayer !== undefined) w.askedTemporal = Math.min(temporalLayer, w.temporalLayers - 1);
    this.safeEmit('changed', w.producerId);
    await this.#applyLayers(w);
  }

  /** Sets the consumer's preferred layers from what is wanted and how crowded its peer's view is. */
  async #applyLayers(w: Watch): Promise<void> {
    if (w.consumer.type !== 'simulcast' && w.consumer.type !== 'svc') return;
    const spatialLayer = Math.min(w.wants.spatialLayer ?? w.layers - 1, w.layers - 1, w.hold.cap ?? Infinity);
    const temporalLayer = w.askedTemporal ?? temporalLayerFor(this.#flowing(w.watcher), spatialLayer, w.temporalLayers) ?? w.temporalLayers - 1;
    const sent = w.sentLayers;
    if ((sent.spatialLayer === spatialLayer && sent.temporalLayer === temporalLayer) || w.consumer.closed) return;
    w.sentLayers = { spatialLayer, temporalLayer };
    await w.consumer.setPreferredLayers({ spatialLayer, temporalLayer });
  }

  /** #applyLayers from an event or a timer, where nobody awaits it (a closed consumer refuses: nothing to do). */
  #reapplyLayers(w: Watch): void {
    this.#applyLayers(w).catch((err: Error) => this.#log.debug({ err: err.message, consumer: w.consumer.id }, 'cannot set layers'));
  }

  /** Videos flowing to `watcher` now (resumed on the server). */
  #flowing(watcher: string): number {
    let n = 0;
    for (const w of this.#byWatcher.get(watcher) ?? []) if (w.applied === 'resumed' && w.consumer.kind === 'video') n++;
    return n;
  }

  /** A video started or stopped flowing to `watcher`: if its view became crowded or uncrowded, every video's layers follow. */
  #checkCrowded(watcher: string): void {
    const crowded = this.#flowing(watcher) > CROWDED_VIEW;
    if (this.#crowded.has(watcher) === crowded) return;
    if (crowded) this.#crowded.add(watcher);
    else this.#crowded.delete(watcher);
    for (const w of this.watchesOf(watcher)) this.#reapplyLayers(w);
  }

  /** Adaptive stream: the tile's size in device pixels picks the layer. */
  async setView(w: Watch, width: number, height: number): Promise<void> {
    if (w.consumer.kind !== 'video') throw new BadRequestError('setConsumerView: an audio consumer has no view');
    const layer = spatialLayerFor(w.heights, width, height);
    if (w.wants.spatialLayer === layer) return;
    await this.setLayer(w, Math.min(layer, w.layers - 1));
  }

  /** mediasoup stepped `w` down from `from` to `to`: if bandwidth estimation did, hold it there (layerHold.ts). */
  #steppedDown(w: Watch, from: number, to: number): void {
    const c = w.consumer;
    if (c.closed || w.current !== to) return;
    const now = performance.now();
    const hold = holdAfter(w.hold, { now, from, to, preferred: w.sentLayers.spatialLayer, upperAlive: (c.score.producerScores[to + 1] ?? 0) > 0 });
    if (!hold) return;
    const first = w.hold.phase !== 'held';
    w.hold = hold;
    if (first) this.#log.debug({ consumer: c.id, from, to, holdMs: Math.round(hold.until - now) }, 'bandwidth estimation stepped a consumer down: held there');
    this.#armHold(w);
    this.#reapplyLayers(w);
  }

  /** Runs holdTick when the hold's time comes, until no cap is left. */
  #armHold(w: Watch): void {
    if (w.holdTimer) clearTimeout(w.holdTimer);
    w.holdTimer = undefined;
    if (w.hold.cap === null || w.consumer.closed) return;
    w.holdTimer = setTimeout(() => {
      w.holdTimer = undefined;
      w.hold = holdTick(w.hold, performance.now(), w.layers, w.current);
      this.#armHold(w);
      this.#reapplyLayers(w);
    }, Math.max(0, w.hold.until - performance.now()));
    w.holdTimer.unref();
  }

  #revive(w: Watch, attempt: number): void {
    if (w.revive || attempt >= REVIVE_AFTER_MS.length) return;
    w.revive = setTimeout(() => {
      w.revive = undefined;
      const c = w.consumer;
      if (c.closed || c.paused || c.producerPaused || c.currentLayers || !c.score.producerScores.some((s) => s > 0)) return;
      const now = performance.now();
      if (!w.revivals || now - w.revivals.since > REVIVE_WINDOW_MS) w.revivals = { since: now, count: 0 };
      if (++w.revivals.count > REVIVES_PER_WINDOW) return;
      w.revivedAt = now;
      c.pause()
        .then(() => (w.applied === 'resumed' ? c.resume() : undefined))
        .then(
          () => this.#revive(w, attempt + 1),
          () => undefined,
        );
    }, REVIVE_AFTER_MS[attempt]);
    w.revive.unref();
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
    if (w.consumer.kind === 'video') this.#checkCrowded(w.watcher);
    if (want === 'paused') return w.consumer.pause();
    await this.#applyLayers(w).catch(() => undefined);
    await w.consumer.resume();
    if (w.consumer.kind === 'video') await w.consumer.requestKeyFrame().catch(() => undefined);
  }
}

function addTo(index: Map<string, Set<Watch>>, key: string, w: Watch): Set<Watch> {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(w);
  return set;
}

function removeFrom(index: Map<string, Set<Watch>>, key: string, set: Set<Watch>, w: Watch): void {
  set.delete(w);
  if (set.size === 0 && index.get(key) === set) index.delete(key);
}

/** Temporal layers a consumer can choose among ("L3T3": three). */
export function temporalLayersOf(consumer: types.Consumer): number {
  const mode = scalabilityModeOf(consumer);
  return mode ? Math.max(1, parseScalabilityMode(mode).temporalLayers) : 1;
}

/** Spatial layers a consumer can choose among: from its scalability mode ("L3T3" for three simulcast streams). */
export function spatialLayersOf(consumer: types.Consumer): number {
  const mode = scalabilityModeOf(consumer);
  return mode ? Math.max(1, parseScalabilityMode(mode).spatialLayers) : 1;
}
