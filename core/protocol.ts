import { z } from 'zod';
import { BadRequestError, UnknownMethodError } from './errors.js';

// The signaling protocol (WebSocket, JSON text frames), shared by the region node and the
// browser SDK (which imports only its types). Every frame is parsed and validated here before
// anything acts on it.
//
//   client -> server  {id, method, data}
//   server -> client  {id, ok: true, data} | {id, ok: false, error: {code, message}}
//   server -> client  {notification, data}

const id = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(64)]);
const entityId = z.string().min(1).max(64);
/** mediasoup validates these deeply itself (a TypeError becomes bad_request); we check the shape. */
const jsonObject = z.record(z.string(), z.unknown());

export const RoomName = z.string().min(1).max(128).regex(/^[\p{L}\p{N}_.~-]+$/u, 'letters, digits, _ . ~ - only');
/** The SRTP suites browsers negotiate with mediasoup (Chromium and Firefox pick the first). */
export const SrtpSuite = z.enum(['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80']);
export const DisplayName = z.string().trim().min(1).max(64).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'no control characters');

export const requestSchemas = {
  getRouterRtpCapabilities: z.strictObject({}),
  join: z.strictObject({
    room: RoomName,
    displayName: DisplayName,
    rtpCapabilities: jsonObject,
    token: z.string().max(8192).optional(),
  }),
  createWebRtcTransport: z.strictObject({
    direction: z.enum(['send', 'recv']),
    forceTcp: z.boolean().optional(),
  }),
  connectWebRtcTransport: z.strictObject({ transportId: entityId, dtlsParameters: jsonObject }),
  /**
   * Plain RTP (media bots, load tests); only when the node allows it (media.plainTransports).
   * `srtp` (receive transports only): the node encrypts what it sends with this suite, as it
   * would for a browser; the response carries the node's keys.
   */
  createPlainTransport: z.strictObject({ direction: z.enum(['send', 'recv']), srtp: SrtpSuite.optional() }),
  /** `srtpParameters`: the client's own keys, required by a transport made with `srtp`. */
  connectPlainTransport: z.strictObject({
    transportId: entityId,
    ip: z.union([z.ipv4(), z.ipv6()]),
    port: z.number().int().min(1).max(65535),
    srtpParameters: z.strictObject({ cryptoSuite: SrtpSuite, keyBase64: z.string().min(1).max(128) }).optional(),
  }),
  restartIce: z.strictObject({ transportId: entityId }),
  produce: z.strictObject({
    transportId: entityId,
    kind: z.enum(['audio', 'video']),
    rtpParameters: jsonObject,
    source: z.enum(['mic', 'camera', 'screen']).optional(),
    /** Height (px) of the top simulcast layer as captured; the server maps tile sizes to layers by it (default 720). */
    videoHeight: z.number().int().min(16).max(4320).optional(),
  }),
  closeProducer: z.strictObject({ producerId: entityId }),
  pauseProducer: z.strictObject({ producerId: entityId }),
  resumeProducer: z.strictObject({ producerId: entityId }),
  pauseConsumer: z.strictObject({ consumerId: entityId }),
  resumeConsumer: z.strictObject({ consumerId: entityId }),
  setConsumerPreferredLayers: z.strictObject({
    consumerId: entityId,
    spatialLayer: z.number().int().min(0).max(15),
    temporalLayer: z.number().int().min(0).max(15).optional(),
  }),
  /**
   * Adaptive stream: the size (device pixels) the consumer's video is drawn at. The server picks
   * the smallest spatial layer that covers it. A tile off screen is paused with pauseConsumer instead.
   */
  setConsumerView: z.strictObject({
    consumerId: entityId,
    width: z.number().int().min(1).max(7680),
    height: z.number().int().min(1).max(4320),
  }),
  /**
   * Last-N: whose video this peer wants forwarded whatever the speaker order: the peers it pins
   * and those on its current page of the grid. A pinned peer that is not in the room is an error;
   * page entries that left meanwhile are ignored.
   */
  setView: z.strictObject({
    pinned: z.array(entityId).max(9),
    page: z.array(entityId).max(100),
  }),
  chat: z.strictObject({ text: z.string().min(1) }),
  ping: z.strictObject({}),
  leave: z.strictObject({}),
} as const;

export type Method = keyof typeof requestSchemas;
export type RequestData<M extends Method> = z.infer<(typeof requestSchemas)[M]>;
export type RequestId = z.infer<typeof id>;

export type Request = { [M in Method]: { id: RequestId; method: M; data: RequestData<M> } }[Method];

const envelope = z.strictObject({ id, method: z.string().min(1).max(64), data: z.unknown().optional() });

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper than any real request (rtcpFeedback inside a codec inside rtpCapabilities is 7). */
export const MAX_JSON_DEPTH = 16;

