import type { types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { Logger } from '../core/logger.js';
import { Coalescer } from './Coalescer.js';
import { LayerFilter } from './LayerFilter.js';

/** At most one demand applied per pipe per this many ms (the latest wins; see Coalescer). */
export const DEMAND_INTERVAL_MS = 100;

/**
 * A far node's layer mask as this producer can serve it: undefined for what is not a mask
 * (not an integer in [0, 2^32)); bits above the top encoding ask for the top one (a far node
 * that counts more layers than there are wants the best there is).
 */
export function clampDemand(layers: unknown, encodings: number): number | undefined {
  if (typeof layers !== 'number' || !Number.isInteger(layers) || layers < 0 || layers > 0xffffffff) return undefined;
  const n = Math.max(1, Math.min(31, encodings));
  const all = 2 ** n - 1;
  return (layers & all) | (layers > all ? 2 ** (n - 1) : 0);
}

/**
 * The encodings that cross for a demand: none for 0; otherwise the demand plus layer 0. Layer 0
 * is the floor a far consumer falls back to when its downlink cannot take its preferred
 * layer: the far node's bandwidth estimate can only pick among layers that arrive, and
 * learns it needs a lower one only after the fact; the floor costs the smallest layer's
 * bitrate (a tenth of a three-layer stream) and keeps such a watcher from freezing.
 */
export function forwardedLayers(demand: number): number {
  return demand === 0 ? 0 : (demand | 1) >>> 0;
}

export interface OutgoingPipeOptions {
  transport: types.PipeTransport;
  router: types.Router;
  producer: types.Producer;
  listenIp: string;
  log: Logger;
  /** The demand this pipe applies changed (coalesced): a mask, 0 = nothing crosses. */
  onDemand(layers: number): void;
}

export type OutgoingPipeEvents = {
  /** The pipe consumer closed (its producer, the transport, or close()). */
  '@close': [];
};

/**
 * One local producer sent to one remote node: the pipe consumer on the link's PipeTransport,
 * for a simulcast producer fed through a LayerFilter, and the far node's demand for it. Until
 * the far node says what it needs, everything crosses (an older node never says).
 */
export class OutgoingPipe extends EnhancedEventEmitter<OutgoingPipeEvents> {
  readonly producerId: string;
  readonly consumer: types.Consumer;
  /** Encodings of the producer (1 for audio and single-encoding video). */
  readonly layerCount: number;
  readonly #o: OutgoingPipeOptions;
  readonly #filter: LayerFilter | undefined;
  readonly #coalescer: Coalescer<0, number>;
  #demand: number | undefined;
  #closed = false;

  static async open(o: OutgoingPipeOptions): Promise<OutgoingPipe> {
    let filter: LayerFilter | undefined;
    if (LayerFilter.applies(o.producer)) {
      // Without a filter the pipe still works, carrying every layer: better than no pipe.
      filter = await LayerFilter.create({ router: o.router, producer: o.producer, listenIp: o.listenIp, log: o.log }).catch((err: Error) => {
        if (!o.producer.closed) o.log.warn({ err: err.message, producer: o.producer.id }, 'no layer filter: every layer crosses');
        return undefined;
      });
    }
    try {
      const consumer = await o.transport.consume({ producerId: filter?.producer.id ?? o.producer.id, appData: { pipeOf: o.producer.id } });
      return new OutgoingPipe(o, consumer, filter);
    } catch (err) {
      filter?.close();
      throw err;
    }
  }

  private constructor(o: OutgoingPipeOptions, consumer: types.Consumer, filter: LayerFilter | undefined) {
    super(o.log);
    this.#o = o;
    this.producerId = o.producer.id;
    this.consumer = consumer;
    this.#filter = filter;
    this.layerCount = Math.max(1, o.producer.consumableRtpParameters.encodings?.length ?? 1);
    this.#coalescer = new Coalescer({ intervalMs: DEMAND_INTERVAL_MS, flush: (_k, layers) => this.#apply(layers) });
    consumer.observer.once('close', () => this.close());
    filter?.once('@close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The far node's demand as applied (undefined until it sent one: everything crosses). */
  get demand(): number | undefined {
    return this.#demand;
  }

  /** What this pipe needs of the producer: the demand, or every layer until there is one. */
  get wanted(): number {
    return this.#demand ?? 2 ** this.layerCount - 1;
  }

  /** What the far node needs to make its pipe producer (P's paused state: P* is never paused). */
  offer(): { producerId: string; kind: string; rtpParametersJson: string; paused: boolean } {
    return { producerId: this.producerId, kind: this.consumer.kind, rtpParametersJson: JSON.stringify(this.consumer.rtpParameters), paused: this.#o.producer.paused };
  }

  /** A Demand from the far node. Returns false (and changes nothing) for what is not a mask. */
  setDemand(layers: unknown): boolean {
    const clamped = clampDemand(layers, this.layerCount);
    if (clamped === undefined || this.#closed) return false;
    if (clamped !== layers) this.#o.log.debug({ producer: this.producerId, layers, clamped }, 'demand clamped to the producer\'s layers');
    this.#coalescer.set(0, clamped);
    return true;
  }

  /** Bytes and packets the pipe consumer sent (every encoding, retransmissions apart). */
  async stats(): Promise<{ bytes: number; packets: number }> {
    const out = { bytes: 0, packets: 0 };
    if (this.consumer.closed) return out;
    for (const s of await this.consumer.getStats().catch(() => [])) {
      if (s.type !== 'outbound-rtp') continue;
      out.bytes += s.byteCount;
      out.packets += s.packetCount;
    }
    return out;
  }

  /** The filter's per-layer counters (undefined for a producer that needs none). */
  async filterStats(): Promise<{ layer: number; bytes: number; packets: number }[] | undefined> {
    return this.#filter?.tapStats();
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#coalescer.close();
    this.consumer.close();
    this.#filter?.close();
    this.safeEmit('@close');
  }

  async #resume(): Promise<void> {
    // mediasoup's pipe consumer asks for a key frame as it resumes; the far watcher's own
    // request may have crossed while the pipe was paused (and been dropped there), so ask once
    // more when media flows again (the publisher's producer folds requests made close together).
    await this.consumer.resume();
    if (this.consumer.kind === 'video') await this.consumer.requestKeyFrame();
  }

  #apply(layers: number): void {
    if (this.#closed || layers === this.#demand) return;
    const was = this.#demand;
    this.#demand = layers;
    // Layers first, then the pipe: a resumed pipe consumer asks for a key frame through P*,
    // which then reaches tap consumers already forwarding.
    this.#filter?.setLayers(forwardedLayers(layers));
    // Paused consumers are not demand: with none resumed there, nothing crosses at all.
    if (layers === 0 && was !== 0) this.consumer.pause().catch(() => undefined);
    else if (layers !== 0 && was === 0) this.#resume().catch(() => undefined);
    this.#o.onDemand(layers);
  }
}
