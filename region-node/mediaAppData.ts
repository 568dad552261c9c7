import type { types } from 'mediasoup';
import type { PeerId } from '../core/ids.js';

// What this node keeps on mediasoup's own objects (their appData), read where those objects travel.

export interface ProducerAppData extends types.AppData {
  peerId: PeerId;
  source: string;
  /** Set on pipe producers: the node the media comes from. */
  remoteNode?: string;
  /** Video: each spatial layer's height, lowest first (demandPolicy.layerHeights). */
  layerHeights?: number[];
}

/** What a consumer keeps about its producer's path (set on consumers of pipe producers only). */
export interface ConsumerAppData extends types.AppData {
  peerId: PeerId;
  /** The relay link the media crosses, and the RTT last told to the client for it. */
  remoteNode?: string;
  relayRttMs?: number;
}
