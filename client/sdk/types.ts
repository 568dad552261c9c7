import type { Notifications, PeerInfo } from '../../core/protocol.js';
import type { JitterPolicy } from './jitterPolicy.js';
import type { RouteDecision } from './RttProbe.js';

// The SDK's public shapes, apart from the class so an app or a test can import them alone.

export type { PeerInfo, RouteDecision };
export type { PageView } from './LastN.js';
export type { ViewState } from './AdaptiveStream.js';
export type { DynacastState } from './Dynacast.js';

export type ClientState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'left' | 'error';
/**
 * Why the client is rejoining. media: signaling worked but audio/video could not get through
 * (ICE failed: UDP blocked, a firewall, a wrong announced address); connection: the socket to the
 * node closed or went silent; server: the node asked (its media worker was replaced);
 * unreachable: a rejoin attempt could not reach a node, or it was draining or full; refused: a
 * node answered a rejoin attempt with an error; router: the geo-router did not answer with a node.
 */
export type ReconnectCause = 'media' | 'connection' | 'server' | 'unreachable' | 'refused' | 'router';
export type Kind = 'audio' | 'video';

export interface JoinOptions {
  room: string;
  displayName: string;
  /** Ask the geo-router for this region instead of the nearest one. */
  region?: string;
  token?: string;
  /** Send microphone / camera (default true). False still receives. */
  audio?: boolean;
  video?: boolean;
  /** Origin of the geo-router's /api/route; default: the page's origin. */
  apiBase?: string;
  /**
   * Measure the round trip to the geo-router's choice and its next-nearest alternatives, and
   * take one clearly faster (< half the RTT and >= 30 ms less). Default true; never with `region`.
   */
  probeRtt?: boolean;
  /** 'relay' sends all media through the node's TURN servers (strict NATs, or to prove TURN works). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * Let relayed media (from another region node) wait for repairs across the relay while losses
   * are seen (RelayJitter: jitterBufferTarget ~ 2 relay RTTs + 60 ms, at most 400). Default true; false keeps the
   * browser's own jitter buffer (the lowest delay, and a freeze per packet lost between nodes).
   */
  relayJitter?: boolean | Partial<JitterPolicy>;
  /** The camera and microphone to use (MediaDeviceInfo.deviceId); default: the browser's. */
  videoDeviceId?: string;
  audioDeviceId?: string;
}

export interface SelfInfo {
  room: string;
  peerId: string;
  region: string;
  nodeId: string;
  /** How this node was chosen: GeoIP, a faster measured alternative, or a pin. */
  route: RouteDecision;
  /** The room's last-N: above this many video publishers, video is forwarded by speaker order (plus pins and page). */
  lastN: number;
}

export interface Layers {
  spatialLayer: number;
  temporalLayer: number | null;
}

/** One remote track. `producerPaused` and `currentLayers` change in place ('consumerUpdated'). */
export interface RemoteMedia {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: Kind;
  source: string;
  track: MediaStreamTrack;
  producerPaused: boolean;
  currentLayers: Layers | null;
  /** Relayed from another region node: that relay path's RTT (ms, 0 until measured); null for media from this node. */
  relayRttMs: number | null;
  /** The jitter buffer target this client set on the receiver (ms) while the relay repairs losses; null: the browser's own. */
  jitterBufferTargetMs: number | null;
}

export interface LocalMedia {
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
}

export type ChatMessage = Notifications['chat'];

export type ClientEvents = {
  state: [ClientState];
  /** After every (re)join: the room's current peers have been announced with 'peerJoined'. */
  joined: [SelfInfo];
  /** A rejoin is scheduled: attempt n (1: the first since the last healthy session) starts in delayMs. */
  reconnecting: [{ reason: string; cause: ReconnectCause; attempt: number; delayMs: number }];
  /** Media has flowed on this session for a while (or nothing needed to flow): the rejoin back-off started over. */
  healthy: [];
  left: [];
  /** Fatal: the client is in state 'error' and does not retry. */
  error: [Error];
  localMedia: [LocalMedia];
  /** This client started (the captured track) or stopped (null) sharing its screen. */
  screenShare: [MediaStreamTrack | null];
  peerJoined: [PeerInfo];
  peerLeft: [PeerInfo];
  consumer: [RemoteMedia];
  consumerUpdated: [RemoteMedia];
  consumerClosed: [RemoteMedia];
  /** Also at join: the speaker who was talking before this client came (from the join answer). */
  activeSpeaker: [string | null];
  /** Last-N: whose video is forwarded now (null: everyone's); the others stay paused on the server. */
  forwardedPeersChanged: [string[] | null];
  /** Also emitted for the client's own messages once the server accepted them. */
  chat: [ChatMessage];
};

