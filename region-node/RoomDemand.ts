import type { types } from 'mediasoup';
import type { Logger } from '../core/logger.js';
import type { NotificationName, Notifications } from '../core/protocol.js';
import type { Link } from '../relay/Link.js';
import { ConsumerDemand, type NewWatch, type Watch } from './ConsumerDemand.js';
import { highestLayer } from './demandPolicy.js';
import { Dynacast } from './Dynacast.js';
import { LastN } from './LastN.js';
import { encodingCount } from './rtpShape.js';

/** What RoomDemand needs of its room: who is here to tell, and the links to the other nodes. */
export interface DemandHost {
  localPeerIds(): Iterable<string>;
  notify<N extends NotificationName>(peerId: string, name: N, data: Notifications[N]): void;
  openLinks(): Link[];
}

/** A camera, not a screen: what last-N counts and limits. */
const isCamera = (kind: string, source: string): boolean => kind === 'video' && source !== 'screen';

/**
 * Who is forwarded what in one room on this node, and so what flows: last-N (the room's speaker
 * order, each peer's pins and page), each consumer's client pause and tile size (ConsumerDemand),
 * what a stream piped from another node asks of its origin (Link.setDemand: only the layers
 * watched here, nothing when nobody watches), and what each local publisher is told to send
 * (Dynacast: the highest layer watched on this node or across any link).
 */
export class RoomDemand {
  readonly consumers: ConsumerDemand;
  readonly #host: DemandHost;
  readonly #lastN: LastN;
  readonly #dynacast: Dynacast;
  /** This node's producers of the room, with their publisher; and pipe producers, with their link. */
  readonly #local = new Map<string, { producer: types.Producer; owner: string; source: string }>();
  readonly #piped = new Map<string, { producer: types.Producer; link: Link }>();
  #closed = false;

  constructor(host: DemandHost, lastN: number, log: Logger) {
    this.#host = host;
    this.#lastN = new LastN(lastN);
    this.consumers = new ConsumerDemand(log);
    this.consumers.on('changed', (producerId) => this.#onDemandChanged(producerId));
    this.#dynacast = new Dynacast((producerId, maxSpatialLayer) => {
      const local = this.#local.get(producerId);
      if (local) this.#host.notify(local.owner, 'producerDemand', { producerId, maxSpatialLayer });
    });
  }

  peerJoined(peerId: string): void {
    this.#lastN.joined(peerId);
  }

  peerLeft(peerId: string): void {
    this.#lastN.left(peerId);
    this.refresh();
  }

  spoke(peerId: string): void {
    this.#lastN.spoke(peerId);
    this.refresh();
  }

  setView(peerId: string, pinned: string[], page: string[]): void {
    this.#lastN.setView(peerId, [...new Set(pinned)], [...new Set(page)]);
    this.refresh();
  }

  /** A producer of a local peer. */
  addLocalProducer(producer: types.Producer, owner: string, source: string): void {
    this.#local.set(producer.id, { producer, owner, source });
    if (producer.kind === 'video') this.#dynacast.add(producer.id, encodingCount(producer));
    producer.observer.once('close', () => {
      this.#local.delete(producer.id);
      this.#dynacast.remove(producer.id);
      if (producer.kind === 'video') this.refresh();
    });
    if (producer.kind === 'video') this.refresh();
  }

  /** The pipe producer that brings a remote producer here over `link`. */
  addPipeProducer(producer: types.Producer, link: Link): void {
    if (this.#piped.get(producer.id)?.producer === producer) return;
    this.#piped.set(producer.id, { producer, link });
    producer.observer.once('close', () => {
      if (this.#piped.get(producer.id)?.producer === producer) this.#piped.delete(producer.id);
    });
  }

  /** A new consumer: tracked, and paused by last-N unless its peer is forwarded. */
  track(w: NewWatch): Watch {
    return this.consumers.track({ ...w, forwarded: this.#forwarded(w.watcher, w.publisher, w.consumer.kind, w.source) });
  }

  /** A link's far node said what it needs of one of our producers, or the link went. */
  remoteDemandChanged(producerId?: string): void {
    if (producerId !== undefined) return this.#onDemandChanged(producerId);
    for (const id of this.#local.keys()) this.#onDemandChanged(id);
  }

  /**
   * Last-N: recomputes whose video each local peer is forwarded; a peer whose set changed is told
   * (forwardedPeers) and its video consumers of the others are paused on the server. Audio and
   * screen shares are always forwarded.
   */
  refresh(): void {
    if (this.#closed) return;
    const cameras = new Set<string>();
    for (const { producer, owner, source } of this.#local.values()) if (isCamera(producer.kind, source)) cameras.add(owner);
    for (const link of this.#host.openLinks()) for (const p of link.remoteProducers()) if (isCamera(p.kind, p.source)) cameras.add(p.peerId);
    const changed = this.#lastN.recompute(this.#host.localPeerIds(), (id) => cameras.has(id));
    for (const [peerId, set] of changed) {
      this.#host.notify(peerId, 'forwardedPeers', { peerIds: set ? [...set] : null });
      for (const w of this.consumers.watchesOf(peerId)) this.consumers.setForwarded(w, this.#forwarded(w.watcher, w.publisher, w.consumer.kind, w.source));
    }
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    this.#closed = true;
    this.#dynacast.close();
  }

  #forwarded(watcher: string, publisher: string, kind: string, source: string): boolean {
    return !isCamera(kind, source) || this.#lastN.isForwarded(watcher, publisher);
  }

  /**
   * What this node's watchers of a stream need changed: a stream piped from another node asks
   * its origin for just that (nothing at all when nobody here watches); a local one updates
   * what its publisher is told to send.
   */
  #onDemandChanged(producerId: string): void {
    if (this.#closed) return;
    const piped = this.#piped.get(producerId);
    if (piped) {
      if (!piped.link.closed) piped.link.setDemand(producerId, this.consumers.mask(producerId, encodingCount(piped.producer)));
      return;
    }
    const local = this.#local.get(producerId);
    if (!local || local.producer.kind !== 'video') return;
    const layers = encodingCount(local.producer);
    let mask = this.consumers.mask(producerId, layers);
    for (const link of this.#host.openLinks()) {
      const remote = link.remoteDemand(producerId);
      // A pipe whose far node has not said what it needs yet gets everything, as before demand existed.
      if (remote !== undefined) mask |= remote;
      else if (link.outgoingPipes().includes(producerId)) mask |= (1 << layers) - 1;
    }
    this.#dynacast.update(producerId, highestLayer(mask));
  }
}
