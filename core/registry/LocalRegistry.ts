import type { NodeId, RoomId } from '../ids.js';
import type { NodeRecord, Registry, Unsubscribe } from './Registry.js';

/**
 * The embedded registry: everything in memory, in one process. The local cluster's parent
 * owns one and its child nodes reach it over IPC (IpcRegistry); tests share one instance
 * between several in-process nodes. Watch callbacks run on a microtask, never inside the
 * caller's own call, as a Consul blocking query would answer later too.
 */
export class LocalRegistry implements Registry {
  readonly #nodes = new Map<NodeId, NodeRecord>();
  readonly #rooms = new Map<RoomId, Set<NodeId>>();
  readonly #nodeWatchers = new Set<(nodes: NodeRecord[]) => void>();
  readonly #roomWatchers = new Map<RoomId, Set<(nodes: NodeId[]) => void>>();
  #closed = false;

  async registerNode(record: NodeRecord): Promise<void> {
    this.#nodes.set(record.id, structuredClone(record));
    this.#nodesChanged();
  }

  async updateNode(id: NodeId, patch: Partial<Pick<NodeRecord, 'load' | 'draining'>>): Promise<void> {
    const n = this.#nodes.get(id);
    if (!n) return;
    Object.assign(n, structuredClone(patch));
    this.#nodesChanged();
  }

  async deregisterNode(id: NodeId): Promise<void> {
    if (!this.#nodes.delete(id)) return;
    // Like a Consul session tied to the node's check: its room presence goes with it.
    for (const [room, set] of this.#rooms) if (set.delete(id)) this.#roomChanged(room);
    this.#nodesChanged();
  }

  async nodes(): Promise<NodeRecord[]> {
    return this.#snapshot();
  }

  watchNodes(cb: (nodes: NodeRecord[]) => void): Unsubscribe {
    this.#nodeWatchers.add(cb);
    queueMicrotask(() => this.#nodeWatchers.has(cb) && this.#call(cb, this.#snapshot()));
    return () => this.#nodeWatchers.delete(cb);
  }

  async addRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    if (!this.#nodes.has(node)) throw new Error(`node ${node} is not registered`);
    let set = this.#rooms.get(room);
    if (!set) this.#rooms.set(room, (set = new Set()));
    if (set.has(node)) return;
    set.add(node);
    this.#roomChanged(room);
  }

  async removeRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    const set = this.#rooms.get(room);
    if (!set?.delete(node)) return;
    if (set.size === 0) this.#rooms.delete(room);
    this.#roomChanged(room);
  }

  async roomNodes(room: RoomId): Promise<NodeId[]> {
    return [...(this.#rooms.get(room) ?? [])];
  }

  watchRoom(room: RoomId, cb: (nodes: NodeId[]) => void): Unsubscribe {
    let set = this.#roomWatchers.get(room);
    if (!set) this.#roomWatchers.set(room, (set = new Set()));
    set.add(cb);
    queueMicrotask(() => set.has(cb) && this.#call(cb, [...(this.#rooms.get(room) ?? [])]));
    return () => {
      set.delete(cb);
      if (set.size === 0 && this.#roomWatchers.get(room) === set) this.#roomWatchers.delete(room);
    };
  }

  close(): void {
    this.#closed = true;
    this.#nodeWatchers.clear();
    this.#roomWatchers.clear();
  }

  /** A watcher that throws must not stop the others or escape as an uncaught exception. */
  #call<T>(cb: (v: T) => void, v: T): void {
    try {
      cb(v);
    } catch (err) {
      console.error('registry watch callback threw', err);
    }
  }

  #snapshot(): NodeRecord[] {
    return [...this.#nodes.values()].map((n) => structuredClone(n));
  }

  #nodesChanged(): void {
    if (this.#closed) return;
    queueMicrotask(() => {
      const snap = this.#snapshot();
      for (const cb of this.#nodeWatchers) this.#call(cb, snap);
    });
  }

  #roomChanged(room: RoomId): void {
    if (this.#closed) return;
    queueMicrotask(() => {
      const nodes = [...(this.#rooms.get(room) ?? [])];
      for (const cb of this.#roomWatchers.get(room) ?? []) this.#call(cb, nodes);
    });
  }
}
