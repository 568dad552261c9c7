import type { OctomeshClient } from '../sdk/OctomeshClient.js';

// Last-N in the app (#12): tells the node whose video this page shows (its pins and the peers on
// its current grid page: setView) and marks the tiles of peers whose video the node does not
// forward, so they show a placeholder or avatar, not a frozen frame.

export interface LastNGrid {
  /** Peer ids on the grid page shown now (every remote tile when the grid has one page). */
  page(): string[];
  /** Pinned peer ids (at most 9); none by default. */
  pinned?(): string[];
  /** Every remote tile now, to mark: [peerId, tile element]. */
  tiles(): [string, HTMLElement][];
}

/** Returns `viewChanged`, for the app to call when its page or pins change (peers joining and leaving are followed here). */
export function followLastN(client: OctomeshClient, grid: LastNGrid): { viewChanged(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const viewChanged = (): void => {
    clearTimeout(timer); // a join announces every peer at once, a re-flow moves many: one request
    timer = setTimeout(() => {
      const view = { pinned: (grid.pinned?.() ?? []).slice(0, 9), page: grid.page().slice(0, 100) };
      client.setView(view).catch((err: unknown) => console.warn('octomesh: setView', err));
    }, 100);
  };
  const mark = (): void => {
    for (const [id, root] of grid.tiles()) root.classList.toggle('not-forwarded', !client.isForwarded(id));
  };
  client.on('peerJoined', () => {
    viewChanged();
    mark();
  });
  client.on('peerLeft', viewChanged);
  client.on('forwardedPeersChanged', mark);
  return { viewChanged };
}
