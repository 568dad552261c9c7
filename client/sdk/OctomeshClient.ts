import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { PeerInfo } from '../../core/protocol.js';
import { Emitter } from './Emitter.js';
import { type Notification, OctomeshError, Signaling } from './Signaling.js';
import { JITTER_POLICY, type JitterPolicy } from './jitterPolicy.js';
import { LocalTracks } from './LocalTracks.js';
import { LastN } from './LastN.js';
import { RemoteTracks, type MediaNotification } from './RemoteTracks.js';
import { routeFor } from './route.js';
import { AVOID_FOR_MS, nodesToAvoid, rejoinDelayMs } from './rejoinPolicy.js';
import { withoutAbsCaptureTime } from './support.js';
import type { ClientEvents, DynacastState, PageView, ViewState, ClientState, JoinOptions, Kind, LocalMedia, ReconnectCause, RemoteMedia, SelfInfo } from './types.js';

export { OctomeshError } from './Signaling.js';
export type * from './types.js';

/**
 * The socket's heartbeat: a ping every 0.5 s, and a node silent for 2 s after a ping counts as
 * gone. Measured between hosts before: a node cut off from the network while its process ran was
 * noticed only at the 15 s ping (failover 18.7-21.1 s). Now it is noticed 2-2.5 s after it went
 * silent. 2 s still covers a lost ping's TCP retransmission at 220 ms RTT; a rare false alarm
 * costs a rejoin of a second or two, not the call.
 */
const PING_INTERVAL_MS = 500;
const PING_DEAD_AFTER_MS = 2_000;
/** A session counts as healthy, and the rejoin back-off starts over, once media has flowed this long. */
const HEALTHY_AFTER_MS = 10_000;
const LEAVE_TIMEOUT_MS = 1_500;
/** Errors a retry cannot fix; anything else (a dead node, draining, a full room) is retried. */
const FATAL_CODES = new Set(['bad_request', 'unauthorized', 'unknown_method']);
/**
 * Failed attempts that say the node is gone or will not take this join, so the next route
 * request names it in `avoid`: no answer (client-side codes) or draining / full.
 */
const AVOID_CODES = new Set(['timeout', 'disconnected', 'network', 'draining', 'room_full']);
const aborted = (): OctomeshError => new OctomeshError('aborted', 'superseded by leave() or a reconnect');
const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

type IceSettings = Pick<types.TransportOptions, 'iceServers' | 'iceTransportPolicy'>;

/** Everything tied to one WebSocket; a rejoin throws the whole session away. */
interface Session {
  readonly sig: Signaling;
  readonly device: Device;
  send: types.Transport | null;
  recv: types.Transport | null;
  /** newConsumer and friends wait on this, so none arrives before the recv transport exists. */
  readonly recvReady: Promise<void>;
  markRecvReady: () => void;
  /** Media notifications run one after another, so a producerClosed never overtakes its consume(). */
  chain: Promise<void>;
  /** The node this socket reaches (the router's id; the join's once joined). */
  nodeId: string;
  healthyTimer: ReturnType<typeof setTimeout> | undefined;
}

export class OctomeshClient extends Emitter<ClientEvents> {
  #state: ClientState = 'idle';
  #opts: JoinOptions | null = null;
  #session: Session | null = null;
  #self: SelfInfo | null = null;
  #activeSpeaker: string | null = null;
  readonly #peers = new Map<string, PeerInfo>();
  readonly #tracks = new RemoteTracks((event, ...args) => this.emit(event, ...args));
  readonly #localTracks = new LocalTracks((media) => this.emit('localMedia', media), () => this.#state !== 'left' && this.#state !== 'error', (track) => this.emit('screenShare', track));
  readonly #lastN = new LastN();
  /** Rejoin attempts since the last healthy session (media flowed HEALTHY_AFTER_MS): the back-off's input. */
  #attempts = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The node the connection attempt in flight is going to, once the router has named it. */
  #attemptNode: string | undefined;
  /** Node id -> when this page last failed on it; named to the router as `avoid` for a while. */
  readonly #failedAt = new Map<string, number>();

