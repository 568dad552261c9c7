import { errors as msErrors, type types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import { InvalidStateError, NotFoundError, RoomFullError } from '../core/errors.js';
import type { NodeId, PeerId, RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { encodeNotification, type NotificationName, type Notifications, type PeerInfo } from '../core/protocol.js';
import { MEDIA_CODECS, withoutDroppedExtensions } from './mediaCodecs.js';
import { encodingCount } from './rtpShape.js';
import { layerHeights } from './demandPolicy.js';
import { RoomDemand } from './RoomDemand.js';
import type { Peer, PeerTransportAppData, TransportDirection } from './Peer.js';
import type { WorkerPool, WorkerSlot } from './WorkerPool.js';
import type { RoomRelay } from '../relay/RoomRelay.js';
import type { ConsumerAppData, ProducerAppData } from './mediaAppData.js';
import { makeRoomCascade, producerInfo, relayRttWorthTelling, type RelaySettings } from './RoomCascade.js';
import type { Link } from '../relay/Link.js';

export type RoomEvents = {
  /** Internal: the room closed itself (last peer left, or its worker died); the owner drops it. */
  '@close': [reason: string];
};

/** How this node makes transports (media.* config and the advertised address). */
export interface TransportOptions {
  initialAvailableOutgoingBitrate: number;
  maxIncomingBitrate: number;
  listenIp: string;
  announcedAddress: string;
}

export interface RoomOptions {
  maxPeers: number;
  /** rooms.lastN */
  lastN: number;
  /** How this room reaches the other nodes hosting it (its Cascade is made from these). */
  relay: RelaySettings;
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
  /** Who is forwarded what, and so what flows (last-N, adaptive stream, pipe demand, dynacast). */
  readonly #demand: RoomDemand;
  /** The links to the other nodes hosting this room: made, fed and closed by this room only. */
  readonly #cascade: RoomRelay;
  #closed = false;
  /** The dominant speaker on any node of the room (null until someone spoke). */
  #activeSpeaker: string | null = null;

  private constructor(id: RoomId, slot: WorkerSlot, router: types.Router, speakers: types.ActiveSpeakerObserver, log: Logger, o: RoomOptions) {
    super(log);
    this.id = id;
    this.#slot = slot;
    this.router = router;
    this.#speakers = speakers;
    this.#log = log;
    this.#maxPeers = o.maxPeers;
    this.#demand = new RoomDemand(
      {
        localPeerIds: () => this.#peers.keys(),
        notify: (peerId, name, data) => this.#peers.get(peerId as PeerId)?.notify(name, data),
        openLinks: () => this.#openLinks(),
      },
      o.lastN,
      log,
    );
    this.#cascade = makeRoomCascade(
      {
        id,
        router,
        peers: () => this.#peers.values(),
        activeSpeaker: () => this.#activeSpeaker,
      },
      o.relay,
      log,
    );
    this.#cascade.on('link', (link) => this.#wireLink(link));
    slot.routers++;
    router.on('workerclose', () => this.#closeFor('worker-died'));
    speakers.on('dominantspeaker', ({ producer }) => {
      const peerId = (producer.appData as ProducerAppData).peerId;
      this.#spoke(peerId);
      for (const link of this.#openLinks()) link.announceActiveSpeaker(peerId);
    });
  }

  static async create(id: RoomId, pool: WorkerPool, log: Logger, o: RoomOptions): Promise<Room> {
    const slot = pool.pick();
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { roomId: id } });
    try {
      const speakers = await router.createActiveSpeakerObserver({ interval: 300 });
      return new Room(id, slot, router, speakers, log.child({ room: id }), o);
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

  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
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
    for (const link of this.#openLinks()) link.announcePeerJoined(peer.info);
    this.#peers.set(peer.id, peer);
    this.#demand.peerJoined(peer.id);
    this.#log.info({ peer: peer.id, peers: this.#peers.size }, 'peer joined');
  }

  /** Removes and closes the peer; the others see its producers close and then peerLeft. */
  removePeer(peer: Peer, reason: string): void {
    if (!this.#peers.has(peer.id)) return;
    this.#peers.delete(peer.id);
    peer.close();
    for (const other of this.#peers.values()) other.notify('peerLeft', { peerId: peer.id });
    for (const link of this.#openLinks()) link.announcePeerLeft(peer.id);
    this.#demand.peerLeft(peer.id);
    this.#log.info({ peer: peer.id, reason, peers: this.#peers.size }, 'peer left');
    this.closeIfEmpty();
  }

  /** Closes the room once nobody is in it: after its last peer left, or a join that gave up on it. */
  closeIfEmpty(): void {
    if (this.#peers.size === 0) this.#closeFor('empty');
  }

  broadcast<N extends NotificationName>(name: N, data: Notifications[N], except?: Peer): void {
    let frame: string | undefined; // encoded once, on first use: a join's peerJoined goes to the whole room
    for (const peer of this.#peers.values()) if (peer !== except) peer.notify(name, data, () => (frame ??= encodeNotification(name, data)));
  }

  /** A new producer of `owner`: every other peer that can receive starts consuming it. */
  onNewProducer(owner: Peer, producer: types.Producer): void {
    if (producer.kind === 'audio') {
      this.#speakers.addProducer({ producerId: producer.id }).catch(() => {
        // The producer closed before the observer took it: nothing to observe.
      });
    }
    const info = producerInfo(owner, producer);
    this.#demand.addLocalProducer(producer, owner.id, info.source);
    for (const link of this.#openLinks()) link.announceProducer(info);
    producer.observer.on('pause', () => this.#openLinks().forEach((l) => l.announceProducerPaused(producer.id, true)));
    producer.observer.on('resume', () => this.#openLinks().forEach((l) => l.announceProducerPaused(producer.id, false)));
    producer.observer.once('close', () => this.#openLinks().forEach((l) => l.announceProducerClosed(producer.id)));
    for (const peer of this.#peers.values()) if (peer !== owner) this.#consume(peer, producer);
  }

  /** `peer` now has a receive transport: it starts consuming everything already produced. */
  onRecvTransport(peer: Peer): void {
    for (const owner of this.#peers.values()) {
      if (owner === peer) continue;
      for (const producer of owner.producers.values()) this.#consume(peer, producer);
    }
    for (const link of this.#openLinks()) for (const info of link.remoteProducers()) this.#consumeRemote(peer, link, info.producerId);
  }

  // ---- what a peer's client wants of its consumers (ConsumerDemand applies it) ----

  /** pauseConsumer / resumeConsumer: the client's own demand (a tile off screen, a hidden tab). */
  setConsumerPaused(peer: Peer, consumerId: string, paused: boolean): Promise<void> {
    const d = this.#demand.consumers;
    return d.setClientPaused(d.get(peer.id, consumerId), paused);
  }

  setConsumerLayer(peer: Peer, consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    const d = this.#demand.consumers;
    return d.setLayer(d.get(peer.id, consumerId), spatialLayer, temporalLayer);
  }

  /** Adaptive stream: the size (device pixels) the consumer's video is drawn at. */
  setConsumerView(peer: Peer, consumerId: string, width: number, height: number): Promise<void> {
    const d = this.#demand.consumers;
    return d.setView(d.get(peer.id, consumerId), width, height);
  }

  /** Last-N: the peer's pins (each must be in the room, on any node) and its page. */
  setView(peer: Peer, pinned: string[], page: string[]): void {
    const present = new Set(this.allPeers().map((p) => p.peerId));
    const unknown = pinned.find((p) => !present.has(p));
    if (unknown !== undefined) throw new NotFoundError(`pinned: no peer ${unknown.slice(0, 64)} in the room`);
    this.#demand.setView(peer.id, pinned, page);
  }

  /** A WebRTC transport for `peer` on this room's router, through its worker's WebRtcServer. */
  async createWebRtcTransport(peer: Peer, direction: TransportDirection, forceTcp: boolean, o: TransportOptions): Promise<types.WebRtcTransport<PeerTransportAppData>> {
    const release = peer.reserveTransport(direction);
    try {
      const transport = await this.router.createWebRtcTransport<PeerTransportAppData>({
        webRtcServer: this.#slot.webRtcServer,
        enableUdp: !forceTcp,
        enableTcp: true,
        preferUdp: !forceTcp,
        initialAvailableOutgoingBitrate: o.initialAvailableOutgoingBitrate,
        iceConsentTimeout: 12,
        appData: { direction },
      });
      if (o.maxIncomingBitrate && direction === 'send') await transport.setMaxIncomingBitrate(o.maxIncomingBitrate).catch(() => undefined);
      // After the last await: a peer that left during any of them closed its transports already,
      // and would never close this one (addTransport closes it and refuses).
      peer.addTransport(transport);
      return transport;
    } finally {
      release();
    }
  }

  /** A plain RTP transport (bots): a sending one learns its remote from the first packet. */
  async createPlainTransport(peer: Peer, direction: TransportDirection, o: TransportOptions, srtp?: types.SrtpCryptoSuite): Promise<types.PlainTransport<PeerTransportAppData>> {
    const release = peer.reserveTransport(direction);
    try {
      const transport = await this.router.createPlainTransport<PeerTransportAppData>({
        listenInfo: { protocol: 'udp', ip: o.listenIp, ...(o.announcedAddress ? { announcedAddress: o.announcedAddress } : {}) },
        rtcpMux: true, comedia: direction === 'send',
        ...(srtp ? { enableSrtp: true, srtpCryptoSuite: srtp } : {}), // what a browser's receive transport costs
        appData: { direction },
      });
      peer.addTransport(transport);
      return transport;
    } finally {
      release();
    }
  }

  /** Every peer of the room, on this node and on the others. */
  allPeers(except?: Peer): PeerInfo[] {
    const out = [...this.#peers.values()].filter((p) => p !== except).map((p) => p.info);
    for (const link of this.#openLinks()) out.push(...link.remotePeers());
    return out;
  }

  chat(message: Notifications['chat']): void {
    this.broadcast('chat', message);
    for (const link of this.#openLinks()) link.announceChat(message);
  }

  get cascade(): RoomRelay {
    return this.#cascade;
  }

  /** Follows the registry's presence of this room from now on (once this node's own is in). */
  startCascade(): void {
    if (!this.#closed) this.#cascade.start();
  }

  /** An authenticated incoming link stream from `remote` for this room. */
  acceptLink(remote: NodeId, stream: Parameters<RoomRelay['accept']>[1]): void {
    this.#cascade.accept(remote, stream);
  }

  /** Links to tell about room events: up ones, and those still connecting (the remote side
   *  holds what follows Hello until its pipe is connected), so nothing said meanwhile is lost. */
  #openLinks(): Link[] {
    return this.#cascade.openLinks();
  }

  #spoke(peerId: string): void {
    this.#activeSpeaker = peerId;
    this.broadcast('activeSpeaker', { peerId });
    this.#demand.spoke(peerId);
  }

  #wireLink(link: Link): void {
    link.on('remotePeerJoined', (info) => {
      this.#demand.peerJoined(info.peerId);
      this.broadcast('peerJoined', info);
    });
    link.on('remotePeerLeft', (peerId) => {
      this.#demand.peerLeft(peerId);
      this.broadcast('peerLeft', { peerId });
    });
    link.on('remoteProducerAdded', (info) => {
      for (const peer of this.#peers.values()) this.#consumeRemote(peer, link, info.producerId);
      if (info.kind === 'video') this.#demand.refresh();
    });
    link.on('remoteProducerClosed', () => this.#demand.refresh());
    link.on('remoteDemand', (producerId) => this.#demand.remoteDemandChanged(producerId));
    link.once('@close', () => this.#demand.remoteDemandChanged());
    link.on('remoteActiveSpeaker', (peerId) => this.#spoke(peerId));
    link.on('remoteChat', (chat) => this.broadcast('chat', chat));
    link.on('rtt', (rttMs) => {
      for (const peer of this.#peers.values()) {
        for (const consumer of peer.consumers.values()) {
          const app = consumer.appData as ConsumerAppData;
          if (app.remoteNode !== link.remoteNode || !relayRttWorthTelling(app.relayRttMs ?? 0, rttMs)) continue;
          app.relayRttMs = rttMs;
          peer.notify('consumerRelayRtt', { consumerId: consumer.id, relayRttMs: rttMs });
        }
      }
    });
  }

  /** A remote producer for a local peer: piped here once, then consumed like a local one. */
  #consumeRemote(peer: Peer, link: Link, producerId: string): void {
    if (!peer.recvTransport || !peer.startConsuming(producerId)) return;
    link.pipe(producerId).then(
      (pipeProducer) => {
        peer.cancelConsuming(producerId); // #consume marks it again, synchronously
        // Retained and released also when the peer left meanwhile: only a release starts the
        // pipe's grace period, so a pipe nobody released stayed open (media crossing to a
        // node where nobody watched) until its producer closed.
        link.retain(producerId);
        if (peer.closed || pipeProducer.closed) {
          link.release(producerId);
          return;
        }
        this.#demand.addPipeProducer(pipeProducer, link);
        this.#consume(peer, pipeProducer, () => link.release(producerId), link);
      },
      (err: Error) => {
        peer.cancelConsuming(producerId);
        if (!link.closed) this.#log.warn({ err, producer: producerId, remote: link.remoteNode }, 'pipe failed');
      },
    );
  }

  /** `link`: the relay link a pipe producer's media crosses (its RTT goes to the client). */
  #consume(peer: Peer, producer: types.Producer, onGone?: () => void, link?: Link): void {
    const transport = peer.recvTransport;
    const owner = producer.appData as ProducerAppData;
    let released = false;
    const gone = (): void => {
      if (released) return;
      released = true;
      onGone?.();
    };
    if (!transport || producer.closed || !peer.startConsuming(producer.id)) return gone();
    // No router.canConsume() first: consume() makes the same check (a join storm spent a tenth of
    // a node's JS on the pair); a peer that cannot consume this producer is refused below, before any worker request.
    transport
      .consume({
        producerId: producer.id,
        rtpCapabilities: peer.rtpCapabilities, // extensions already dropped at join
        paused: true, // resumed by the client once its side is ready, so the first keyframe is not lost
        appData: (link ? { peerId: owner.peerId, remoteNode: link.remoteNode, relayRttMs: link.rttMs } : { peerId: owner.peerId }) satisfies ConsumerAppData,
      })
      .then((consumer) => {
        if (peer.closed || consumer.closed) {
          consumer.close();
          gone();
          return;
        }
        const consumerId = consumer.id;
        peer.addConsumer(consumer);
        const source = String(owner.source ?? producer.kind);
        this.#demand.track({
          consumer,
          producerId: producer.id,
          watcher: peer.id,
          publisher: owner.peerId,
          source,
          heights: owner.layerHeights?.length ? owner.layerHeights : layerHeights(Array.from({ length: encodingCount(producer) }, () => ({}))),
        });
        consumer.observer.once('close', gone);
        consumer.on('producerclose', () => peer.notify('producerClosed', { producerId: producer.id, consumerId }));
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
          peerId: owner.peerId,
          kind: consumer.kind,
          rtpParameters: consumer.rtpParameters,
          type: consumer.type,
          producerPaused: consumer.producerPaused,
          source,
          // Read now, not at consume(): the link may have measured meanwhile (0: not yet; a
          // consumerRelayRtt follows the first measurement).
          ...(link ? { relayRttMs: ((consumer.appData as ConsumerAppData).relayRttMs = link.rttMs) } : {}),
        });
      })
      .catch((err: Error) => {
        peer.cancelConsuming(producer.id);
        gone();
        // A producer or transport that closed meanwhile is the usual cause: not an error; nor is
        // a peer whose capabilities cannot receive this producer (it simply does not get it).
        if (err instanceof msErrors.UnsupportedError) this.#log.debug({ err: err.message, peer: peer.id, producer: producer.id }, 'peer cannot consume producer');
        else if (!producer.closed && !transport.closed) this.#log.warn({ err, peer: peer.id, producer: producer.id }, 'consume failed');
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
    this.#demand.close();
    this.#cascade.close();
    this.#slot.routers = Math.max(0, this.#slot.routers - 1);
    this.router.close();
    this.#log.info({ reason }, 'room closed');
    this.safeEmit('@close', reason);
  }
}
