// Pure rules of demand: which layer a tile needs, what a node's watchers of one stream need in
// all, whose video last-N forwards. No mediasoup objects here, so each rule is a table test.

/** What one consumer's client asks for. */
export interface Wants {
  /** Paused by its client (tile off screen, hidden tab; and every consumer until the client's first resume). */
  clientPaused: boolean;
  /** Last-N: the producer's peer is forwarded to this consumer's peer (always true for audio and screens). */
  forwarded: boolean;
  /** The spatial layer its client needs; null: no view declared, the top layer (what bandwidth allows). */
  spatialLayer: number | null;
}

/** Paused consumers are not demand, wherever they are. */
export function isDemand(w: Wants): boolean {
  return !w.clientPaused && w.forwarded;
}

/** Without a declared capture height, the ladder the SDK's simulcast encodings give a 720p camera. */
export const DEFAULT_VIDEO_HEIGHT = 720;

/**
 * The height of each spatial layer, lowest first: the captured height divided by each encoding's
 * scaleResolutionDownBy (browsers' default for simulcast: 2^(n-1-i), the top one unscaled).
 */
export function layerHeights(encodings: readonly { scaleResolutionDownBy?: number }[], videoHeight = DEFAULT_VIDEO_HEIGHT): number[] {
  const n = Math.max(1, encodings.length);
  return Array.from({ length: n }, (_, i) => {
    const scale = encodings[i]?.scaleResolutionDownBy ?? 2 ** (n - 1 - i);
    return Math.round(videoHeight / Math.max(1, scale));
  });
}

/**
 * A tile drawn `width`×`height` device pixels needs the smallest layer at least about as tall as
 * the picture it shows. The video is 16:9 (cropped to cover the tile), so a wide tile needs the
 * height its width implies. 10 % short still counts as covering: a 180p layer in a 192 px tall
 * tile is not worth the next layer's 2-3× bitrate.
 */
export function spatialLayerFor(heights: readonly number[], width: number, height: number): number {
  const need = Math.max(height, (width * 9) / 16) * 0.9;
  for (let i = 0; i < heights.length; i++) if (heights[i]! >= need) return i;
  return Math.max(0, heights.length - 1);
}

/**
 * What a node's watchers of one stream need, as a bitmask of spatial layers (bit i = layer i):
 * for each resumed, forwarded watcher, its layer (the top one, `layers - 1`, when it declared
 * none) and every layer below it, the steps its bandwidth estimate can drop to. 0: nobody
 * watches; the stream need not flow at all. (Its layer and layer 0 alone were tried first: in
 * the lab a receiver throttled to 600 kbit/s then had only layer 0 or a top layer it could not
 * take, and oscillated between them at 17-28 % loss and 27 s of freezes a minute.)
 */
export function demandMask(wants: Iterable<Wants>, layers: number): number {
  const top = Math.max(0, layers - 1);
  let mask = 0;
  for (const w of wants) {
    if (!isDemand(w)) continue;
    mask |= (2 << Math.min(top, w.spatialLayer ?? top)) - 1;
  }
  return mask;
}

/** Above this many videos flowing to one peer, its smallest ones come at half the frame rate. */
export const CROWDED_VIEW = 9;

/**
 * The temporal layer for one of a peer's videos (undefined: all of them, the full frame rate).
 * In a crowded view (a grid of more than CROWDED_VIEW videos) a tile on the smallest spatial
 * layer gets the lower temporal layers only: 15 of 30 fps with three temporal layers, about 60 %
 * of that layer's bitrate (WebRTC's VP8 L1T3 split is 40/20/40 %). Twenty-five such tiles then
 * fit a 2.5 Mbit/s downlink; a thumbnail's motion at 15 fps is hard to tell from 30. (Our own
 * rule: LiveKit's adaptive stream picks only the resolution.)
 */
export function temporalLayerFor(flowing: number, spatialLayer: number, temporalLayers: number): number | undefined {
  if (flowing <= CROWDED_VIEW || spatialLayer > 0 || temporalLayers < 2) return undefined;
  return temporalLayers - 2;
}

/** The highest layer in a mask; -1 for none. */
export function highestLayer(mask: number): number {
  return mask === 0 ? -1 : 31 - Math.clz32(mask);
}

/**
 * Last-N for one peer: whose video it is forwarded. `publishers` are the peers with camera video
 * (on any node) in speaker order, most recent first (peers who never spoke follow, by join).
 * Up to `lastN` publishers everyone is forwarded (null). Above, the first `lastN` others in that
 * order, plus the peer's pins and its page. The peer's own video never counts against N.
 */
export function forwardedPeers(self: string, publishers: readonly string[], lastN: number, pinned: readonly string[], page: readonly string[]): Set<string> | null {
  const others = publishers.filter((p) => p !== self);
  if (others.length <= lastN) return null;
  const out = new Set(others.slice(0, lastN));
  const present = new Set(others);
  for (const p of [...pinned, ...page]) if (present.has(p)) out.add(p);
  return out;
}

export function sameSet(a: Set<string> | null, b: Set<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