/**
 * Refuses pollution keys and deep nesting, walking with its own stack. A deep request must not
 * reach what recurses on it later: mediasoup clones capabilities with structuredClone, which
 * threw RangeError on ~2,000 nested objects (from a setImmediate, so it killed the process);
 * JSON.parse's reviver overflowed likewise.
 */
function checkShape(raw: unknown): void {
  const stack: [unknown, number][] = [[raw, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) throw new BadRequestError(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new BadRequestError(`forbidden key "${key}"`);
      stack.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : 'message';
  return `${where}: ${issue.message}`;
}

/**
 * Parses one text frame. Throws BadRequestError (bad JSON, bad envelope, bad data) or
 * UnknownMethodError; `partialId` is filled in as soon as the id is known so that the error
 * response can still be matched to its request.
 */
export function parseRequest(text: string, partialId: { id: RequestId | null } = { id: null }): Request {
  let raw: unknown;
  try {
    // Without a reviver: "__proto__" becomes an own key (checked below), not the prototype.
    raw = JSON.parse(text);
  } catch {
    throw new BadRequestError('malformed JSON');
  }
  if (typeof raw === 'object' && raw !== null && 'id' in raw) {
    const maybeId = id.safeParse((raw as { id: unknown }).id);
    if (maybeId.success) partialId.id = maybeId.data;
  }
  checkShape(raw);
  const env = envelope.safeParse(raw);
  if (!env.success) throw new BadRequestError(describe(env.error));
  const { method } = env.data;
  if (!Object.hasOwn(requestSchemas, method)) throw new UnknownMethodError(method);
  const schema = requestSchemas[method as Method];
  const data = schema.safeParse(env.data.data ?? {});
  if (!data.success) throw new BadRequestError(`${method}: ${describe(data.error)}`);
  return { id: env.data.id, method, data: data.data } as Request;
}

// ---- responses and notifications (types only; the browser SDK imports these) ----

export interface PeerInfo {
  peerId: string;
  displayName: string;
  region: string;
}

/** An RTCIceServer as the browser's RTCPeerConnection takes it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface JoinResponse {
  peerId: string;
  region: string;
  nodeId: string;
  peers: PeerInfo[];
  /** STUN/TURN servers for this peer's transports (turn.* config); TURN credentials minted for this join. */
  iceServers: IceServer[];
  /** The room's current dominant speaker (on any node), so a late joiner sees it at once. */
  activeSpeaker: string | null;
  /** The room's last-N (rooms.lastN): above this many video publishers, video is forwarded by speaker order. */
  lastN: number;
}

export interface TransportResponse {
  transportId: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface Notifications {
  peerJoined: PeerInfo;
  peerLeft: { peerId: string };
  newConsumer: {
    consumerId: string;
    producerId: string;
    peerId: string;
    kind: 'audio' | 'video';
    rtpParameters: unknown;
    type: string;
    producerPaused: boolean;
    source: string;
    /**
     * Only for media relayed from another region node: that relay path's round-trip time (ms;
     * 0 while not yet measured). A packet lost between nodes is repaired (NACK, RTX) about one
     * such RTT later; the client may let its jitter buffer wait that long while it sees losses.
     */
    relayRttMs?: number;
  };
  /** The relay path of a relayed consumer changed its RTT much (or was measured first). */
  consumerRelayRtt: { consumerId: string; relayRttMs: number };
  producerClosed: { producerId: string; consumerId: string };
  producerPaused: { producerId: string; consumerId: string };
  producerResumed: { producerId: string; consumerId: string };
  consumerLayersChanged: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
  activeSpeaker: { peerId: string | null };
  /**
   * Last-N: the peers whose video this peer is forwarded (most recent speakers, its pins and its
   * page); null: everyone's (the room has no more than last-N video publishers). Video of the
   * others stays paused on the server: show an avatar, not a frozen frame.
   */
  forwardedPeers: { peerIds: string[] | null };
  /**
   * Dynacast, to a publisher: the highest spatial layer of this producer anyone (on any node)
   * watches; -1 when nobody does. The client keeps encodings 0..max active and switches the
   * others off with RTCRtpSender.setParameters. Ignoring it costs only its own uplink: layers
   * nobody needs are not forwarded anyway.
   */
  producerDemand: { producerId: string; maxSpatialLayer: number };
  chat: { peerId: string; displayName: string; text: string; ts: number };
  /** The node lost the media state of this room (a worker died): join again. */
  rejoin: { reason: string };
}

export type NotificationName = keyof Notifications;

export type ServerMessage =
  | { id: RequestId | null; ok: true; data: unknown }
  | { id: RequestId | null; ok: false; error: { code: string; message: string } }
  | { notification: NotificationName; data: unknown };

/** A notification frame as the server sends it. */
export function encodeNotification<N extends NotificationName>(name: N, data: Notifications[N]): string {
  return JSON.stringify({ notification: name, data });
}
