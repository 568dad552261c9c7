import type { Signaling } from './Signaling.js';

// Last-N on the client: the view the app declares (the peers it pins and those on its current
// page of the grid), sent to the node, and the node's answer, whose video is forwarded. The
// others' video stays paused on the server: the app shows an avatar for them, not a frozen frame.

/** What setView takes (core/protocol.ts: at most 9 pins and 100 on a page). */
export interface PageView {
  pinned: string[];
  page: string[];
}

export const MAX_PINNED = 9;
export const MAX_PAGE = 100;

/** Duplicates dropped, order kept; TypeError beyond the protocol's bounds. */
export function normalizeView(view: PageView): PageView {
  const pinned = [...new Set(view.pinned)];
  const page = [...new Set(view.page)];
  if (pinned.length > MAX_PINNED) throw new TypeError(`setView: at most ${MAX_PINNED} pinned peers (got ${pinned.length})`);
  if (page.length > MAX_PAGE) throw new TypeError(`setView: at most ${MAX_PAGE} peers on a page (got ${page.length})`);
  return { pinned, page };
}

/** Same peers pinned and on the page, in any order. */
export function sameView(a: PageView | null, b: PageView | null): boolean {
  if (!a || !b) return a === b;
  const same = (x: string[], y: string[]): boolean => x.length === y.length && x.every((id) => y.includes(id));
  return same(a.pinned, b.pinned) && same(a.page, b.page);
}

/** Owned by OctomeshClient: the declared view outlives sessions (re-sent after a rejoin); what is forwarded does not. */
export class LastN {
  #view: PageView | null = null;
  /** The view the current session's node has (null: nothing sent on this session). */
  #sent: PageView | null = null;
  #forwarded: ReadonlySet<string> | null = null;
  #sig: Signaling | null = null;

  get view(): PageView | null {
    return this.#view;
  }

  /** null: everyone's video is forwarded (the room has no more video publishers than last-N). */
  get forwarded(): string[] | null {
    return this.#forwarded ? [...this.#forwarded] : null;
  }

  isForwarded(peerId: string): boolean {
    return this.#forwarded === null || this.#forwarded.has(peerId);
  }

  /** Records the app's view and tells the current session's node, unless it has it already. */
  declare(view: PageView): Promise<void> {
    this.#view = normalizeView(view);
    return this.#flush();
  }

  /** A session joined: its node hears the declared view, if any (it outlives sessions). */
  bind(sig: Signaling): void {
    this.#sig = sig;
    this.#sent = null;
    this.#flush().catch((err: unknown) => { if (this.#sig === sig) console.warn('octomesh: setView failed', err); });
  }

  async #flush(): Promise<void> {
    const sig = this.#sig;
    const view = this.#view;
    if (!sig || !view || sameView(view, this.#sent)) return;
    this.#sent = view;
    try {
      await sig.request('setView', view);
    } catch (err) {
      if (this.#sent === view) this.#sent = null; // refused (a pin that left, say): the next declare sends again
      throw err;
    }
  }

  /** The node's forwardedPeers; returns whether it changed anything. */
  setForwarded(peerIds: string[] | null): boolean {
    const next = peerIds === null ? null : new Set(peerIds);
    const prev = this.#forwarded;
    if (prev === next || (prev && next && prev.size === next.size && [...next].every((id) => prev.has(id)))) return false;
    this.#forwarded = next;
    return true;
  }

  /** A session ended: the next node has heard nothing yet, and until it says otherwise everyone is forwarded. Returns whether `forwarded` changed. */
  sessionEnded(): boolean {
    this.#sig = null;
    this.#sent = null;
    return this.setForwarded(null);
  }
}
