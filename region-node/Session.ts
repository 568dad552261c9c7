import { randomUUID } from 'node:crypto';
import { errors as msErrors, type types } from 'mediasoup';
import { BadRequestError, DrainingError, InvalidStateError, NotFoundError, OctomeshError, RateLimitedError, toWireError } from '../core/errors.js';
import { asPeerId, type RegionName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { encodeNotification, parseRequest, type IceServer, type JoinResponse, type Method, type PeerInfo, type NotificationName, type Notifications, type Request, type RequestData, type RequestId, type TransportResponse } from '../core/protocol.js';
import { TokenBucket } from '../core/TokenBucket.js';
import { Peer, type PeerTransportAppData } from './Peer.js';
import type { Room, TransportOptions } from './Room.js';
import { withoutDroppedExtensions } from './mediaCodecs.js';
import { layerHeights } from './demandPolicy.js';

/** What a Session needs from its node: kept narrow so the Session does not see the node's internals. */
export interface SessionHost {
  readonly region: RegionName;
  readonly nodeId: string;
  readonly draining: boolean;
  /** rooms.lastN */
  readonly lastN: number;
  readonly limits: { messagesPerSecond: number; messageBurst: number; maxProducersPerPeer: number; maxChatBytes: number };
  readonly transportOptions: TransportOptions & { peerDisconnectTimeoutSec: number; plainTransports: boolean };
  routerRtpCapabilities(): types.RtpCapabilities;
  /** STUN/TURN servers for one peer, with credentials fresh for this join. */
  iceServers(peerId: string): IceServer[];
  /** Throws UnauthorizedError unless `token` lets its bearer into `room`. */
  checkAccess(room: string, token: string | undefined): Promise<{ name?: string }>;
  getOrCreateRoom(roomId: string): Promise<Room>;
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
  readonly #parentLog: Logger;
  #childLog: Logger | undefined;
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
    this.#parentLog = log;
    this.#bucket = new TokenBucket(host.limits.messagesPerSecond, host.limits.messageBurst, Date.now());
  }

  /** Made on first use: a pino child costs ~0.1 ms, and most sessions never log. */
  get #log(): Logger {
    return (this.#childLog ??= this.#parentLog.child({ session: this.id }));
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
    this.notifyEncoded(encodeNotification(name, data));
  }

  notifyEncoded(frame: string): void {
    if (!this.#closed) this.#socket.send(frame);
  }

  #reply(id: RequestId | null, err: unknown, data?: unknown): void {
    if (this.#closed) return;
    if (!err && data instanceof EncodedJson) {
      this.#socket.send(`{"id":${JSON.stringify(id)},"ok":true,"data":${data.json}}`);
      return;
    }
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
    getRouterRtpCapabilities: () => encodedCapabilities(this.#host.routerRtpCapabilities()),

    ping: () => ({ now: Date.now() }),

    join: async (data) => {
      if (this.#peer || this.#joining) throw new InvalidStateError('already joined');
      this.#joining = true;
      try {
        // The token first: a refused caller learns nothing of the room, not even that it exists.
        const grant = await this.#host.checkAccess(data.room, data.token);
        if (this.#host.draining) throw new DrainingError();
        // The peer before the room: capabilities it cannot take must not leave a room behind.
        const peer = new Peer({
          id: asPeerId(randomUUID()),
          displayName: grant.name ?? data.displayName,
          region: this.#host.region,
          rtpCapabilities: withoutDroppedExtensions(data.rtpCapabilities as unknown as types.RtpCapabilities),
          channel: this,
        });
        const entered = await this.#enterRoom(data.room, peer);
        if (!entered) return {};
        const { room, others } = entered;
        this.#room = room;
        this.#peer = peer;
        room.once('@close', () => {
          if (this.#room === room) {
            this.#room = undefined;
            this.#peer = undefined;
          }
        });
        const response: JoinResponse = {
          peerId: peer.id,
          region: this.#host.region,
          nodeId: this.#host.nodeId,
          peers: others,
          iceServers: this.#host.iceServers(peer.id),
          activeSpeaker: room.activeSpeaker,
          lastN: this.#host.lastN,
        };
        return response;
      } finally {
        this.#joining = false;
      }
    },

    createWebRtcTransport: async (data) => {
      const { room, peer } = this.#joined();
      const transport = await room.createWebRtcTransport(peer, data.direction, data.forceTcp ?? false, this.#host.transportOptions);
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
      await refusedAsClientError(peer.webRtcTransport(data.transportId).connect({ dtlsParameters: data.dtlsParameters as unknown as types.DtlsParameters }));
      return {};
    },

    createPlainTransport: async (data) => {
      const { room, peer } = this.#joined();
      const o = this.#host.transportOptions;
      if (!o.plainTransports) throw new InvalidStateError('plain transports are disabled on this node (media.plainTransports)');
      // A sending one learns its remote from the first packet (comedia): it has no connect to take the keys.
      if (data.srtp && data.direction !== 'recv') throw new BadRequestError('createPlainTransport.srtp: on a receive transport only');
      const transport = await room.createPlainTransport(peer, data.direction, o, data.srtp);
      const srtp = transport.srtpParameters ? { srtpParameters: transport.srtpParameters } : {};
      const tuple = transport.tuple; // a clone per read
      return { transportId: transport.id, ip: tuple.localAddress ?? tuple.localIp, port: tuple.localPort, ...srtp };
    },

    connectPlainTransport: async (data) => {
      const { room, peer } = this.#joined();
      const transport = peer.plainTransport(data.transportId);
      if (transport.appData.direction !== 'recv') throw new InvalidStateError('only a receive plain transport is connected');
      await refusedAsClientError(transport.connect({ ip: data.ip, port: data.port, ...(data.srtpParameters ? { srtpParameters: data.srtpParameters } : {}) }));
      setImmediate(() => !peer.closed && room.onRecvTransport(peer));
      return {};
    },

    restartIce: async (data) => {
      const { peer } = this.#joined();
      return { iceParameters: await refusedAsClientError(peer.webRtcTransport(data.transportId).restartIce()) };
    },

    produce: async (data) => {
      const { room, peer } = this.#joined();
      const source = data.source ?? (data.kind === 'audio' ? 'mic' : 'camera');
      const heights = data.kind === 'video' ? layerHeights((data.rtpParameters as { encodings?: { scaleResolutionDownBy?: number }[] }).encodings ?? [], data.videoHeight) : undefined;
      const producer = await refusedAsClientError(peer.produce(data.transportId, data.kind, data.rtpParameters as unknown as types.RtpParameters, { source, layerHeights: heights }, this.#host.limits.maxProducersPerPeer));
      room.onNewProducer(peer, producer);
      return { producerId: producer.id };
    },

    closeProducer: (data) => {
      const { peer } = this.#joined();
      peer.closeProducer(data.producerId);
      return {};
    },

    pauseProducer: async (data) => {
      await refusedAsClientError(this.#joined().peer.producer(data.producerId).pause());
      return {};
    },

    resumeProducer: async (data) => {
      await refusedAsClientError(this.#joined().peer.producer(data.producerId).resume());
      return {};
    },

    // The client's pause is its demand; last-N may keep a resumed consumer paused (Room).
    pauseConsumer: async (data) => {
      const { room, peer } = this.#joined();
      await refusedAsClientError(room.setConsumerPaused(peer, data.consumerId, true));
      return {};
    },

    resumeConsumer: async (data) => {
      const { room, peer } = this.#joined();
      await refusedAsClientError(room.setConsumerPaused(peer, data.consumerId, false));
      return {};
    },

    setConsumerPreferredLayers: async (data) => {
      const { room, peer } = this.#joined();
      await refusedAsClientError(room.setConsumerLayer(peer, data.consumerId, data.spatialLayer, data.temporalLayer));
      return {};
    },

    setConsumerView: async (data) => {
      const { room, peer } = this.#joined();
      await refusedAsClientError(room.setConsumerView(peer, data.consumerId, data.width, data.height));
      return {};
    },

    setView: (data) => {
      const { room, peer } = this.#joined();
      room.setView(peer, data.pinned, data.page);
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

  /**
   * Adds `peer` to the room, making the room if need be. A room closes when its last peer
   * leaves, so one made here that the peer does not enter (the socket went meanwhile, the
   * room refused it) is closed here, or it would stay open with nobody in it.
   */
  async #enterRoom(name: string, peer: Peer): Promise<{ room: Room; others: PeerInfo[] } | undefined> {
    for (let attempt = 1; ; attempt++) {
      const room = await this.#host.getOrCreateRoom(name);
      // Emptied and closed while this join waited (by its last peer, or by another join that
      // gave up on it): the next call makes a new one.
      if (room.closed && attempt < 3) continue;
      if (this.#closed) {
        room.closeIfEmpty();
        return undefined;
      }
      const others = room.allPeers();
      try {
        room.addPeer(peer);
      } catch (err) {
        room.closeIfEmpty();
        throw err;
      }
      return { room, others };
    }
  }

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

/** A response's data already in JSON: the same for every client, encoded once. */
class EncodedJson {
  constructor(readonly json: string) {}
}

// Every join asks for the router's capabilities first (a few kB of JSON): encoded once per object.
const capabilitiesJson = new WeakMap<object, EncodedJson>();
function encodedCapabilities(caps: types.RtpCapabilities): EncodedJson {
  let e = capabilitiesJson.get(caps);
  if (!e) capabilitiesJson.set(caps, (e = new EncodedJson(JSON.stringify(caps))));
  return e;
}

/**
 * A mediasoup call made with what the client sent: when mediasoup or its worker refuses it
 * (a MID in use, connect() twice, a codec the router lacks, an object closed meanwhile), the
 * fault is the client's and its code says so; before, these went out as `internal` and were
 * logged as errors at the client's will. A worker that died stays `internal`.
 */
async function refusedAsClientError<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof msErrors.WorkerClosedError || err instanceof OctomeshError) throw err;
    if (err instanceof msErrors.NotFoundError) throw new NotFoundError(err.message);
    if (err instanceof TypeError || err instanceof RangeError || err instanceof msErrors.UnsupportedError) throw new BadRequestError(err.message);
    // What the worker refuses without a type of its own comes as a bare Error.
    if (err instanceof Error && err.constructor === Error) throw new InvalidStateError(err.message);
    throw err;
  }
}
