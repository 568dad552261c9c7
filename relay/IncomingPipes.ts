import type { types } from 'mediasoup';
import type { Logger } from '../core/logger.js';
import { Coalescer } from './Coalescer.js';
import { DEMAND_INTERVAL_MS } from './OutgoingPipe.js';
import type { LinkMessage, ProducerInfoMsg } from './proto.js';

export interface IncomingPipesOptions {
  remoteNode: string;
  pipeGraceMs: number;
  log: Logger;
  send(msg: LinkMessage): void;
  /** The link's PipeTransport (offers are handled only once the link is up, so it exists). */
  transport(): types.PipeTransport;
  remoteProducer(producerId: string): ProducerInfoMsg | undefined;
}

interface IncomingPipe {
  promise: Promise<types.Producer>;
  producer?: types.Producer;
  refs: number;
  timer?: NodeJS.Timeout;
  /** The origin's offer arrived: it has the pipe and listens to our Demand for it. */
  offered?: boolean;
}

/**
 * A Link's far side: the pipe producers that bring a remote node's media here, asked for on
 * first use, counted by how many local consumers use them, closed a grace period after the last
 * one leaves; and what this node's watchers need of each (Demand), sent to the origin.
 */
export class IncomingPipes {
  readonly #o: IncomingPipesOptions;
  readonly #pipes = new Map<string, IncomingPipe>();
  readonly #offers = new Map<string, { resolve: (p: types.Producer) => void; reject: (e: Error) => void }>();
  /** Counters of pipes closed, so that the link's totals never go backwards. */
  readonly #folded = { bytes: 0, packets: 0 };
  readonly #demand: Coalescer<string, number>;
  #closed = false;

  constructor(o: IncomingPipesOptions) {
    this.#o = o;
    this.#demand = new Coalescer<string, number>({
      intervalMs: DEMAND_INTERVAL_MS,
      flush: (producerId, layers) => this.#pipes.get(producerId)?.offered && o.send({ demand: { producerId, layers } }),
    });
  }

  ids(): string[] {
    return [...this.#pipes.keys()];
  }

  get size(): number {
    return this.#pipes.size;
  }

  producer(producerId: string): types.Producer | undefined {
    return this.#pipes.get(producerId)?.producer;
  }

  /** See Link.pipe. */
  pipe(producerId: string): Promise<types.Producer> {
    const existing = this.#pipes.get(producerId);
    if (existing) {
      if (existing.timer) clearTimeout(existing.timer);
      existing.timer = undefined;
      return existing.promise;
    }
    if (this.#closed) return Promise.reject(new Error('link closed'));
    if (!this.#o.remoteProducer(producerId)) return Promise.reject(new Error(`no remote producer ${producerId}`));
    const entry: IncomingPipe = {
      refs: 0,
      promise: new Promise<types.Producer>((resolve, reject) => this.#offers.set(producerId, { resolve, reject })),
    };
    entry.promise.then(
      (p) => (entry.producer = p),
      () => this.#pipes.get(producerId) === entry && this.#pipes.delete(producerId),
    );
    this.#pipes.set(producerId, entry);
    this.#o.send({ pipeRequest: { producerId } });
    return entry.promise;
  }

  retain(producerId: string): void {
    const entry = this.#pipes.get(producerId);
    if (!entry) return;
    entry.refs++;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  release(producerId: string): void {
    const entry = this.#pipes.get(producerId);
    if (!entry) return;
    entry.refs = Math.max(0, entry.refs - 1);
    if (entry.refs > 0 || entry.timer) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.refs > 0 || this.#pipes.get(producerId) !== entry) return;
      this.#pipes.delete(producerId);
      this.#fold(entry.producer);
      entry.producer?.close();
      this.#o.send({ pipeClose: { producerId } });
      this.#o.log.debug({ producer: producerId, remote: this.#o.remoteNode }, 'pipe closed: no watchers left');
    }, this.#o.pipeGraceMs);
    entry.timer.unref();
  }

  /**
   * The latest demand is kept across pipes of one producer (it is what the watchers here need
   * now) and sent whenever the origin offers a new pipe, whose default is everything.
   */
  setDemand(producerId: string, layers: number): void {
    this.#demand.set(producerId, layers);
  }

  onOffer(offer: { producerId: string; kind: string; rtpParametersJson: string; paused: boolean }): void {
    const pending = this.#offers.get(offer.producerId);
    if (!pending) return;
    this.#offers.delete(offer.producerId);
    const entry = this.#pipes.get(offer.producerId);
    if (entry) entry.offered = true;
    this.#demand.resend(offer.producerId);
    const info = this.#o.remoteProducer(offer.producerId);
    let rtpParameters: types.RtpParameters;
    try {
      rtpParameters = JSON.parse(offer.rtpParametersJson) as types.RtpParameters;
    } catch {
      pending.reject(new Error('bad rtp parameters in pipe offer'));
      return;
    }
    this.#o
      .transport()
      .produce({
        id: offer.producerId, // same id on every node, so the room's notifications agree
        kind: offer.kind as types.MediaKind,
        rtpParameters,
        paused: offer.paused,
        appData: { peerId: info?.peerId ?? '', source: info?.source ?? offer.kind, remoteNode: this.#o.remoteNode, layerHeights: info?.layerHeights ?? [] },
      })
      .then(
        (producer) => {
          if (this.#closed || !this.#pipes.has(offer.producerId)) {
            producer.close();
            pending.reject(new Error('pipe no longer wanted'));
            return;
          }
          // A pause or resume that crossed while the pipe producer was being made found no
          // producer to apply to; the remote producer's record has the latest state.
          const paused = this.#o.remoteProducer(offer.producerId)?.paused;
          if (paused !== undefined && paused !== producer.paused) (paused ? producer.pause() : producer.resume()).catch(() => undefined);
          pending.resolve(producer);
        },
        (err: Error) => pending.reject(err),
      );
  }

  onPipeError(producerId: string, message: string): void {
    this.#offers.get(producerId)?.reject(new Error(message));
    this.#offers.delete(producerId);
  }

  /** The remote producer closed: its pipe producer closes (its local consumers get producerclose). */
  onProducerClosed(producerId: string): void {
    this.#demand.delete(producerId);
    const entry = this.#pipes.get(producerId);
    this.#pipes.delete(producerId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.onPipeError(producerId, 'producer closed');
    entry?.producer?.close();
  }

  async stats(): Promise<{ bytes: number; packets: number }> {
    const sum = { ...this.#folded };
    const reads = [...this.#pipes.values()].map((e) => (e.producer && !e.producer.closed ? e.producer.getStats().catch(() => []) : []));
    for (const stats of await Promise.all(reads)) {
      for (const s of stats) {
        if (s.type !== 'inbound-rtp') continue;
        sum.bytes += s.byteCount;
        sum.packets += s.packetCount;
      }
    }
    return sum;
  }

  /** Synchronous, idempotent: every pipe producer closes (local consumers see producerclose). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, offer] of this.#offers) offer.reject(new Error(`link closed before ${id} was piped`));
    this.#offers.clear();
    this.#demand.close();
    for (const e of this.#pipes.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.producer?.close();
    }
    this.#pipes.clear();
  }

  #fold(p: types.Producer | undefined): void {
    if (!p || p.closed) return;
    // Read asynchronously, best effort: the producer is about to close.
    p.getStats().then(
      (stats) => {
        for (const s of stats) {
          this.#folded.bytes += s.byteCount;
          this.#folded.packets += s.packetCount;
        }
      },
      () => undefined,
    );
  }
}
