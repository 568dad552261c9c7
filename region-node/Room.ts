import type { types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import { InvalidStateError, RoomFullError } from '../core/errors.js';
import type { PeerId, RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { NotificationName, Notifications } from '../core/protocol.js';
import { MEDIA_CODECS, withoutDroppedExtensions } from './mediaCodecs.js';
import type { Peer } from './Peer.js';
import type { WorkerPool, WorkerSlot } from './WorkerPool.js';

export type RoomEvents = {
  /** Internal: the room closed itself (last peer left, or its worker died); the owner drops it. */
  '@close': [reason: string];
};

export interface ProducerAppData extends types.AppData {
  peerId: PeerId;
  source: string;
}

/**
 * One room on this node: one mediasoup router on one worker, the peers in it, and the rule
 * "every peer consumes every other peer's producers". Closes itself when the last peer
 * leaves, or when its worker dies (its peers are then told to rejoin).
 */
export class Room extends EnhancedEventEmitter<RoomEvents> {
  readonly id: RoomId;
  readonly router: types.Router;
  readonly #slot: WorkerSlot;
  readonly #speakers: types.ActiveSpeakerObserver;
  readonly #peers = new Map<PeerId, Peer>();
  readonly #log: Logger;
  readonly #maxPeers: number;
  #closed = false;

  private constructor(id: RoomId, slot: WorkerSlot, router: types.Router, speakers: types.ActiveSpeakerObserver, log: Logger, maxPeers: number) {
    super(log);
    this.id = id;
    this.#slot = slot;
    this.router = router;
    this.#speakers = speakers;
    this.#log = log;
    this.#maxPeers = maxPeers;
    slot.routers++;
    router.on('workerclose', () => this.#closeFor('worker-died'));
    speakers.on('dominantspeaker', ({ producer }) => {
      const peerId = (producer.appData as ProducerAppData).peerId;
      this.broadcast('activeSpeaker', { peerId });
    });
  }

  static async create(id: RoomId, pool: WorkerPool, log: Logger, maxPeers: number): Promise<Room> {
    const slot = pool.pick();
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { roomId: id } });
    try {
      const speakers = await router.createActiveSpeakerObserver({ interval: 300 });
      return new Room(id, slot, router, speakers, log.child({ room: id }), maxPeers);
    } catch (err) {
      router.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get peers(): ReadonlyMap<PeerId, Peer> {
    return this.#peers;
  }

  get workerIndex(): number {
    return this.#slot.index;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return withoutDroppedExtensions(this.router.rtpCapabilities);
  }

  addPeer(peer: Peer): void {
    if (this.#closed) throw new InvalidStateError('room is closed');
    if (this.#peers.size >= this.#maxPeers) throw new RoomFullError(this.#maxPeers);
    for (const other of this.#peers.values()) other.notify('peerJoined', peer.info);
    this.#peers.set(peer.id, peer);
    this.#log.info({ peer: peer.id, peers: this.#peers.size }, 'peer joined');
  }

  /** Removes and closes the peer; the others see its producers close and then peerLeft. */
  removePeer(peer: Peer, reason: string): void {
    if (!this.#peers.has(peer.id)) return;
    this.#peers.delete(peer.id);
    peer.close();
    for (const other of this.#peers.values()) other.notify('peerLeft', { peerId: peer.id });
    this.#log.info({ peer: peer.id, reason, peers: this.#peers.size }, 'peer left');
    if (this.#peers.size === 0) this.#closeFor('empty');
  }

  broadcast<N extends NotificationName>(name: N, data: Notifications[N], except?: Peer): void {
    for (const peer of this.#peers.values()) if (peer !== except) peer.notify(name, data);
  }

  /** A new producer of `owner`: every other peer that can receive starts consuming it. */
  onNewProducer(owner: Peer, producer: types.Producer): void {
    if (producer.kind === 'audio') {
      this.#speakers.addProducer({ producerId: producer.id }).catch(() => {
        // The producer closed before the observer took it: nothing to observe.
      });
    }
    for (const peer of this.#peers.values()) if (peer !== owner) this.#consume(peer, owner, producer);
  }

  /** `peer` now has a receive transport: it starts consuming everything already produced. */
  onRecvTransport(peer: Peer): void {
    for (const owner of this.#peers.values()) {
      if (owner === peer) continue;
      for (const producer of owner.producers.values()) this.#consume(peer, owner, producer);
    }
  }

  #consume(peer: Peer, owner: Peer, producer: types.Producer): void {
    const transport = peer.recvTransport;
    if (!transport || peer.consuming.has(producer.id) || producer.closed) return;
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities })) return;
    peer.consuming.add(producer.id);
    transport
      .consume({
        producerId: producer.id,
        rtpCapabilities: withoutDroppedExtensions(peer.rtpCapabilities),
        paused: true, // resumed by the client once its side is ready, so the first keyframe is not lost
        appData: { peerId: owner.id },
      })
      .then((consumer) => {
        if (peer.closed || consumer.closed) {
          consumer.close();
          return;
        }
        const consumerId = consumer.id;
        peer.consumers.set(consumerId, consumer);
        const forget = (): void => {
          peer.consumers.delete(consumerId);
          peer.consuming.delete(producer.id);
        };
        consumer.on('transportclose', forget);
        consumer.on('producerclose', () => {
          forget();
          peer.notify('producerClosed', { producerId: producer.id, consumerId });
        });
        consumer.on('producerpause', () => peer.notify('producerPaused', { producerId: producer.id, consumerId }));
        consumer.on('producerresume', () => peer.notify('producerResumed', { producerId: producer.id, consumerId }));
        consumer.on('layerschange', (layers) =>
          peer.notify('consumerLayersChanged', {
            consumerId,
            spatialLayer: layers?.spatialLayer ?? null,
            temporalLayer: layers?.temporalLayer ?? null,
          }),
        );
        peer.notify('newConsumer', {
          consumerId,
          producerId: producer.id,
          peerId: owner.id,
          kind: consumer.kind,
          rtpParameters: consumer.rtpParameters,
          type: consumer.type,
          producerPaused: consumer.producerPaused,
          source: String((producer.appData as ProducerAppData).source ?? producer.kind),
        });
      })
      .catch((err: Error) => {
        peer.consuming.delete(producer.id);
        // A producer or transport that closed meanwhile is the usual cause: not an error.
        if (!producer.closed && !transport.closed) this.#log.warn({ err, peer: peer.id, producer: producer.id }, 'consume failed');
      });
  }

  /** Counts for /healthz and /metrics. */
  counts(): { peers: number; producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const p of this.#peers.values()) {
      producers += p.producers.size;
      consumers += p.consumers.size;
    }
    return { peers: this.#peers.size, producers, consumers };
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    this.#closeFor('closed');
  }

  #closeFor(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const lostMedia = reason === 'worker-died';
    for (const peer of this.#peers.values()) {
      if (lostMedia) peer.notify('rejoin', { reason });
      peer.close();
    }
    this.#peers.clear();
    this.#slot.routers = Math.max(0, this.#slot.routers - 1);
    this.router.close();
    this.#log.info({ reason }, 'room closed');
    this.safeEmit('@close', reason);
  }
}
