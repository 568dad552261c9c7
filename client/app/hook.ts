import type { ChatMessage, Layers, OctomeshClient, PeerInfo, ReconnectCause, RouteDecision } from '../sdk/OctomeshClient.js';
import type { PreJoinHook } from './PreJoin.js';
import type { LayoutInfo } from './Stage/Stage.js';
import type { TileInfo } from './Tile.js';

// The page's test hook, window.__octomesh: what end-to-end tests and the lab read.

export type AppState = 'joining' | 'joined' | 'reconnecting' | 'left' | 'error';

export interface ChatEntry extends ChatMessage {
  self: boolean;
}

export interface ConsumerSummary {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: string;
  currentLayers: Layers | null;
}

export interface OctomeshHook {
  client: OctomeshClient;
  state: AppState;
  error?: string;
  /** The server's stable code for `error` (e.g. `unauthorized`), when it came from the server. */
  errorCode?: string;
  region: string | null;
  nodeId: string | null;
  peerId: string | null;
  /** How the node was chosen: GeoIP, a faster RTT probe, or a pinned region. */
  route: RouteDecision | null;
  /** What the page tells the person about a connection problem (null: none shown). */
  notice: string | null;
  /** Rejoins scheduled so far, with their causes, oldest first. */
  reconnects: { cause: ReconnectCause; reason: string; delayMs: number }[];
  peers(): PeerInfo[];
  consumers(): ConsumerSummary[];
  inboundStats(): Promise<InboundStats>;
  videoStats(): Promise<ConsumerVideoStats[]>;
  iceRoutes(): Promise<{ send: IceRoute | null; recv: IceRoute | null }>;
  chatLog: ChatEntry[];
  layout(): LayoutInfo;
  tiles(): TileInfo[];
}

declare global {
  interface Window {
    __octomesh?: OctomeshHook | PreJoinHook;
  }
}

type Inbound = Partial<RTCInboundRtpStreamStats> & { type: string };

export interface InboundStats {
  audio: { packets: number; bytes: number };
  video: { framesDecoded: number; bytes: number; frameWidth: number };
}

/** Sums over every inbound RTP stream of the receiving PeerConnection (frameWidth: the widest). */
export async function inboundStats(client: OctomeshClient): Promise<InboundStats> {
  const out: InboundStats = { audio: { packets: 0, bytes: 0 }, video: { framesDecoded: 0, bytes: 0, frameWidth: 0 } };
  const report = await client.getRecvStats();
  report?.forEach((s: Inbound) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'audio') {
      out.audio.packets += s.packetsReceived ?? 0;
      out.audio.bytes += s.bytesReceived ?? 0;
    } else if (s.kind === 'video') {
      out.video.framesDecoded += s.framesDecoded ?? 0;
      out.video.bytes += s.bytesReceived ?? 0;
      out.video.frameWidth = Math.max(out.video.frameWidth, s.frameWidth ?? 0);
    }
  });
  return out;
}

/** One video consumer as decoded (inbound-rtp matched by track). */
export interface ConsumerVideoStats {
  consumerId: string;
  peerId: string;
  source: string;
  frameWidth: number;
  frameHeight: number;
  framesDecoded: number;
}

export async function videoStats(client: OctomeshClient): Promise<ConsumerVideoStats[]> {
  const report = await client.getRecvStats();
  const byTrack = new Map<string, Inbound>();
  report?.forEach((s: Inbound) => { if (s.type === 'inbound-rtp' && s.kind === 'video' && s.trackIdentifier) byTrack.set(s.trackIdentifier, s); });
  return client.consumers.filter((c) => c.kind === 'video').map((c) => {
    const s = byTrack.get(c.track.id);
    return { consumerId: c.consumerId, peerId: c.peerId, source: c.source, frameWidth: s?.frameWidth ?? 0, frameHeight: s?.frameHeight ?? 0, framesDecoded: s?.framesDecoded ?? 0 };
  });
}

/** The candidate pair ICE selected: 'relay' on the local side means the media goes through TURN. */
export interface IceRoute {
  local: string;
  remote: string;
  relayProtocol: string | null;
}

export function iceRoute(report: RTCStatsReport | null): IceRoute | null {
  let pairId: string | undefined;
  report?.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? (report!.get(pairId) as RTCIceCandidatePairStats | undefined) : undefined;
  if (!pair) return null;
  const local = report!.get(pair.localCandidateId) as { candidateType?: string; relayProtocol?: string } | undefined;
  const remote = report!.get(pair.remoteCandidateId) as { candidateType?: string } | undefined;
  return { local: local?.candidateType ?? '', remote: remote?.candidateType ?? '', relayProtocol: local?.relayProtocol ?? null };
}
