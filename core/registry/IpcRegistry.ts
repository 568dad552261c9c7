import type { NodeId, RoomId } from '../ids.js';
import type { NodeRecord, Registry, Unsubscribe } from './Registry.js';

// A child process's view of the registry its parent owns (the local cluster): every call is a
// request over the Node IPC channel answered by serveRegistry() in the parent, and watches are
// callbacks the parent pushes. It behaves like a remote catalog (Consul) would: calls can fail
// or time out, so nothing here assumes the other side is alive.

/** One end of a Node IPC channel: `process` in a forked child, the ChildProcess in its parent. */
export interface IpcEndpoint {
  send?: ((message: object, callback: (error: Error | null) => void) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Marks our messages, so other traffic on the same channel is left alone. */
export const REGISTRY_IPC_TAG = 'octomesh.registry';

/** The calls a child may make; anything else (close() in particular) stays with the parent. */
export const REGISTRY_IPC_METHODS = ['registerNode', 'updateNode', 'deregisterNode', 'nodes', 'addRoomPresence', 'removeRoomPresence', 'roomNodes'] as const;
export type RegistryIpcMethod = (typeof REGISTRY_IPC_METHODS)[number];

type Tagged<T> = T & { tag: typeof REGISTRY_IPC_TAG };

export type RegistryRequest = Tagged<
  | { kind: 'call'; id: number; method: RegistryIpcMethod; args: unknown[] }
  | { kind: 'watchNodes'; watchId: number }
  | { kind: 'watchRoom'; watchId: number; room: string }
  | { kind: 'unwatch'; watchId: number }
>;

export type RegistryReply = Tagged<
  | { kind: 'result'; id: number; ok: true; value?: unknown }
  | { kind: 'result'; id: number; ok: false; error: string }
  | { kind: 'watch'; watchId: number; value: unknown }
>;

export function isRegistryMessage(m: unknown): m is { tag: typeof REGISTRY_IPC_TAG; kind: string } {
  return typeof m === 'object' && m !== null && (m as { tag?: unknown }).tag === REGISTRY_IPC_TAG;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class IpcRegistry implements Registry {
  readonly #endpoint: IpcEndpoint;
  readonly #send: NonNullable<IpcEndpoint['send']>;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #watches = new Map<number, (value: unknown) => void>();
  #nextId = 1;
  #closed = false;

  constructor(endpoint: IpcEndpoint, options: { timeoutMs?: number } = {}) {
    if (typeof endpoint.send !== 'function') throw new Error('IpcRegistry needs an IPC channel (a process started with fork)');
    this.#endpoint = endpoint;
    this.#send = endpoint.send.bind(endpoint);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    endpoint.on('message', this.#onMessage);
  }

  registerNode(record: NodeRecord): Promise<void> {
    return this.#call('registerNode', [record]);
  }

  updateNode(id: NodeId, patch: Partial<Pick<NodeRecord, 'load' | 'draining'>>): Promise<void> {
    return this.#call('updateNode', [id, patch]);
  }

  deregisterNode(id: NodeId): Promise<void> {
    return this.#call('deregisterNode', [id]);
  }

  nodes(): Promise<NodeRecord[]> {
    return this.#call('nodes', []);
  }

  watchNodes(cb: (nodes: NodeRecord[]) => void): Unsubscribe {
    return this.#watch((watchId) => ({ tag: REGISTRY_IPC_TAG, kind: 'watchNodes', watchId }), cb as (v: unknown) => void);
  }

  addRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    return this.#call('addRoomPresence', [room, node]);
  }

  removeRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    return this.#call('removeRoomPresence', [room, node]);
  }

  roomNodes(room: RoomId): Promise<NodeId[]> {
    return this.#call('roomNodes', [room]);
  }

  watchRoom(room: RoomId, cb: (nodes: NodeId[]) => void): Unsubscribe {
    return this.#watch((watchId) => ({ tag: REGISTRY_IPC_TAG, kind: 'watchRoom', watchId, room }), cb as (v: unknown) => void);
  }

  /**
   * Fails what is still waiting and stops listening. Requests already handed to the channel
   * (a last deregisterNode) still reach the parent. Without close() the 'message' listener
   * keeps the channel, and so the child process, alive.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endpoint.off('message', this.#onMessage);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('registry closed'));
    }
    this.#pending.clear();
    this.#watches.clear();
  }

  #call<T>(method: RegistryIpcMethod, args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('registry closed'));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`registry ${method}: no answer from the parent process in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      // A pending call must not be what keeps a finished process running.
      timer.unref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#post({ tag: REGISTRY_IPC_TAG, kind: 'call', id, method, args }, (err) => this.#settle(id, err));
    });
  }

  #watch(request: (watchId: number) => RegistryRequest, cb: (value: unknown) => void): Unsubscribe {
    if (this.#closed) return () => undefined;
    const watchId = this.#nextId++;
    this.#watches.set(watchId, cb);
    this.#post(request(watchId), () => this.#watches.delete(watchId));
    return () => {
      if (!this.#watches.delete(watchId) || this.#closed) return;
      this.#post({ tag: REGISTRY_IPC_TAG, kind: 'unwatch', watchId }, () => undefined);
    };
  }

  #post(message: RegistryRequest, onError: (err: Error) => void): void {
    try {
      this.#send(message, (err) => err && onError(err));
    } catch (err) {
      onError(err as Error);
    }
  }

  #settle(id: number, err: Error): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.reject(new Error(`registry: cannot reach the parent process: ${err.message}`));
  }

  readonly #onMessage = (message: unknown): void => {
    if (!isRegistryMessage(message)) return;
    const m = message as RegistryReply;
    if (m.kind === 'watch') {
      // An update already on its way when the watch was cancelled finds no callback: dropped.
      this.#watches.get(m.watchId)?.(m.value);
      return;
    }
    if (m.kind !== 'result') return;
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  };
}
