import type { OctomeshClient } from '../sdk/OctomeshClient.js';

// The one place a remote video element is handed to the SDK and taken back: adaptive stream
// (client.attachVideo / detachVideo) watches the element's size and visibility and asks the
// server for the layer that fits, pausing it while it is off screen or on another page.

/** A remote video consumer is now drawn in `el`. Call it while handling 'consumer'. */
export function onVideoTile(client: OctomeshClient, consumerId: string, el: HTMLVideoElement): void {
  client.attachVideo(consumerId, el);
}

/** The consumer's element is gone (tile removed, consumer closed or replaced). */
export function offVideoTile(client: OctomeshClient, consumerId: string): void {
  client.detachVideo(consumerId);
}
