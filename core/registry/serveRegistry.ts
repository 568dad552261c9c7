import type { NodeId, RoomId } from '../ids.js';
import {
  isRegistryMessage,
  REGISTRY_IPC_METHODS,
  REGISTRY_IPC_TAG,
  type IpcEndpoint,
  type RegistryReply,
  type RegistryRequest,
} from './IpcRegistry.js';
import type { NodeRecord, Registry, Unsubscribe } from './Registry.js';

/** The parent's handle on a forked child: its IPC end plus the exit event. */
export interface ServedChild extends IpcEndpoint {
  readonly connected: boolean;
  once(event: 'exit', listener: () => void): unknown;
}

export interface ServedRegistry {
  /** Nodes this child has registered and not deregistered. */
  readonly nodes: ReadonlySet<NodeId>;
  /** Stops answering this child and drops its watches (its nodes stay registered). */
  stop(): void;
}

/**
 * The parent's side of IpcRegistry: answers one child's calls against `registry` and pushes its
 * watch callbacks. A child's registrations live as long as the child, like a Consul session
 * bound to the node's health check: when it exits, however it dies, its nodes are deregistered
 * (and with them its room presence) and its watches are dropped.
 */
export function serveRegistry(child: ServedChild, registry: Registry): ServedRegistry {
  const watches = new Map<number, Unsubscribe>();
  const nodes = new Set<NodeId>();
  let stopped = false;
  let exited = false;

  const reply = (message: RegistryReply): void => {
    // A reply to a child that is gone has nobody to read it; the exit handler cleans up.
    if (stopped || !child.connected || !child.send) return;
    try {
      child.send(message, () => undefined);
    } catch {
      // channel closed between the check and the send
    }
  };

  const call = async (m: Extract<RegistryRequest, { kind: 'call' }>): Promise<void> => {
    if (!(REGISTRY_IPC_METHODS as readonly string[]).includes(m.method) || !Array.isArray(m.args)) {
      reply({ tag: REGISTRY_IPC_TAG, kind: 'result', id: m.id, ok: false, error: `registry: unknown call ${String(m.method)}` });
      return;
    }
    try {
      const fn = registry[m.method] as (...args: unknown[]) => Promise<unknown>;
      const value = await fn.apply(registry, m.args);
      if (m.method === 'registerNode') {
        const id = (m.args[0] as NodeRecord).id;
        // The child may have died while this call was under way: its registration must not
        // outlive it.
        if (exited) await registry.deregisterNode(id);
        else nodes.add(id);
      }
      if (m.method === 'deregisterNode') nodes.delete(m.args[0] as NodeId);
      reply({ tag: REGISTRY_IPC_TAG, kind: 'result', id: m.id, ok: true, value });
    } catch (err) {
      reply({ tag: REGISTRY_IPC_TAG, kind: 'result', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  };

  const watch = (watchId: number, subscribe: (cb: (value: unknown) => void) => Unsubscribe): void => {
    if (watches.has(watchId)) return;
    watches.set(watchId, subscribe((value) => reply({ tag: REGISTRY_IPC_TAG, kind: 'watch', watchId, value })));
  };

  const onMessage = (message: unknown): void => {
    if (stopped || !isRegistryMessage(message)) return;
    const m = message as RegistryRequest;
    switch (m.kind) {
      case 'call':
        void call(m);
        break;
      case 'watchNodes':
        watch(m.watchId, (cb) => registry.watchNodes(cb));
        break;
      case 'watchRoom':
        if (typeof m.room === 'string') watch(m.watchId, (cb) => registry.watchRoom(m.room as RoomId, cb));
        break;
      case 'unwatch':
        watches.get(m.watchId)?.();
        watches.delete(m.watchId);
        break;
    }
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    child.off('message', onMessage);
    for (const unsubscribe of watches.values()) unsubscribe();
    watches.clear();
  };

  child.on('message', onMessage);
  child.once('exit', () => {
    exited = true;
    stop();
    for (const id of nodes) void registry.deregisterNode(id).catch(() => undefined);
    nodes.clear();
  });
  return { nodes, stop };
}
