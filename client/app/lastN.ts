import type { OctomeshClient } from '../sdk/OctomeshClient.js';

// Last-N in the app (#12): the grid has one page, so every tile is on it and the node forwards
// everyone's video up to 100 peers; a peer whose video the node does not forward shows its
// placeholder ('not-forwarded'), not a frozen frame.

/** `tiles` lists the remote tiles now: [peerId, tile element]. */
export function followLastN(client: OctomeshClient, tiles: () => [string, HTMLElement][]): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sendView = (): void => {
    clearTimeout(timer); // a join announces every peer at once: one request
    timer = setTimeout(() => {
      const page = tiles().map(([id]) => id).slice(0, 100);
      client.setView({ pinned: [], page }).catch((err: unknown) => console.warn('octomesh: setView', err));
    }, 100);
  };
  const mark = (): void => {
    for (const [id, root] of tiles()) root.classList.toggle('not-forwarded', !client.isForwarded(id));
  };
  client.on('peerJoined', () => {
    sendView();
    mark();
  });
  client.on('peerLeft', sendView);
  client.on('forwardedPeersChanged', mark);
}
