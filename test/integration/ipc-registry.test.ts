import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { asNodeId, asRoomId, type NodeId } from '../../core/ids.js';
import { IpcRegistry } from '../../core/registry/IpcRegistry.js';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { serveRegistry, type ServedRegistry } from '../../core/registry/serveRegistry.js';
import { eventually } from '../helpers/node.js';
import { testRecord } from '../helpers/records.js';

// The local cluster's registry across a real process boundary: a forked child drives an
// IpcRegistry (test/helpers/registryChild.ts) against the LocalRegistry this process owns.

const CHILD_SCRIPT = fileURLToPath(new URL('../helpers/registryChild.js', import.meta.url));

const record = (id: string, pid = 0): NodeRecord => testRecord(id, 'eu-west', pid);

interface ChildEvent {
  event: string;
  room?: string;
  nodes?: unknown[];
}

/** A forked registryChild: commands out, replies and watch events back. */
class Driver {
  readonly proc: ChildProcess;
  readonly served: ServedRegistry;
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(registry: LocalRegistry, env: Record<string, string> = {}) {
    this.proc = fork(CHILD_SCRIPT, [], { execArgv: [], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.served = serveRegistry(this.proc, registry);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.proc.on('message', (m: { reply?: number; ok?: boolean; value?: unknown; error?: string } & ChildEvent) => {
      if (typeof m.reply === 'number') {
        const w = this.#waiting.get(m.reply);
        this.#waiting.delete(m.reply);
        if (m.ok) w?.resolve(m.value);
        else w?.reject(new Error(m.error));
      } else if (typeof m.event === 'string') this.events.push(m);
    });
  }

  ready(): Promise<void> {
    return eventually(() => this.events.some((e) => e.event === 'ready'), 'child ready');
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  roomEvents(room: string): unknown[][] {
    return this.events.filter((e) => e.event === 'room' && e.room === room).map((e) => e.nodes!);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

const ids = (nodes: readonly NodeRecord[]): NodeId[] => nodes.map((n) => n.id).sort();

describe('IpcRegistry <-> serveRegistry over a real IPC channel', () => {
  const drivers: Driver[] = [];
  const start = async (registry: LocalRegistry, env?: Record<string, string>): Promise<Driver> => {
    const d = new Driver(registry, env);
    drivers.push(d);
    await d.ready();
    return d;
  };
  after(() => drivers.forEach((d) => d.kill()));

  it('registers, updates, reads nodes and room presence from the child', async () => {
    const registry = new LocalRegistry();
    const child = await start(registry);
    await child.call('register', { record: record('child-1', child.proc.pid) });
    assert.deepEqual(ids(await registry.nodes()), ['child-1']);
    assert.equal((await registry.nodes())[0]!.pid, child.proc.pid);
    assert.deepEqual([...child.served.nodes], ['child-1']);

    await child.call('update', { node: 'child-1', patch: { draining: true, load: { peers: 3, rooms: 1, consumers: 6, cpu: 0.5 } } });
    const [n] = await registry.nodes();
    assert.equal(n!.draining, true);
    assert.equal(n!.load.peers, 3);

    await child.call('addRoom', { room: 'r1', node: 'child-1' });
    assert.deepEqual(await registry.roomNodes(asRoomId('r1')), ['child-1']);
    assert.deepEqual(await child.call('roomNodes', { room: 'r1' }), ['child-1']);
    assert.deepEqual(ids(await child.call<NodeRecord[]>('nodes')), ['child-1']);

    // Errors thrown by the parent's registry reach the child's caller as rejections.
    await assert.rejects(child.call('addRoom', { room: 'r1', node: 'nobody' }), /nobody is not registered/);

    await child.call('removeRoom', { room: 'r1', node: 'child-1' });
    assert.deepEqual(await registry.roomNodes(asRoomId('r1')), []);
    await child.call('deregister', { node: 'child-1' });
    assert.deepEqual(await registry.nodes(), []);
    assert.equal(child.served.nodes.size, 0);
  });

  it('delivers watchRoom and watchNodes callbacks across the process boundary, and stops after unwatch', async () => {
    const registry = new LocalRegistry();
    const child = await start(registry);
    await child.call('register', { record: record('child-1') });
    await child.call('watchRoom', { room: 'r2' });
    await eventually(() => child.roomEvents('r2').length === 1, 'initial watchRoom callback');
    assert.deepEqual(child.roomEvents('r2')[0], []);

    // A change made in the parent reaches the child's callback...
    await registry.registerNode(record('parent-node'));
    await registry.addRoomPresence(asRoomId('r2'), asNodeId('parent-node'));
    await eventually(() => child.roomEvents('r2').some((n) => n.length === 1 && n[0] === 'parent-node'), 'parent presence seen by child');
    // ...and so does one the child makes itself.
    await child.call('addRoom', { room: 'r2', node: 'child-1' });
    await eventually(() => child.roomEvents('r2').some((n) => n.length === 2), 'own presence seen by child');

    await child.call('watchNodes');
    await eventually(() => child.events.some((e) => e.event === 'nodes' && e.nodes!.length === 2), 'watchNodes callback');

    await child.call('unwatchRoom', { room: 'r2' });
    const seen = child.roomEvents('r2').length;
    await registry.removeRoomPresence(asRoomId('r2'), asNodeId('parent-node'));
    // A round trip through the child after the change: any stray callback would be in by now.
    await child.call('roomNodes', { room: 'r2' });
    assert.equal(child.roomEvents('r2').length, seen);
  });

  it('deregisters the child\'s node and its room presence when the child is killed', async () => {
    const registry = new LocalRegistry();
    await registry.registerNode(record('parent-node'));
    const child = await start(registry);
    await child.call('register', { record: record('child-1', child.proc.pid) });
    await child.call('addRoom', { room: 'r3', node: 'child-1' });
    await registry.addRoomPresence(asRoomId('r3'), asNodeId('parent-node'));
    await child.call('watchRoom', { room: 'r3' });

    const roomChanges: NodeId[][] = [];
    registry.watchRoom(asRoomId('r3'), (nodes) => roomChanges.push(nodes));
    child.kill();
    assert.equal((await child.exited).signal, 'SIGKILL');
    await eventually(async () => ids(await registry.nodes()).join() === 'parent-node', 'child node deregistered');
    assert.deepEqual(await registry.roomNodes(asRoomId('r3')), ['parent-node']);
    await eventually(() => roomChanges.some((n) => n.length === 1 && n[0] === 'parent-node'), 'room watchers told');
    assert.equal(child.served.nodes.size, 0);
  });

  it('lets the child exit by itself once the registry is closed', async () => {
    const registry = new LocalRegistry();
    const child = await start(registry);
    await child.call('register', { record: record('child-1') });
    await child.call('watchNodes');
    await child.call('close');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([child.exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 3000)))]);
    clearTimeout(timer);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(await registry.nodes(), [], 'registration ends with the process');
  });

  it('rejects a call the parent never answers (no serveRegistry on the other end)', async () => {
    const child = new Driver(new LocalRegistry(), { REGISTRY_TIMEOUT_MS: '300' });
    drivers.push(child);
    child.served.stop();
    await child.ready();
    const t0 = Date.now();
    await assert.rejects(child.call('nodes'), /no answer from the parent process in 300 ms/);
    assert.ok(Date.now() - t0 >= 250);
  });
});

describe('IpcRegistry without a live channel', () => {
  it('needs an IPC channel', () => {
    assert.throws(() => new IpcRegistry(new EventEmitter() as never), /IPC channel/);
  });

  it('close() fails what is pending at once and stops listening', async () => {
    const endpoint = Object.assign(new EventEmitter(), { send: (_m: object, _cb: (e: Error | null) => void) => true });
    const registry = new IpcRegistry(endpoint);
    const pending = registry.nodes();
    registry.close();
    await assert.rejects(pending, /registry closed/);
    await assert.rejects(registry.nodes(), /registry closed/);
    assert.equal(endpoint.listenerCount('message'), 0);
  });

  it('fails a call at once when the channel refuses the message', async () => {
    const endpoint = Object.assign(new EventEmitter(), {
      send: (_m: object, cb: (e: Error | null) => void) => {
        process.nextTick(cb, new Error('channel closed'));
        return false;
      },
    });
    const registry = new IpcRegistry(endpoint);
    await assert.rejects(registry.registerNode(record('x')), /cannot reach the parent process: channel closed/);
    registry.close();
  });
});
