import { forwardedPeers, sameSet } from './demandPolicy.js';

/**
 * Last-N state of one room on this node (Jitsi Videobridge's last-N): the speaker order of the
 * whole room (peers on every node, most recent speaker first, the silent in the order they
 * joined), each local peer's pins and page, and the set each local peer is forwarded. The Room
 * feeds it events and asks `recompute` which peers' sets changed.
 */
export class LastN {
  readonly n: number;
  /** Most recent speaker first. */
  #order: string[] = [];
  readonly #views = new Map<string, { pinned: string[]; page: string[] }>();
  readonly #forwarded = new Map<string, Set<string> | null>();

  constructor(n: number) {
    this.n = n;
  }

  joined(peerId: string): void {
    if (!this.#order.includes(peerId)) this.#order.push(peerId);
  }

  left(peerId: string): void {
    this.#order = this.#order.filter((p) => p !== peerId);
    this.#views.delete(peerId);
    this.#forwarded.delete(peerId);
  }

  spoke(peerId: string): void {
    this.#order = [peerId, ...this.#order.filter((p) => p !== peerId)];
  }

  setView(peerId: string, pinned: string[], page: string[]): void {
    this.#views.set(peerId, { pinned, page });
  }

  /** Whose video `peerId` is forwarded now (null: everyone's). */
  forwardedTo(peerId: string): Set<string> | null {
    return this.#forwarded.get(peerId) ?? null;
  }

  isForwarded(watcher: string, publisher: string): boolean {
    const set = this.forwardedTo(watcher);
    return set === null || set.has(publisher);
  }

  /**
   * Recomputes every local peer's set against the room's camera publishers (any node); returns
   * the peers whose set changed, with the new set.
   */
  recompute(localPeers: Iterable<string>, hasCamera: (peerId: string) => boolean): Map<string, Set<string> | null> {
    const publishers = this.#order.filter(hasCamera);
    const changed = new Map<string, Set<string> | null>();
    for (const peerId of localPeers) {
      const view = this.#views.get(peerId) ?? { pinned: [], page: [] };
      const next = forwardedPeers(peerId, publishers, this.n, view.pinned, view.page);
      const before = this.#forwarded.has(peerId) ? this.#forwarded.get(peerId)! : null;
      this.#forwarded.set(peerId, next);
      if (!sameSet(before, next)) changed.set(peerId, next);
    }
    return changed;
  }
}
