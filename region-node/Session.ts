import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { BadRequestError, DrainingError, InvalidStateError, OctomeshError, RateLimitedError, toWireError } from '../core/errors.js';
import { asPeerId, type RegionName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { parseRequest, type JoinResponse, type Method, type NotificationName, type Notifications, type Request, type RequestData, type RequestId, type TransportResponse } from '../core/protocol.js';
import { TokenBucket } from '../core/TokenBucket.js';
import { Peer, type PeerTransportAppData } from './Peer.js';
import type { Room } from './Room.js';
import type { ProducerAppData } from './Room.js';
import { withoutDroppedExtensions } from './mediaCodecs.js';

/** What a Session needs from its node: kept narrow so the Session does not see the node's internals. */
export interface SessionHost {
  readonly region: RegionName;
  readonly nodeId: string;
  readonly draining: boolean;
  readonly limits: { messagesPerSecond: number; messageBurst: number; maxProducersPerPeer: number; maxChatBytes: number };
  readonly transportOptions: {
    initialAvailableOutgoingBitrate: number;
    maxIncomingBitrate: number;
    peerDisconnectTimeoutSec: number;
    plainTransports: boolean;
    listenIp: string;
    announcedAddress: string;
  };
  routerRtpCapabilities(): types.RtpCapabilities;
  /** Throws UnauthorizedError unless `token` lets its bearer into `room`. */
  checkAccess(room: string, token: string | undefined): Promise<{ name?: string }>;
  getOrCreateRoom(roomId: string): Promise<Room>;
  webRtcServerFor(room: Room): types.WebRtcServer;
}

/** The socket side of a Session; RegionNode implements it over uWS. */
export interface SessionSocket {
  /** Returns false when the frame could not be queued (socket closed or backpressure limit). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

// Past this many refused messages in a row a client is not slowing down: drop it.
const MAX_RATE_LIMITED_STRIKES = 100;

/**
 * One WebSocket connection: parses and validates each frame, enforces order (join first) and
 * flood limits, and drives the Peer/Room on this node. Any error becomes an error response;
 * nothing a client sends can throw out of here.
 */
export class Session {
  readonly id = randomUUID();
  readonly #host: SessionHost;
  readonly #socket: SessionSocket;
  readonly #log: Logger;
  readonly #bucket: TokenBucket;
  #strikes = 0;
  #room: Room | undefined;
  #peer: Peer | undefined;
  #joining = false;
  #closed = false;
  readonly #iceTimers = new Map<string, NodeJS.Timeout>();

  constructor(host: SessionHost, socket: SessionSocket, log: Logger) {
    this.#host = host;
    this.#socket = socket;
    this.#log = log.child({ session: this.id });
    this.#bucket = new TokenBucket(host.limits.messagesPerSecond, host.limits.messageBurst, Date.now());
  }

  get peer(): Peer | undefined {
    return this.#peer;
  }

  onMessage(frame: ArrayBuffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (!this.#bucket.take(Date.now())) {
      if (++this.#strikes > MAX_RATE_LIMITED_STRIKES) {
        this.#socket.close(1008, 'rate limit exceeded');
        return;
      }
      this.#reply(null, new RateLimitedError());
      return;
    }
    this.#strikes = 0;
    if (isBinary) {
      this.#reply(null, new BadRequestError('binary frames are not accepted; send JSON text'));
      return;
    }
    const partial: { id: RequestId | null } = { id: null };
    let request: Request;
    try {
      request = parseRequest(Buffer.from(frame).toString('utf8'), partial);
    } catch (err) {
      this.#reply(partial.id, err);
      return;
    }
    this.#handle(request).then(
      (data) => this.#reply(request.id, null, data),
      (err: unknown) => {
        if (!(err instanceof OctomeshError) && !(err instanceof TypeError)) {
          this.#log.error({ err, method: request.method }, 'request failed');
        }
        this.#reply(request.id, err);
      },
    );
  }

  /** The socket is gone (closed by either side): the peer leaves the room at once. */
  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave('socket-closed');
  }

  notify<N extends NotificationName>(name: N, data: Notifications[N]): void {
    if (this.#closed) return;
    this.#socket.send(JSON.stringify({ notification: name, data }));
  }

  #reply(id: RequestId | null, err: unknown, data?: unknown): void {
    if (this.#closed) return;
    const msg = err ? { id, ok: false, error: toWireError(err) } : { id, ok: true, data: data ?? {} };
    this.#socket.send(JSON.stringify(msg));
  }

  #handle(request: Request): Promise<unknown> {
    const handler = this.#handlers[request.method] as (data: unknown) => Promise<unknown> | unknown;
    try {
      return Promise.resolve(handler(request.data));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #joined(): { room: Room; peer: Peer } {
    if (!this.#room || !this.#peer || this.#room.closed) throw new InvalidStateError('join a room first');
    return { room: this.#room, peer: this.#peer };
  }

  readonly #handlers: { [M in Method]: (data: RequestData<M>) => Promise<unknown> | unknown } = {
    getRouterRtpCapabilities: () => this.#host.routerRtpCapabilities(),

    ping: () => ({ now: Date.now() }),

    join: async (data) => {
      if (this.#peer || this.#joining) throw new InvalidStateError('already joined');
      this.#joining = true;
      try {
        // The token first: a refused caller learns nothing of the room, not even that it exists.
        const grant = await this.#host.checkAccess(data.room, data.token);
        if (this.#host.draining) throw new DrainingError();
        const room = await this.#host.getOrCreateRoom(data.room);
        if (this.#closed) {
          // The client vanished while its join made the room: a room nobody joins never
          // closes (rooms close when their last peer leaves), and kept its router and its
          // registry presence for good. Checked on the next turn: other joiners waiting on the
          // same creation resume before it and are in by then.
          setImmediate(() => room.closeIfEmpty());
          return {};
        }
        const peer = new Peer({
          id: asPeerId(randomUUID()),
          displayName: grant.name ?? data.displayName,
          region: this.#host.region,
          rtpCapabilities: withoutDroppedExtensions(data.rtpCapabilities as unknown as types.RtpCapabilities),
          channel: this,
        });
        const others = room.allPeers();
        room.addPeer(peer);
        this.#room = room;
        this.#peer = peer;
        room.once('@close', () => {
          if (this.#room === room) {
            this.#room = undefined;
            this.#peer = undefined;
          }
        });
        const response: JoinResponse = { peerId: peer.id, region: this.#host.region, nodeId: this.#host.nodeId, peers: others };
        return response;
      } finally {
        this.#joining = false;
      }
    },

    createWebRtcTransport: async (data) => {
      const { room, peer } = this.#joined();
      checkNewTransport(peer, data.direction);
      const o = this.#host.transportOptions;
      const transport = await room.router.createWebRtcTransport<PeerTransportAppData>({
        webRtcServer: this.#host.webRtcServerFor(room),
        enableUdp: !data.forceTcp,
        enableTcp: true,
        preferUdp: !data.forceTcp,
        initialAvailableOutgoingBitrate: o.initialAvailableOutgoingBitrate,
        iceConsentTimeout: 12,
        appData: { direction: data.direction },
      });
      if (peer.closed) {
        transport.close();
        throw new InvalidStateError('peer left');
      }
      if (o.maxIncomingBitrate && data.direction === 'send') {
        await transport.setMaxIncomingBitrate(o.maxIncomingBitrate).catch(() => undefined);
      }
      peer.transports.set(transport.id, transport as types.Transport<PeerTransportAppData>);
      this.#watchTransport(transport);
      const response: TransportResponse = {
        transportId: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
      };
      // Consumers for what is already produced follow the response, so the client knows the
      // transport before the first newConsumer arrives.
      if (data.direction === 'recv') setImmediate(() => !peer.closed && room.onRecvTransport(peer));
      return response;
    },

    connectWebRtcTransport: async (data) => {
      const { peer } = this.#joined();
      await peer.webRtcTransport(data.transportId).connect({ dtlsParameters: data.dtlsParameters as unknown as types.DtlsParameters });
      return {};
    },

    createPlainTransport: async (data) => {
      const { room, peer } = this.#joined();
      const o = this.#host.transportOptions;
      if (!o.plainTransports) throw new InvalidStateError('plain transports are disabled on this node (media.plainTransports)');
      checkNewTransport(peer, data.direction);
      const transport = await room.router.createPlainTransport<PeerTransportAppData>({
        listenInfo: { protocol: 'udp', ip: o.listenIp, ...(o.announcedAddress ? { announcedAddress: o.announcedAddress } : {}) },
        rtcpMux: true,
        // A sending bot is recognised by its first packet; a receiving one says where it listens.
        comedia: data.direction === 'send',
        appData: { direction: data.direction },
      });
      if (peer.closed) {
        transport.close();
        throw new InvalidStateError('peer left');
      }
      peer.transports.set(transport.id, transport);
      return { transportId: transport.id, ip: transport.tuple.localAddress ?? transport.tuple.localIp, port: transport.tuple.localPort };
    },

    connectPlainTransport: async (data) => {
      const { room, peer } = this.#joined();
      const transport = peer.plainTransport(data.transportId);
      if (transport.appData.direction !== 'recv') throw new InvalidStateError('only a receive plain transport is connected');
      await transport.connect({ ip: data.ip, port: data.port });
      setImmediate(() => !peer.closed && room.onRecvTransport(peer));
      return {};
    },

    restartIce: async (data) => {
      const { peer } = this.#joined();
      return { iceParameters: await peer.webRtcTransport(data.transportId).restartIce() };
    },

    produce: async (data) => {
      const { room, peer } = this.#joined();
      const transport = peer.transport(data.transportId);
      if (transport.appData.direction !== 'send') throw new InvalidStateError('produce needs a send transport');
      if (peer.producers.size >= this.#host.limits.maxProducersPerPeer) throw new InvalidStateError('too many producers');
      const producer = await transport.produce<ProducerAppData>({
        kind: data.kind,
        rtpParameters: data.rtpParameters as unknown as types.RtpParameters,
        appData: { peerId: peer.id, source: data.source ?? (data.kind === 'audio' ? 'mic' : 'camera') },
      });
      if (peer.closed) {
        producer.close();
        throw new InvalidStateError('peer left');
      }
      peer.producers.set(producer.id, producer);
      producer.on('transportclose', () => peer.producers.delete(producer.id));
      room.onNewProducer(peer, producer);
      return { producerId: producer.id };
    },

    closeProducer: (data) => {
      const { peer } = this.#joined();
      peer.producer(data.producerId).close();
      peer.producers.delete(data.producerId);
      return {};
    },

    pauseProducer: async (data) => {
      await this.#joined().peer.producer(data.producerId).pause();
      return {};
    },

    resumeProducer: async (data) => {
      await this.#joined().peer.producer(data.producerId).resume();
      return {};
    },

    pauseConsumer: async (data) => {
      await this.#joined().peer.consumer(data.consumerId).pause();
      return {};
    },

    resumeConsumer: async (data) => {
      const consumer = this.#joined().peer.consumer(data.consumerId);
      await consumer.resume();
      // A fresh keyframe, so the new viewer does not wait for the next periodic one.
      if (consumer.kind === 'video') await consumer.requestKeyFrame().catch(() => undefined);
      return {};
    },

    setConsumerPreferredLayers: async (data) => {
      const consumer = this.#joined().peer.consumer(data.consumerId);
      await consumer.setPreferredLayers({
        spatialLayer: data.spatialLayer,
        ...(data.temporalLayer !== undefined ? { temporalLayer: data.temporalLayer } : {}),
      });
      return {};
    },

    chat: (data) => {
      const { room, peer } = this.#joined();
      if (Buffer.byteLength(data.text) > this.#host.limits.maxChatBytes) {
        throw new BadRequestError(`chat.text: longer than ${this.#host.limits.maxChatBytes} bytes`);
      }
      const message = { peerId: peer.id, displayName: peer.displayName, text: data.text, ts: Date.now() };
      room.chat(message);
      return {};
    },

    leave: () => {
      this.#joined();
      this.#leave('left');
      return {};
    },
  };

  #watchTransport(transport: types.WebRtcTransport<PeerTransportAppData>): void {
    const id = transport.id;
    const clear = (): void => {
      const t = this.#iceTimers.get(id);
      if (t) clearTimeout(t);
      this.#iceTimers.delete(id);
    };
    // ICE can drop for a moment (network change, Wi-Fi roam); only a peer that stays gone is
    // removed, so the others see its media stop within a few seconds instead of never.
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected' || state === 'closed') {
        if (this.#iceTimers.has(id)) return;
        const timer = setTimeout(() => {
          this.#iceTimers.delete(id);
          this.#log.info({ transport: id }, 'transport stayed disconnected, removing peer');
          this.#leave('ice-timeout');
        }, this.#host.transportOptions.peerDisconnectTimeoutSec * 1000);
        timer.unref();
        this.#iceTimers.set(id, timer);
      } else clear();
    });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed') this.#leave('dtls-failed');
    });
    transport.observer.once('close', clear);
  }

  #leave(reason: string): void {
    // The socket may still be open when the media path died: say so, so the client rejoins at
    // once instead of waiting for its own ICE to fail.
    if (reason === 'ice-timeout' || reason === 'dtls-failed') this.notify('rejoin', { reason });
    for (const t of this.#iceTimers.values()) clearTimeout(t);
    this.#iceTimers.clear();
    const room = this.#room;
    const peer = this.#peer;
    this.#room = undefined;
    this.#peer = undefined;
    if (room && peer) room.removePeer(peer, reason);
    else peer?.close();
  }
}

/** WebRTC or plain: a peer has at most four transports and one receive transport. */
function checkNewTransport(peer: Peer, direction: 'send' | 'recv'): void {
  if (peer.transports.size >= 4) throw new InvalidStateError('too many transports');
  if (direction === 'recv' && peer.recvTransport) throw new InvalidStateError('a receive transport exists already');
}
