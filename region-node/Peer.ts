import type { types } from 'mediasoup';
import type { PeerId, RegionName } from '../core/ids.js';
import type { NotificationName, Notifications, PeerInfo } from '../core/protocol.js';
import { InvalidStateError, NotFoundError } from '../core/errors.js';

/** How a Peer talks back to its browser; the Session implements it over the WebSocket. */
export interface PeerChannel {
  notify<N extends NotificationName>(name: N, data: Notifications[N]): void;
}

export type TransportDirection = 'send' | 'recv';

/** WebRTC or plain: a peer has at most this many transports, and one receive transport. */
const MAX_TRANSPORTS = 4;

export interface PeerTransportAppData extends types.AppData {
  direction: TransportDirection;
}

/**
 * One participant on this node: its transports, producers and consumers. The Room decides
 * who consumes what; the Peer only owns and closes. Closing the transports closes the
 * producers and consumers on them inside mediasoup, and their events clean up the maps.
 */
export class Peer {
  readonly id: PeerId;
  readonly displayName: string;
  readonly region: RegionName;
  readonly rtpCapabilities: types.RtpCapabilities;
  readonly transports = new Map<string, types.Transport<PeerTransportAppData>>();
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  /** Producers this peer consumes or is about to (set before the async consume, so a producer is never consumed twice). */
  readonly consuming = new Set<string>();
  readonly #channel: PeerChannel;
  #closed = false;
  // Transports and producers being made: counted from the check on, so that pipelined
  // requests cannot all pass the limits before the first of them lands in its map.
  #pendingTransports = 0;
  #pendingRecv = 0;
  #pendingProducers = 0;

  constructor(options: { id: PeerId; displayName: string; region: RegionName; rtpCapabilities: types.RtpCapabilities; channel: PeerChannel }) {
    this.id = options.id;
    this.displayName = options.displayName;
    this.region = options.region;
    this.rtpCapabilities = options.rtpCapabilities;
    this.#channel = options.channel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get info(): PeerInfo {
    return { peerId: this.id, displayName: this.displayName, region: this.region };
  }

  get recvTransport(): types.Transport<PeerTransportAppData> | undefined {
    for (const t of this.transports.values()) if (t.appData.direction === 'recv' && !t.closed) return t;
    return undefined;
  }

  notify<N extends NotificationName>(name: N, data: Notifications[N]): void {
    if (!this.#closed) this.#channel.notify(name, data);
  }

  /** Holds a place for a transport about to be made; throws InvalidStateError past the limits.
   *  Call the returned release once the transport is in `transports` (or was not made). */
  reserveTransport(direction: TransportDirection): () => void {
    if (this.transports.size + this.#pendingTransports >= MAX_TRANSPORTS) throw new InvalidStateError('too many transports');
    if (direction === 'recv' && (this.recvTransport || this.#pendingRecv > 0)) throw new InvalidStateError('a receive transport exists already');
    const recv = direction === 'recv' ? 1 : 0;
    this.#pendingTransports++;
    this.#pendingRecv += recv;
    return once(() => {
      this.#pendingTransports--;
      this.#pendingRecv -= recv;
    });
  }

  /** The same for a producer, against the node's `maxProducersPerPeer`. */
  reserveProducer(max: number): () => void {
    if (this.producers.size + this.#pendingProducers >= max) throw new InvalidStateError('too many producers');
    this.#pendingProducers++;
    return once(() => this.#pendingProducers--);
  }

  transport(id: string): types.Transport<PeerTransportAppData> {
    const t = this.transports.get(id);
    if (!t) throw new NotFoundError(`no transport ${id.slice(0, 64)}`);
    return t;
  }

  webRtcTransport(id: string): types.WebRtcTransport<PeerTransportAppData> {
    const t = this.transport(id);
    if (t.type !== 'webrtc') throw new NotFoundError(`no WebRTC transport ${id.slice(0, 64)}`);
    return t as types.WebRtcTransport<PeerTransportAppData>;
  }

  plainTransport(id: string): types.PlainTransport<PeerTransportAppData> {
    const t = this.transport(id);
    if (t.type !== 'plain') throw new NotFoundError(`no plain transport ${id.slice(0, 64)}`);
    return t as types.PlainTransport<PeerTransportAppData>;
  }

  producer(id: string): types.Producer {
    const p = this.producers.get(id);
    if (!p) throw new NotFoundError(`no producer ${id.slice(0, 64)}`);
    return p;
  }

  consumer(id: string): types.Consumer {
    const c = this.consumers.get(id);
    if (!c) throw new NotFoundError(`no consumer ${id.slice(0, 64)}`);
    return c;
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.consuming.clear();
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
