import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { PeerInfo } from '../../core/protocol.js';
import { Emitter } from './Emitter.js';
import { type Notification, OctomeshError, Signaling } from './Signaling.js';
import { JITTER_POLICY, type JitterPolicy } from './jitterPolicy.js';
import { RelayJitter } from './RelayJitter.js';
import { chooseByRtt } from './RttProbe.js';
import { AVOID_FOR_MS, nodesToAvoid, rejoinDelayMs } from './rejoinPolicy.js';
import { ScreenShare } from './screenShare.js';
import { fetchRoute, getLocalMedia, openDevice, withoutAbsCaptureTime } from './support.js';
import type { ClientEvents, ClientState, JoinOptions, Kind, LocalMedia, ReconnectCause, RemoteMedia, RouteDecision, SelfInfo } from './types.js';

export { OctomeshError } from './Signaling.js';
export type * from './types.js';

const SIMULCAST: types.RtpEncodingParameters[] = [
  { maxBitrate: 100_000, scaleResolutionDownBy: 4 },
  { maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { maxBitrate: 900_000 },
];
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
/** After this many rejoin attempts a pinned region is dropped, in case the region itself is down. */
const REGION_PIN_ATTEMPTS = 2;
const aborted = (): OctomeshError => new OctomeshError('aborted', 'superseded by leave() or a reconnect');
const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

type IceSettings = Pick<types.TransportOptions, 'iceServers' | 'iceTransportPolicy'>;

type MediaNotification = Exclude<Notification, { name: 'peerJoined' | 'activeSpeaker' | 'chat' | 'rejoin' }>;

/** Everything tied to one WebSocket; a rejoin throws the whole session away. */
interface Session {
  readonly sig: Signaling;
  readonly device: Device;
  send: types.Transport | null;
  recv: types.Transport | null;
  readonly producers: Partial<Record<Kind, types.Producer>>;
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
  readonly #consumers = new Map<string, { media: RemoteMedia; consumer: types.Consumer }>();
  #local: LocalMedia = { audio: null, video: null };
  #localPromise: Promise<LocalMedia> | null = null;
  readonly #screen = new ScreenShare((track) => this.emit('screenShare', track));
  readonly #enabled: Record<Kind, boolean> = { audio: true, video: true };
  /** Rejoin attempts since the last healthy session (media flowed HEALTHY_AFTER_MS): the back-off's input. */
  #attempts = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The node the connection attempt in flight is going to, once the router has named it. */
  #attemptNode: string | undefined;
  /** Node id -> when this page last failed on it; named to the router as `avoid` for a while. */
  readonly #failedAt = new Map<string, number>();
  /** Lets relayed media wait for repairs across the relay while losses are seen. */
  readonly #jitter = new RelayJitter((consumerId, targetMs) => {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    entry.media.jitterBufferTargetMs = targetMs;
    this.emit('consumerUpdated', entry.media);
  });

  get state(): ClientState { return this.#state; }
  get self(): SelfInfo | null { return this.#self; }
  get activeSpeaker(): string | null { return this.#activeSpeaker; }
  get peers(): PeerInfo[] { return [...this.#peers.values()]; }
  get consumers(): RemoteMedia[] { return [...this.#consumers.values()].map((c) => c.media); }
  get localMedia(): LocalMedia { return { ...this.#local }; }
  get micEnabled(): boolean { return this.#enabled.audio; }
  get cameraEnabled(): boolean { return this.#enabled.video; }
  get screenShare(): MediaStreamTrack | null { return this.#screen.track; }

  /** WebRTC stats of the receiving PeerConnection, or null while not connected. */
  getRecvStats(): Promise<RTCStatsReport | null> {
    return this.#transportStats('recv');
  }

  /** WebRTC stats of the sending PeerConnection, or null while not connected. */
  getSendStats(): Promise<RTCStatsReport | null> {
    return this.#transportStats('send');
  }

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
    void this.#acquireLocal(); // the permission prompt overlaps the signaling round trips
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
    this.#stopLocal();
    this.emit('left');
  }

  setMicEnabled(enabled: boolean): Promise<void> {
    this.#enabled.audio = enabled;
    return this.#applyEnabled('audio');
  }

  setCameraEnabled(enabled: boolean): Promise<void> {
    this.#enabled.video = enabled;
    return this.#applyEnabled('video');
  }

  async sendChat(text: string): Promise<void> {
    const trimmed = text.trim();
    if (!trimmed) return;
    const s = this.#joinedSession();
    await s.sig.request('chat', { text: trimmed });
    const self = this.#self;
    if (self && this.#opts) this.emit('chat', { peerId: self.peerId, displayName: this.#opts.displayName, text: trimmed, ts: Date.now() });
  }

  /** Moves the camera or microphone to another device in the call (replaceTrack: no renegotiation). */
  async setDevice(kind: Kind, deviceId: string): Promise<void> {
    const track = await openDevice(kind, deviceId);
    if (this.#state === 'left' || this.#state === 'error') return void track.stop();
    track.enabled = this.#enabled[kind];
    const old = this.#local[kind];
    this.#local = { ...this.#local, [kind]: track };
    this.#localPromise = Promise.resolve(this.#local); // a rejoin sends the new one
    if (this.#opts) this.#opts = { ...this.#opts, [kind === 'audio' ? 'audioDeviceId' : 'videoDeviceId']: deviceId };
    const producer = this.#session?.producers[kind];
    if (producer && !producer.closed) await producer.replaceTrack({ track });
    old?.stop();
    this.emit('localMedia', { ...this.#local });
  }

  /**
   * Shares a screen, window or tab (the browser asks which) as a producer of source 'screen'.
   * Ending the capture from the browser's own "Stop sharing" bar stops it for everyone.
   */
  startScreenShare(): Promise<MediaStreamTrack> {
    this.#joinedSession();
    return this.#screen.start();
  }

  stopScreenShare(): Promise<void> {
    return this.#screen.stop();
  }

  async setConsumerPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    const s = this.#joinedSession();
    await s.sig.request('setConsumerPreferredLayers', { consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
  }

  // ---- one connection attempt: route, socket, device, join, transports ----

  async #connect(): Promise<SelfInfo> {
    const opts = this.#opts!;
    this.#attemptNode = undefined;
    const route = await this.#route(opts);
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
      sig, device: new Device(), send: null, recv: null, producers: {}, recvReady, markRecvReady, chain: Promise.resolve(),
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
    this.#self = { room: opts.room, peerId: joined.peerId, region: joined.region, nodeId: joined.nodeId, route };
    s.nodeId = joined.nodeId;
    for (const peer of joined.peers) this.#addPeer(peer);
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
    void this.#produceAll(s);
    return this.#self;
  }

  /**
   * The geo-router's node, or a clearly faster alternative. Only on the first join: on a rejoin
   * the router's own answer is taken, so a probe that picked badly cannot keep a client out, and
   * a pin (kept for the first REGION_PIN_ATTEMPTS rejoins) is never second-guessed.
   */
  async #route(opts: JoinOptions): Promise<RouteDecision> {
    const pinned = this.#attempts <= REGION_PIN_ATTEMPTS ? opts.region : undefined;
    // The nodes this page just failed on: the router skips them for this answer (only this one:
    // a page cannot take a node away from anyone else), so a dead node that the registry still
    // lists is not dialled again and again.
    const avoid = nodesToAvoid(this.#failedAt, Date.now());
    const route = await fetchRoute(opts, pinned, avoid);
    const decision = (by: RouteDecision['by']): RouteDecision => ({
      region: route.region, nodeId: route.nodeId, wsUrl: route.wsUrl, by, geoRegion: route.region, distanceKm: route.distanceKm, rttMs: {},
    });
    // The router lets a pin go when this page just failed on every node of the region.
    if (pinned) return decision(route.region === pinned ? 'pinned' : 'geoip');
    // Probing is for the first join: on a rejoin the node that was chosen may be the one that
    // just died, and a probe of a host that is cut off waits out its whole budget.
    if (opts.probeRtt === false || this.#state !== 'joining' || route.alternatives.length === 0) return decision('geoip');
    return chooseByRtt(route);
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
    if (direction === 'send') {
      t.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
        const source = appData['source'] as 'mic' | 'camera' | 'screen';
        const height = appData['videoHeight'];
        const videoHeight = typeof height === 'number' && height >= 16 ? { videoHeight: Math.min(Math.round(height), 4320) } : {};
        s.sig.request('produce', { transportId: t.id, kind, rtpParameters, source, ...videoHeight }).then(({ producerId }) => done({ id: producerId }), fail);
      });
    }
  }

  async #produceAll(s: Session): Promise<void> {
    const local = await this.#acquireLocal();
    for (const kind of ['audio', 'video'] as const) {
      const track = local[kind];
      if (!track || track.readyState === 'ended' || this.#session !== s || !s.send || !s.device.canProduce(kind)) continue;
      try {
        // stopTracks: false keeps the camera and mic alive across rejoins (no second prompt).
        const producer = await s.send.produce({
          track,
          stopTracks: false,
          appData: { source: kind === 'audio' ? 'mic' : 'camera' },
          ...(kind === 'video' ? { encodings: SIMULCAST } : {}),
        });
        if (this.#session !== s) {
          producer.close();
          return;
        }
        s.producers[kind] = producer;
        // A disabled track makes a producer that is paused locally but not on the server.
        if (!this.#enabled[kind]) await this.#applyEnabled(kind, true);
      } catch (err) {
        if (this.#session === s) console.warn(`octomesh: cannot send ${kind}`, err);
      }
    }
    if (this.#session === s && s.send) await this.#screen.bind(s.sig, s.send).catch((err: unknown) => console.warn('octomesh: cannot send the screen', err));
  }

  #acquireLocal(): Promise<LocalMedia> {
    this.#localPromise ??= getLocalMedia(this.#opts?.audio !== false, this.#opts?.video !== false, this.#opts ?? {}).then((media) => {
      if (this.#state === 'left' || this.#state === 'error') {
        media.audio?.stop();
        media.video?.stop();
        return { audio: null, video: null };
      }
      this.#local = media;
      this.emit('localMedia', { ...media });
      return media;
    });
    return this.#localPromise;
  }

  async #applyEnabled(kind: Kind, force = false): Promise<void> {
    const want = this.#enabled[kind];
    const s = this.#session;
    const producer = s?.producers[kind];
    if (!s || !producer || producer.closed) {
      const track = this.#local[kind];
      if (track) track.enabled = want; // the preview shows it; the next produce re-applies it
      return;
    }
    if (producer.paused !== want && !force) return;
    if (want) producer.resume();
    else producer.pause();
    await s.sig.request(want ? 'resumeProducer' : 'pauseProducer', { producerId: producer.id });
  }

  // ---- notifications ----

  #onNotification(s: Session, n: Notification): void {
    if (this.#session !== s) return;
    switch (n.name) {
      case 'peerJoined':
        this.#addPeer(n.data);
        return;
      case 'activeSpeaker':
        this.#activeSpeaker = n.data.peerId;
        this.emit('activeSpeaker', n.data.peerId);
        return;
      case 'chat':
        if (n.data.peerId !== this.#self?.peerId) this.emit('chat', n.data);
        return;
      case 'rejoin':
        this.#lost(s, `server asked to rejoin: ${n.data.reason}`, 'server');
        return;
      default:
        s.chain = s.chain
          .then(() => s.recvReady)
          .then(() => this.#onMediaNotification(s, n))
          .catch((err: unknown) => { if (this.#session === s) console.warn(`octomesh: ${n.name} failed`, err); });
    }
  }

  async #onMediaNotification(s: Session, n: MediaNotification): Promise<void> {
    if (this.#session !== s) return;
    switch (n.name) {
      case 'newConsumer': {
        const d = n.data;
        const consumer = await s.recv!.consume({ id: d.consumerId, producerId: d.producerId, kind: d.kind, rtpParameters: d.rtpParameters as types.RtpParameters });
        if (this.#session !== s) return; // the transport closed and took the consumer with it
        const media: RemoteMedia = {
          consumerId: d.consumerId, producerId: d.producerId, peerId: d.peerId, kind: d.kind, source: d.source,
          track: consumer.track, producerPaused: d.producerPaused, currentLayers: null,
          relayRttMs: d.relayRttMs ?? null, jitterBufferTargetMs: null,
        };
        this.#consumers.set(d.consumerId, { media, consumer });
        if (d.relayRttMs !== undefined && this.#opts?.relayJitter !== false) this.#jitter.add(consumer, d.relayRttMs, this.#jitterPolicy());
        this.emit('consumer', media);
        // Server-side consumers start paused so no keyframe is lost before the track is attached.
        s.sig.request('resumeConsumer', { consumerId: d.consumerId }).catch((err: unknown) => {
          if (this.#session === s) console.warn('octomesh: resumeConsumer failed', err);
        });
        return;
      }
      case 'producerClosed':
        this.#closeConsumer(n.data.consumerId);
        return;
      case 'producerPaused':
      case 'producerResumed': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        entry.media.producerPaused = n.name === 'producerPaused';
        this.emit('consumerUpdated', entry.media);
        return;
      }
      case 'consumerRelayRtt': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        entry.media.relayRttMs = n.data.relayRttMs;
        this.#jitter.setRelayRtt(n.data.consumerId, n.data.relayRttMs);
        return;
      }
      case 'consumerLayersChanged': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        const { spatialLayer, temporalLayer } = n.data;
        entry.media.currentLayers = spatialLayer === null ? null : { spatialLayer, temporalLayer };
        this.emit('consumerUpdated', entry.media);
        return;
      }
      case 'peerLeft': {
        for (const { media } of [...this.#consumers.values()]) if (media.peerId === n.data.peerId) this.#closeConsumer(media.consumerId);
        const peer = this.#peers.get(n.data.peerId);
        this.#peers.delete(n.data.peerId);
        if (peer) this.emit('peerLeft', peer);
        return;
      }
    }
  }

  #addPeer(peer: PeerInfo): void {
    if (peer.peerId === this.#self?.peerId) return;
    this.#peers.set(peer.peerId, peer);
    this.emit('peerJoined', peer);
  }

  #closeConsumer(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    this.#consumers.delete(consumerId);
    this.#jitter.remove(consumerId);
    entry.consumer.close();
    this.emit('consumerClosed', entry.media);
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
    this.#screen.sessionEnded();
    if (s) {
      clearTimeout(s.healthyTimer);
      s.sig.close();
      s.send?.close();
      s.recv?.close();
    }
    const consumers = [...this.#consumers.values()];
    const peers = [...this.#peers.values()];
    this.#jitter.clear();
    this.#consumers.clear();
    this.#peers.clear();
    this.#self = null;
    for (const { media } of consumers) this.emit('consumerClosed', media);
    for (const peer of peers) this.emit('peerLeft', peer);
    if (this.#activeSpeaker !== null) {
      this.#activeSpeaker = null;
      this.emit('activeSpeaker', null);
    }
  }

  /** Gives up: no call, so the camera light goes off too. */
  #fail(error: Error): void {
    this.#teardown();
    this.#stopLocal();
    this.#setState('error');
    this.emit('error', error);
  }

  #stopLocal(): void {
    void this.#screen.stop();
    this.#local.audio?.stop();
    this.#local.video?.stop();
    this.#local = { audio: null, video: null };
    this.#localPromise = null;
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
