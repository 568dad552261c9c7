import type { OctomeshClient } from '../sdk/OctomeshClient.js';

// The one place a remote video element is handed to the SDK and taken back: adaptive stream
// (client.attachVideo / detachVideo) watches the element's size and visibility and asks the
// server for the layer that fits. Until the SDK has it, nothing happens here.

type AdaptiveClient = OctomeshClient & {
  attachVideo?: (consumerId: string, el: HTMLVideoElement) => void;
  detachVideo?: (consumerId: string) => void;
};

/** A remote video consumer is now drawn in `el`. */
export function onVideoTile(client: OctomeshClient, consumerId: string, el: HTMLVideoElement): void {
  const c = client as AdaptiveClient;
  if (typeof c.attachVideo === 'function') c.attachVideo(consumerId, el);
}

/** The consumer's element is gone (tile removed, consumer closed or replaced). */
export function offVideoTile(client: OctomeshClient, consumerId: string): void {
  const c = client as AdaptiveClient;
  if (typeof c.detachVideo === 'function') c.detachVideo(consumerId);
}