  get state(): ClientState { return this.#state; }
  get self(): SelfInfo | null { return this.#self; }
  get activeSpeaker(): string | null { return this.#activeSpeaker; }
  get peers(): PeerInfo[] { return [...this.#peers.values()]; }
  get consumers(): RemoteMedia[] { return this.#tracks.list; }
  /** Last-N: the peers whose video this client is forwarded; null: everyone's. */
  get forwardedPeers(): string[] | null { return this.#lastN.forwarded; }
  get localMedia(): LocalMedia { return this.#localTracks.media; }
  get micEnabled(): boolean { return this.#localTracks.enabled('audio'); }
  get cameraEnabled(): boolean { return this.#localTracks.enabled('video'); }
  get screenShare(): MediaStreamTrack | null { return this.#localTracks.screen.track; }

  /** WebRTC stats of the receiving / sending PeerConnection, or null while not connected. */
  getRecvStats(): Promise<RTCStatsReport | null> { return this.#transportStats('recv'); }
  getSendStats(): Promise<RTCStatsReport | null> { return this.#transportStats('send'); }

  async #transportStats(direction: 'send' | 'recv'): Promise<RTCStatsReport | null> {
    const t = this.#session?.[direction];
    return t && !t.closed ? t.getStats() : null;
  }

  async join(options: JoinOptions): Promise<SelfInfo> {
    const current = this.#state; // a local, so TypeScript does not keep the narrowing past the awaits
    if (current === 'joining' || current === 'joined' || current === 'reconnecting') {
      throw new OctomeshError('invalid_state', `cannot join while ${current}`);
    }
    this.#opts = { ...options };
    this.#attempts = 0;
    this.#setState('joining');
    void this.#localTracks.acquire(options.audio !== false, options.video !== false, options); // the prompt overlaps the signaling round trips
    try {
      return await this.#connect();
    } catch (err) {
      const error = toError(err);
      if (this.#state === 'joining') this.#fail(error);
      throw error;
    }
  }

  /** Deliberate: tells the server, closes everything, stops the camera and mic; no rejoin. */
  async leave(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'left') return;
    const s = this.#session;
    this.#setState('left'); // from here on a closing socket is expected, not a reason to rejoin
    clearTimeout(this.#retryTimer);
    if (s && !s.sig.closed) await s.sig.request('leave', {}, LEAVE_TIMEOUT_MS).catch(() => undefined);
    this.#teardown();
    this.#localTracks.stop();
    this.emit('left');
  }

  setMicEnabled(enabled: boolean): Promise<void> {
    return this.#localTracks.setEnabled('audio', enabled);
  }

  setCameraEnabled(enabled: boolean): Promise<void> {
    return this.#localTracks.setEnabled('video', enabled);
  }

  async sendChat(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed) return;
    const s = this.#joinedSession();
    await s.sig.request('chat', { text: trimmed });
    const self = this.#self;
    if (self && this.#opts) this.emit('chat', { peerId: self.peerId, displayName: this.#opts.displayName, text: trimmed, ts: Date.now() });
  }

  setDevice(kind: Kind, deviceId: string): Promise<void> { return this.#localTracks.setDevice(kind, deviceId); } // replaceTrack
  /** Shares a screen, window or tab (source 'screen'); the browser's own "Stop sharing" stops it for everyone. */
  startScreenShare(): Promise<MediaStreamTrack> { this.#joinedSession(); return this.#localTracks.screen.start(); }
  stopScreenShare(): Promise<void> { return this.#localTracks.screen.stop(); }

  async setConsumerPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    const s = this.#joinedSession();
    await s.sig.request('setConsumerPreferredLayers', { consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
  }

  /**
   * Adaptive stream: the video of `consumerId` is drawn in `element`. From now on its size (in
   * device pixels) picks the layer the server sends, and it is paused on the server while the
   * element is off screen, not laid out, or in a hidden tab. Call it while handling 'consumer'
   * (before that event returns, the consumer is not resumed, so a tile off screen never starts).
   */
  attachVideo(consumerId: string, element: HTMLElement): void {
    this.#tracks.adaptive.attach(consumerId, element);
  }

  /** Nobody draws this video any more: paused on the server until attached again. */
  detachVideo(consumerId: string): void {
    this.#tracks.adaptive.detach(consumerId);
  }

  /** What adaptive stream told the server about a consumer and what its tile wants (for tests and debugging). */
  viewState(consumerId: string): ViewState | null {
    return this.#tracks.adaptive.state(consumerId);
  }

  /**
   * Last-N: the peers this client pins and those on its current page of the grid; the node
   * forwards their video whatever the speaker order. Kept across rejoins. TypeError beyond 9
   * pins or 100 on a page.
   */
  setView(view: PageView): Promise<void> {
    return this.#lastN.declare(view);
  }

  /** Whether this peer's video is forwarded to us (last-N); false means: show an avatar. */
  isForwarded(peerId: string): boolean {
    return this.#lastN.isForwarded(peerId);
  }

  /** Dynacast: the demand last heard for our camera and which of its encodings are on. */
  dynacastState(): DynacastState | null {
    return this.#localTracks.dynacastState();
  }

  // ---- one connection attempt: route, socket, device, join, transports ----

  async #connect(): Promise<SelfInfo> {
    const opts = this.#opts!;
    this.#attemptNode = undefined;
    const route = await routeFor(opts, this.#attempts, nodesToAvoid(this.#failedAt, Date.now()), this.#state === 'joining');
    if (this.#state !== 'joining' && this.#state !== 'reconnecting') throw aborted();
    this.#attemptNode = route.nodeId || route.wsUrl;
    const sig = await Signaling.open(route.wsUrl);
    if ((this.#state !== 'joining' && this.#state !== 'reconnecting') || this.#session) {
      sig.close();
      throw aborted();
    }
    let markRecvReady = (): void => undefined;
    const recvReady = new Promise<void>((resolve) => { markRecvReady = resolve; });
    const s: Session = {
      sig, device: new Device(), send: null, recv: null, recvReady, markRecvReady, chain: Promise.resolve(),
      nodeId: this.#attemptNode, healthyTimer: undefined,
    };
    this.#session = s;
    sig.onNotification = (n) => this.#onNotification(s, n);
    sig.onClose = (reason) => this.#lost(s, reason, 'connection');
    // From the start, so a node that froze or was cut off during the join is noticed too.
    sig.startHeartbeat(PING_INTERVAL_MS, PING_DEAD_AFTER_MS);
    const live = (): void => { if (this.#session !== s) throw aborted(); };

    const caps = (await sig.request('getRouterRtpCapabilities', {})) as types.RtpCapabilities;
    live();
    await s.device.load({ routerRtpCapabilities: withoutAbsCaptureTime(caps) });
    live();
    const joined = await sig.request('join', {
      room: opts.room,
      displayName: opts.displayName,
      rtpCapabilities: s.device.rtpCapabilities,
      ...(opts.token ? { token: opts.token } : {}),
    });
    live();
    this.#self = { room: opts.room, peerId: joined.peerId, region: joined.region, nodeId: joined.nodeId, route, lastN: joined.lastN };
    s.nodeId = joined.nodeId;
    this.#tracks.bind(sig);
    this.#lastN.bind(sig);
    for (const peer of joined.peers) this.#addPeer(peer);
    // The speaker who started before we came (possibly on another node): the room only announces changes.
    this.#setActiveSpeaker(joined.activeSpeaker ?? null);
    // The node's TURN credentials are minted per join, so a rejoin also renews them.
    const ice: IceSettings = { iceServers: joined.iceServers, ...(opts.iceTransportPolicy ? { iceTransportPolicy: opts.iceTransportPolicy } : {}) };
    await Promise.all([this.#createTransport(s, 'send', ice), this.#createTransport(s, 'recv', ice)]);
    live();
    s.markRecvReady();
    // The back-off does not start over here: a join that succeeds while media cannot flow
    // (ICE blocked) would otherwise rejoin as fast as the join itself.
    this.#armHealthy(s);
    this.#setState('joined');
    this.emit('joined', this.#self);
    // Joined means "in the room and receiving"; a slow permission prompt must not hold that up.
    if (s.send) void this.#localTracks.produceAll(s.send, (kind) => s.device.canProduce(kind));
    return this.#self;
  }

  async #createTransport(s: Session, direction: 'send' | 'recv', ice: IceSettings): Promise<void> {
    const r = await s.sig.request('createWebRtcTransport', { direction });
    if (this.#session !== s) throw aborted();
    const options: types.TransportOptions = {
      ...ice,
      id: r.transportId,
      iceParameters: r.iceParameters as types.IceParameters,
      iceCandidates: r.iceCandidates as types.IceCandidate[],
      dtlsParameters: r.dtlsParameters as types.DtlsParameters,
    };
    const t = direction === 'send' ? s.device.createSendTransport(options) : s.device.createRecvTransport(options);
    s[direction] = t;
    t.on('connect', ({ dtlsParameters }, done, fail) => {
      s.sig.request('connectWebRtcTransport', { transportId: t.id, dtlsParameters }).then(() => done(), fail);
    });
    // By the time ICE says 'failed' the node has removed this peer (its ICE timeout) without a
    // word on the socket, so restartIce would be too late: only a fresh join recovers.
    t.on('connectionstatechange', (state) => {
      if (state === 'connected') this.#armHealthy(s);
      else if (state === 'failed') this.#lost(s, `${direction} transport failed`, 'media');
    });
    if (direction === 'send') this.#localTracks.bind(s.sig, t);
  }

  // ---- notifications ----

  #onNotification(s: Session, n: Notification): void {
    if (this.#session !== s) return;
    switch (n.name) {
      case 'peerJoined':
        this.#addPeer(n.data);
        return;
      case 'activeSpeaker':
        this.#setActiveSpeaker(n.data.peerId);
        return;
      case 'chat':
        if (n.data.peerId !== this.#self?.peerId) this.emit('chat', n.data);
        return;
      case 'rejoin':
        this.#lost(s, `server asked to rejoin: ${n.data.reason}`, 'server');
        return;
      case 'forwardedPeers':
        if (this.#lastN.setForwarded(n.data.peerIds)) this.emit('forwardedPeersChanged', this.#lastN.forwarded);
        return;
      case 'producerDemand':
        this.#localTracks.setDemand(n.data.producerId, n.data.maxSpatialLayer);
        return;
      default:
        s.chain = s.chain
          .then(() => s.recvReady)
          .then(() => this.#onMediaNotification(s, n))
          .catch((err: unknown) => { if (this.#session === s) console.warn(`octomesh: ${n.name} failed`, err); });
    }
  }

  async #onMediaNotification(s: Session, n: MediaNotification | Extract<Notification, { name: 'peerLeft' }>): Promise<void> {
    if (this.#session !== s) return;
    if (n.name !== 'peerLeft') {
      const jitter = this.#opts?.relayJitter === false ? null : this.#jitterPolicy();
      await this.#tracks.handle(s.recv!, n, jitter, () => this.#session === s);
      return;
    }
    // After the peer's consumers (in order behind them), so its tile goes with its media.
    this.#tracks.closePeer(n.data.peerId);
    const peer = this.#peers.get(n.data.peerId);
    this.#peers.delete(n.data.peerId);
    if (peer) this.emit('peerLeft', peer);
  }

  #setActiveSpeaker(peerId: string | null): void {
    if (peerId === this.#activeSpeaker) return;
    this.#activeSpeaker = peerId;
    this.emit('activeSpeaker', peerId);
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.peerId === this.#self?.peerId) return;
    this.#peers.set(peer.peerId, peer);
    this.emit('peerJoined', peer);
  }

  // ---- losing a session and getting back ----

  /**
   * Starts the back-off over once this session has carried media for HEALTHY_AFTER_MS: every
   * transport that started connecting is connected (one never used, still 'new', is no
   * evidence either way). Re-armed on each transport's 'connected'.
   */
  #armHealthy(s: Session): void {
    clearTimeout(s.healthyTimer);
    s.healthyTimer = setTimeout(() => {
      if (this.#session !== s || this.#state !== 'joined') return;
      const states = [s.send, s.recv].map((t) => t?.connectionState ?? 'new');
      if (!states.every((st) => st === 'new' || st === 'connected')) return;
      this.#attempts = 0;
      this.emit('healthy');
    }, HEALTHY_AFTER_MS);
  }

  #markFailed(nodeId: string): void {
    const now = Date.now();
    for (const [id, at] of this.#failedAt) if (now - at >= AVOID_FOR_MS) this.#failedAt.delete(id);
    this.#failedAt.set(nodeId, now);
  }

  #lost(s: Session, reason: string, cause: ReconnectCause): void {
    if (this.#session !== s) return;
    // A node that asked us to rejoin is alive; any other loss is the node's (or the path's).
    if (cause !== 'server') this.#markFailed(s.nodeId);
    if (this.#state !== 'joined') {
      // An attempt is in flight: failing its requests makes it retry (or fail the first join).
      this.#teardown();
      return;
    }
    this.#teardown();
    this.#setState('reconnecting');
    this.#scheduleRetry(reason, cause);
  }

  #scheduleRetry(reason: string, cause: ReconnectCause): void {
    const delayMs = rejoinDelayMs(this.#attempts, Math.random);
    this.#attempts++;
    this.emit('reconnecting', { reason, cause, attempt: this.#attempts, delayMs });
    this.#retryTimer = setTimeout(() => void this.#retry(), delayMs);
  }

  async #retry(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#state !== 'reconnecting') return;
    try {
      await this.#connect();
    } catch (err) {
      if (this.#state !== 'reconnecting') return;
      this.#teardown();
      const error = toError(err);
      if (error instanceof OctomeshError && FATAL_CODES.has(error.code)) {
        this.#fail(error);
        return;
      }
      const code = error instanceof OctomeshError ? error.code : '';
      if (!this.#attemptNode) {
        this.#scheduleRetry(error.message, 'router');
      } else if (AVOID_CODES.has(code)) {
        // Not there, or not taking us: the router offers another node next time.
        this.#markFailed(this.#attemptNode);
        this.#scheduleRetry(error.message, 'unreachable');
      } else {
        // The node answered (an internal error while it replaces a worker, say): it lives, and
        // the room's people are there, so the same node is fine next time.
        this.#scheduleRetry(error.message, 'refused');
      }
    }
  }

  /** Closes the session and forgets the room; emits the closes so a UI can stay incremental. */
  #teardown(): void {
    const s = this.#session;
    this.#session = null;
    if (s) {
      clearTimeout(s.healthyTimer);
      s.sig.close();
      s.send?.close();
      s.recv?.close();
    }
    const peers = [...this.#peers.values()];
    this.#localTracks.sessionEnded();
    this.#peers.clear();
    this.#self = null;
    this.#tracks.clear();
    for (const peer of peers) this.emit('peerLeft', peer);
    this.#setActiveSpeaker(null);
    if (this.#lastN.sessionEnded()) this.emit('forwardedPeersChanged', null);
  }

  /** Gives up: no call, so the camera light goes off too. */
  #fail(error: Error): void {
    this.#teardown();
    this.#localTracks.stop();
    this.#setState('error');
    this.emit('error', error);
  }

  #jitterPolicy(): JitterPolicy {
    const o = this.#opts?.relayJitter;
    return typeof o === 'object' ? { ...JITTER_POLICY, ...o } : JITTER_POLICY;
  }

  #joinedSession(): Session {
    if (this.#state !== 'joined' || !this.#session) throw new OctomeshError('invalid_state', `not joined (${this.#state})`);
    return this.#session;
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
