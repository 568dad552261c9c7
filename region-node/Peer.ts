import type { types } from 'mediasoup';
import type { PeerId, RegionName } from '../core/ids.js';
import type { NotificationName, Notifications, PeerInfo } from '../core/protocol.js';
import { InvalidStateError, NotFoundError } from '../core/errors.js';
import type { ProducerAppData } from './mediaAppData.js';

/** How a Peer talks back to its browser; the Session implements it over the WebSocket. */
export interface PeerChannel {
  notify<N extends NotificationName>(name: N, data: Notifications[N]): void;
  /** The same notification already encoded (a broadcast encodes it once for all its peers). */
  notifyEncoded?(frame: string): void;
}

export type TransportDirection = 'send' | 'recv';

/** WebRTC or plain: a peer has at most this many transports, and one receive transport. */
const MAX_TRANSPORTS = 4;

export interface PeerTransportAppData extends types.AppData {
  direction: TransportDirection;
}

/**
 * One participant on this node: its transports, producers and consumers, which only it adds
 * and removes (each leaves its map when mediasoup closes it, whatever the cause), and the
 * limits on them. The Room decides who consumes what; the Peer owns and closes. Closing the
 * transports closes the producers and consumers on them inside mediasoup.
 */
export class Peer {
  readonly id: PeerId;
  readonly displayName: string;
  readonly region: RegionName;
  readonly rtpCapabilities: types.RtpCapabilities;
  readonly #transports = new Map<string, types.Transport<PeerTransportAppData>>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #consumers = new Map<string, types.Consumer>();
  /** Producers this peer consumes or is about to (marked before the async consume, so a producer is never consumed twice). */
  readonly #consuming = new Set<string>();
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

  get transports(): ReadonlyMap<string, types.Transport<PeerTransportAppData>> {
    return this.#transports;
  }

  get producers(): ReadonlyMap<string, types.Producer> {
    return this.#producers;
  }

  get consumers(): ReadonlyMap<string, types.Consumer> {
    return this.#consumers;
  }

  get recvTransport(): types.Transport<PeerTransportAppData> | undefined {
    for (const t of this.#transports.values()) if (t.appData.direction === 'recv' && !t.closed) return t;
    return undefined;
  }

  notify<N extends NotificationName>(name: N, data: Notifications[N], encoded?: () => string): void {
    if (this.#closed) return;
    if (encoded && this.#channel.notifyEncoded) this.#channel.notifyEncoded(encoded());
    else this.#channel.notify(name, data);
  }

  /** Holds a place for a transport about to be made; throws InvalidStateError past the limits.
   *  Call the returned release once the transport is in `transports` (or was not made). */
  reserveTransport(direction: TransportDirection): () => void {
    if (this.#transports.size + this.#pendingTransports >= MAX_TRANSPORTS) throw new InvalidStateError('too many transports');
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
    if (this.#producers.size + this.#pendingProducers >= max) throw new InvalidStateError('too many producers');
    this.#pendingProducers++;
    return once(() => this.#pendingProducers--);
  }

  /** A transport made for this peer joins it, unless the peer left while it was made (then it is closed). */
  addTransport(transport: types.Transport<PeerTransportAppData>): void {
    this.#adopt(transport);
    this.#transports.set(transport.id, transport);
    transport.observer.once('close', () => this.#transports.delete(transport.id));
  }

  addProducer(producer: types.Producer): void {
    this.#adopt(producer);
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => this.#producers.delete(producer.id));
  }

  /**
   * A producer on this peer's send transport `transportId`, within `maxProducers` (pipelined
   * requests count from the check on); refused if the peer left while it was made.
   */
  async produce(transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters, app: { source: string; layerHeights?: number[] }, maxProducers: number): Promise<types.Producer<ProducerAppData>> {
    const transport = this.transport(transportId);
    if (transport.appData.direction !== 'send') throw new InvalidStateError('produce needs a send transport');
    const release = this.reserveProducer(maxProducers);
    try {
      const producer = await transport.produce<ProducerAppData>({
        kind,
        rtpParameters,
        appData: { peerId: this.id, source: app.source, ...(app.layerHeights ? { layerHeights: app.layerHeights } : {}) },
      });
      this.addProducer(producer);
      return producer;
    } finally {
      release();
    }
  }

  /** closeProducer: NotFoundError for a producer this peer does not own. */
  closeProducer(id: string): void {
    this.producer(id).close();
  }

  /** Marks `producerId` as being consumed; false if it already is (or is about to be). */
  startConsuming(producerId: string): boolean {
    if (this.#closed || this.#consuming.has(producerId)) return false;
    this.#consuming.add(producerId);
    return true;
  }

  /** The consume that startConsuming announced did not happen. */
  cancelConsuming(producerId: string): void {
    this.#consuming.delete(producerId);
  }

  /** The consumer of a producer marked by startConsuming; it leaves (and unmarks) when it closes. */
  addConsumer(consumer: types.Consumer): void {
    this.#adopt(consumer);
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
      this.#consuming.delete(consumer.producerId);
    });
  }

  #adopt(o: { close(): void }): void {
    if (!this.#closed) return;
    o.close();
    throw new InvalidStateError('peer left');
  }

  transport(id: string): types.Transport<PeerTransportAppData> {
    const t = this.#transports.get(id);
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
    const p = this.#producers.get(id);
    if (!p) throw new NotFoundError(`no producer ${id.slice(0, 64)}`);
    return p;
  }

  consumer(id: string): types.Consumer {
    const c = this.#consumers.get(id);
    if (!c) throw new NotFoundError(`no consumer ${id.slice(0, 64)}`);
    return c;
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#transports.values()) t.close();
    this.#transports.clear();
    this.#producers.clear();
    this.#consumers.clear();
    this.#consuming.clear();
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
