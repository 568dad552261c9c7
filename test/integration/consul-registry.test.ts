import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { asNodeId, asRoomId, type NodeId } from '../../core/ids.js';
import { checkIdOf, roomKey, sessionNameOf, SERVICE_NAME } from '../../core/registry/consulCodec.js';
import { nextIndex, parseIndex } from '../../core/registry/consulWatch.js';
import type { ConsulRegistry, ConsulRegistryOptions } from '../../core/registry/ConsulRegistry.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { FakeConsul, type LoggedRequest } from '../helpers/fakeConsul.js';
import { capturingLogger, eventually, quickRegistry, sleep, testRecord } from '../helpers/fakeConsulTools.js';

// ConsulRegistry against an in-process fake Consul (test/helpers/fakeConsul.ts): what it sends,
// and how it behaves when nodes die, sessions vanish, indexes go backwards and Consul fails.

const ROOM = asRoomId('standup');
/**
 * The window over which retries and polls are counted: what these tests assert is a bound on a
 * rate (backoff, a rate limit), and no event marks a request that a spinning loop would send.
 */
const RATE_WINDOW_MS = 2000;
/**
 * Past two heartbeats (one every DEFAULT_CHECK_TTL_SEC / 3, 1.7 s) and a blocking wait (2 s in
 * quickRegistry): how long a closed or deregistered node is watched for a request that must not come.
 */
const PAST_HEARTBEATS_MS = 4000;

interface Setup {
  fake: FakeConsul;
  make: (o?: Partial<ConsulRegistryOptions>) => ConsulRegistry;
  /** A registry whose node 'a-node' is registered and present in ROOM, and that presence's session. */
  present: (o?: Partial<ConsulRegistryOptions>) => Promise<{ reg: ConsulRegistry; session: string }>;
}

async function setup(t: TestContext): Promise<Setup> {
  const fake = await FakeConsul.start();
  const made: ConsulRegistry[] = [];
  t.after(async () => {
    for (const r of made) r.close();
    await fake.close();
  });
  const make: Setup['make'] = (o = {}) => {
    const r = quickRegistry(fake.url, o);
    made.push(r);
    return r;
  };
  const present: Setup['present'] = async (o = {}) => {
    const reg = make(o);
    await reg.registerNode(testRecord('a-node'));
    await reg.addRoomPresence(ROOM, asNodeId('a-node'));
    return { reg, session: activeSession(fake, 'a-node')! };
  };
  return { fake, make, present };
}

/** Every value a watch delivered, in order. */
function recorder<T>(): { values: T[]; cb: (v: T) => void; last: () => T | undefined } {
  const values: T[] = [];
  return { values, cb: (v) => values.push(v), last: () => values[values.length - 1] };
}

const ids = (nodes: NodeRecord[]): string[] => nodes.map((n) => n.id);
const body = (r: LoggedRequest): any => JSON.parse(r.body);
const activeSession = (fake: FakeConsul, node: string): string | undefined => fake.sessions().find((s) => s.Name === sessionNameOf(node))?.ID;

describe('ConsulRegistry against a fake Consul', () => {
  it('registers the node as a service with its meta and a passing TTL check, and a session tied to that check', async (t) => {
    const { fake, make } = await setup(t);
    const reg = make({ token: 'secret-token' });
    const rec = testRecord('eu-west-1');
    rec.load = { peers: 3, rooms: 1, consumers: 6, cpu: 0.123 };
    await reg.registerNode(rec);

    const [register] = fake.requestsTo('/v1/agent/service/register', 'PUT');
    assert.deepEqual(body(register!), {
      Name: SERVICE_NAME,
      ID: 'eu-west-1',
      Tags: ['eu-west'],
      Meta: {
        region: 'eu-west',
        lat: '51.51',
        lon: '-0.13',
        wsUrl: 'ws://127.0.0.1:9/eu-west-1',
        relayAddress: '127.0.0.1:50051',
        mediaAddress: '127.0.0.1',
        pid: '4242',
        draining: 'false',
        load: JSON.stringify({ peers: 3, rooms: 1, consumers: 6, cpu: 0.1 }),
      },
      Check: { CheckID: 'service:eu-west-1', Name: 'octomesh load report', TTL: '5s', Status: 'passing', DeregisterCriticalServiceAfter: '1m' },
    });
    const [create] = fake.requestsTo('/v1/session/create', 'PUT');
    assert.deepEqual(body(create!), { LockDelay: '1ms', Name: sessionNameOf('eu-west-1'), Checks: ['serfHealth', 'service:eu-west-1'], Behavior: 'delete' });
    assert.ok(fake.requests.every((r) => r.headers['x-consul-token'] === 'secret-token'), 'every request carries the ACL token');
    assert.equal(fake.check('service:eu-west-1')?.Status, 'passing');

    const nodes = await reg.nodes();
    assert.deepEqual(nodes, [{ ...rec, load: { ...rec.load, cpu: 0.1 } }]);
    const [health] = fake.requestsTo('/v1/health/service/');
    assert.equal(health!.path, `/v1/health/service/${SERVICE_NAME}`);
    assert.equal(health!.query.passing, 'true');
  });

  it('passes the check with the load as output; re-registers (still passing, same session) only when the meta changes', async (t) => {
    const { fake, make } = await setup(t);
    const reg = make();
    const id = asNodeId('eu-west-1');
    await reg.registerNode(testRecord(id));
    const session = activeSession(fake, id);

    await reg.updateNode(id, { load: { peers: 0, rooms: 0, consumers: 0, cpu: 0.01 } }); // rounds to the registered 0
    const passes = fake.requestsTo(`/v1/agent/check/pass/${checkIdOf(id)}`, 'PUT');
    assert.equal(passes.length, 1);
    assert.deepEqual(JSON.parse(passes[0]!.query.note!), { load: { peers: 0, rooms: 0, consumers: 0, cpu: 0.01 }, draining: false });
    assert.equal(fake.check(checkIdOf(id))?.Output, passes[0]!.query.note);
    assert.equal(fake.requestsTo('/v1/agent/service/register').length, 1, 'no re-registration for an unchanged meta');

    await reg.updateNode(id, { draining: true, load: { peers: 2, rooms: 1, consumers: 2, cpu: 0.5 } });
    const registers = fake.requestsTo('/v1/agent/service/register');
    assert.equal(registers.length, 2);
    assert.equal(body(registers[1]!).Meta.draining, 'true');
    assert.equal(body(registers[1]!).Check.Status, 'passing');
    assert.equal(activeSession(fake, id), session, 'the session survived the re-registration');
    const [node] = await reg.nodes();
    assert.equal(node?.draining, true);
    assert.deepEqual(node?.load, { peers: 2, rooms: 1, consumers: 2, cpu: 0.5 });

    await reg.updateNode(asNodeId('someone-else'), { draining: true });
    assert.equal(fake.requestsTo('/v1/agent/service/register').length, 2, 'other ids are not ours to update');
  });

  it('a check the servers do not know yet ("Missing check") delays the session, not the start', async (t) => {
    const { fake, make } = await setup(t);
    fake.syncLagMs = 400;
    const a = make();
    await a.registerNode(testRecord('a-node'));
    assert.equal(fake.sessions().length, 0);
    await a.addRoomPresence(ROOM, asNodeId('a-node')); // waits for the retried session
    assert.equal(fake.kvEntry(roomKey(ROOM, 'a-node'))?.Session, activeSession(fake, 'a-node'));
    assert.ok(fake.requestsTo('/v1/session/create').length >= 2);
  });

  it('keeps presence under octomesh/rooms/<room>/<node>, acquired by the session; roomNodes and watchRoom follow it', async (t) => {
    const { fake, make } = await setup(t);
    const a = make();
    const b = make();
    const observer = make();
    await a.registerNode(testRecord('a-node'));
    await b.registerNode(testRecord('b-node', 'us-east'));
    const seen = recorder<NodeId[]>();
    observer.watchRoom(ROOM, seen.cb);
    await eventually(() => seen.values.length === 1, 'first room callback');
    assert.deepEqual(seen.values[0], []);

    await a.addRoomPresence(ROOM, asNodeId('a-node'));
    const [acquire] = fake.requestsTo(`/v1/kv/${roomKey(ROOM, 'a-node')}`, 'PUT');
    assert.equal(acquire!.query.acquire, activeSession(fake, 'a-node'));
    assert.deepEqual(JSON.parse(acquire!.body), { node: 'a-node', region: 'eu-west' });
    assert.equal(fake.kvEntry(roomKey(ROOM, 'a-node'))?.Session, activeSession(fake, 'a-node'));
    await eventually(() => seen.last()?.join() === 'a-node', 'a appears');

    await b.addRoomPresence(ROOM, asNodeId('b-node'));
    await eventually(() => seen.last()?.join() === 'a-node,b-node', 'b appears');
    assert.deepEqual(await observer.roomNodes(ROOM), ['a-node', 'b-node']);
    assert.deepEqual(await observer.roomNodes(asRoomId('standup2')), [], 'a room sharing the name prefix is another room');

    await a.removeRoomPresence(ROOM, asNodeId('a-node'));
    assert.equal(fake.requestsTo(`/v1/kv/${roomKey(ROOM, 'a-node')}`, 'DELETE').length, 1);
    await eventually(() => seen.last()?.join() === 'b-node', 'a leaves');
    assert.deepEqual(seen.values.map((v) => v.join()), ['', 'a-node', 'a-node,b-node', 'b-node'], 'one callback per change, none for unchanged answers');

    await assert.rejects(a.addRoomPresence(ROOM, asNodeId('b-node')), /not registered through this agent/);
  });

  it('a dead node (its session destroyed) loses its presence at once; a live node recreates its session and re-acquires its rooms', async (t) => {
    const { fake, make, present } = await setup(t);
    const { log, lines } = capturingLogger('info');
    const { reg: a } = await present({ log });
    const observer = make();
    await a.addRoomPresence(asRoomId('retro'), asNodeId('a-node'));
    const seen = recorder<NodeId[]>();
    observer.watchRoom(ROOM, seen.cb);
    await eventually(() => seen.last()?.join() === 'a-node', 'presence seen');
    const first = activeSession(fake, 'a-node')!;

    // Consul refuses the first new sessions, so the recovery retries (and the watcher, which
    // may coalesce changes that come quickly, surely sees the gap).
    fake.fail(3, 500, (r) => r.path === '/v1/session/create');
    fake.destroySession(first);
    assert.deepEqual(fake.kvKeys(), [], 'Behavior delete: the keys went with the session');
    await eventually(() => seen.values.some((v) => v.length === 0), 'presence vanished for the watcher');
    await eventually(() => seen.last()?.join() === 'a-node', 'presence restored');
    const second = activeSession(fake, 'a-node');
    assert.ok(second && second !== first, 'a new session');
    // The rooms are re-acquired one after the other: the watcher may see the first before the
    // second is back.
    await eventually(
      () => fake.kvEntry(roomKey(ROOM, 'a-node'))?.Session === second && fake.kvEntry(roomKey('retro', 'a-node'))?.Session === second,
      'every room re-acquired under the new session',
    );
    // Logged once the last acquire's answer is handled, which may be just after the fake set it.
    await eventually(() => lines.some((l) => /presence restored/.test(l.msg)), 'recovery logged');
    assert.ok(lines.some((l) => /session lost/.test(l.msg)));
    assert.equal(lines.filter((l) => /recovery failed; retrying/.test(l.msg)).length, 3);
  });

  it('a node whose reports stop turns critical: it leaves nodes() and watchNodes, and its rooms vanish with its session', async (t) => {
    const { fake, make } = await setup(t);
    const dying = make({ checkTtlSec: 1 });
    const observer = make();
    await dying.registerNode(testRecord('dying-node'));
    await dying.addRoomPresence(ROOM, asNodeId('dying-node'));
    const nodes = recorder<NodeRecord[]>();
    const room = recorder<NodeId[]>();
    observer.watchNodes(nodes.cb);
    observer.watchRoom(ROOM, room.cb);
    await eventually(() => nodes.last()?.length === 1 && room.last()?.length === 1, 'node and presence seen');

    dying.close(); // the process froze or died: no deregistration, no more check passes
    await eventually(() => fake.check(checkIdOf('dying-node'))?.Status === 'critical', 'TTL expired', 3000);
    await eventually(() => nodes.last()?.length === 0 && room.last()?.length === 0, 'gone for the watchers');
    assert.deepEqual(await observer.nodes(), []);
    assert.deepEqual(fake.sessions(), []);
  });

  it('watchNodes answers once at once, then per change; blocking reads carry the last X-Consul-Index and wait', async (t) => {
    const { fake, make } = await setup(t);
    const observer = make({ loop: { waitSec: 1 } });
    const seen = recorder<NodeRecord[]>();
    observer.watchNodes(seen.cb);
    await eventually(() => seen.values.length === 1, 'first callback');
    assert.deepEqual(seen.values[0], []);

    const a = make();
    await a.registerNode(testRecord('a-node'));
    await eventually(() => ids(seen.last() ?? []).join() === 'a-node', 'a registered');
    await a.updateNode(asNodeId('a-node'), { load: { peers: 5, rooms: 1, consumers: 4, cpu: 0.3 } });
    await eventually(() => seen.last()?.[0]?.load.peers === 5, 'load seen');
    const count = seen.values.length;
    const health = (): LoggedRequest[] => fake.requestsTo(`/v1/health/service/${SERVICE_NAME}`);
    // The change came with a new index; every read since carries it. A third read on it means
    // two waits on it timed out (a change would have brought another index).
    const onLastIndex = (): number => {
      const reads = health();
      const last = reads.at(-1)?.query.index;
      return last === undefined ? 0 : reads.filter((r) => r.query.index === last).length;
    };
    await eventually(() => onLastIndex() >= 3, 'two waits time out with nothing new');
    assert.equal(seen.values.length, count, 'no callback for a timed-out wait');

    const reads = health();
    assert.equal(reads[0]!.query.index, undefined, 'the first read does not block');
    for (const r of reads.slice(1)) {
      assert.match(r.query.index ?? '', /^[1-9]\d*$/);
      assert.equal(r.query.wait, '1s');
    }
    const indexes = reads.slice(1).map((r) => Number(r.query.index));
    assert.deepEqual([...indexes].sort((x, y) => x - y), indexes, 'indexes never go down while Consul’s do not');
  });

  it('an index that goes backwards (tombstones reaped) restarts the loop from 0', async (t) => {
    const { fake, make } = await setup(t);
    const a = make();
    const b = make();
    const observer = make({ loop: { waitSec: 1 } });
    await a.registerNode(testRecord('a-node'));
    await b.registerNode(testRecord('b-node'));
    await a.addRoomPresence(ROOM, asNodeId('a-node'));
    await b.addRoomPresence(ROOM, asNodeId('b-node'));
    await b.removeRoomPresence(ROOM, asNodeId('b-node')); // the prefix's index is now b's tombstone
    const seen = recorder<NodeId[]>();
    observer.watchRoom(ROOM, seen.cb);
    await eventually(() => seen.values.length === 1, 'first callback');
    const reads = (): LoggedRequest[] => fake.requestsTo(`/v1/kv/octomesh/rooms/${ROOM}/`);
    await eventually(() => reads().some((r) => r.query.index), 'blocking on the tombstone index');
    const blockedAt = Number(reads().find((r) => r.query.index)!.query.index);

    fake.reapTombstones(); // the prefix's index falls back to a's entry
    await eventually(() => reads().some((r) => r.query.index && Number(r.query.index) < blockedAt), 'blocking on the lower index', 4000);
    const seq = reads().map((r) => r.query.index ?? '-');
    const lowerAt = seq.findIndex((i) => i !== '-' && Number(i) < blockedAt);
    assert.equal(seq[lowerAt - 1], '-', `a non-blocking read between the two indexes: ${seq.join(' ')}`);
  });

  it('a restored snapshot (every index lower) does not stall a watch for a whole wait', async (t) => {
    const { fake, make } = await setup(t);
    const a = make();
    const observer = make({ loop: { waitSec: 30 } });
    await a.registerNode(testRecord('a-node'));
    for (let i = 0; i < 3; i++) {
      await a.addRoomPresence(ROOM, asNodeId('a-node'));
      await a.removeRoomPresence(ROOM, asNodeId('a-node'));
    }
    const seen = recorder<NodeId[]>();
    observer.watchRoom(ROOM, seen.cb);
    await eventually(() => seen.values.length === 1, 'first callback');
    await eventually(() => fake.requestsTo(`/v1/kv/octomesh/rooms/${ROOM}/`).some((r) => r.query.index), 'blocking');
    const blockedAt = Number(fake.requestsTo(`/v1/kv/octomesh/rooms/${ROOM}/`).find((r) => r.query.index)!.query.index);
    assert.ok(blockedAt > 5, `blocked at ${blockedAt}`);

    fake.rewind(blockedAt - 1); // every index back to 1: the next writes get indexes below blockedAt
    await eventually(
      () => fake.requestsTo(`/v1/kv/octomesh/rooms/${ROOM}/`).some((r) => r.query.index && Number(r.query.index) < blockedAt),
      'the watch blocks again, on an index from after the restore',
    );
    const started = Date.now();
    await a.addRoomPresence(ROOM, asNodeId('a-node')); // written at an index below the one the watch had
    await eventually(() => seen.last()?.join() === 'a-node', 'change after the restore delivered', 3000);
    assert.ok(Date.now() - started < 3000);
  });

  it('500 answers back off exponentially instead of looping, then the watch recovers', async (t) => {
    const { fake, make } = await setup(t);
    const { log, lines } = capturingLogger();
    const observer = make({ log, loop: { backoffBaseMs: 100, backoffMaxMs: 2000 } });
    fake.fail(1000, 500, (r) => r.path.startsWith('/v1/health/'));
    const seen = recorder<NodeRecord[]>();
    observer.watchNodes(seen.cb);
    await sleep(RATE_WINDOW_MS);
    const failed = fake.requestsTo('/v1/health/').length;
    // Delays 100, 200, 400, 800 ms (each 50-100 % with jitter): 4 to 7 tries in 2 s.
    assert.ok(failed >= 3 && failed <= 8, `${failed} requests in 2 s`);
    assert.equal(seen.values.length, 0);
    assert.ok(lines.some((l) => /watch failed; retrying/.test(l.msg)));

    fake.clearFaults();
    await eventually(() => seen.values.length === 1, 'recovered after the outage', 4000);
  });

  it('a refused connection backs off the same way', async (t) => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const { log, lines } = capturingLogger();
    const reg = quickRegistry(`http://127.0.0.1:${port}`, { log, loop: { backoffBaseMs: 100, backoffMaxMs: 2000 } });
    t.after(() => reg.close());
    reg.watchRoom(ROOM, () => assert.fail('no answer can come'));
    await sleep(RATE_WINDOW_MS);
    const tries = lines.filter((l) => /watch failed/.test(l.msg)).length;
    assert.ok(tries >= 3 && tries <= 8, `${tries} tries in 2 s`);
    await assert.rejects(reg.registerNode(testRecord('x')), /ECONNREFUSED/);
  });

  it('a server that answers blocking reads at once is polled at the rate limit, not spun', async (t) => {
    const { fake, make } = await setup(t);
    fake.noBlocking = true;
    const observer = make({ loop: { burst: 3, perSec: 2 } });
    observer.watchNodes(() => undefined);
    await sleep(RATE_WINDOW_MS);
    const n = fake.requestsTo('/v1/health/').length;
    assert.ok(n <= 3 + 2 * 2 + 1, `${n} requests in 2 s (burst 3, then 2/s)`);
    assert.ok(n >= 3);
  });

  it('deregisterNode destroys the session (presence gone at once) and deregisters the service', async (t) => {
    const { fake, present } = await setup(t);
    const { reg: a, session } = await present();
    await a.deregisterNode(asNodeId('a-node'));
    assert.equal(fake.requestsTo(`/v1/session/destroy/${session}`, 'PUT').length, 1);
    assert.equal(fake.requestsTo('/v1/agent/service/deregister/a-node', 'PUT').length, 1);
    assert.equal(fake.service('a-node'), undefined);
    assert.deepEqual(fake.kvKeys(), []);
    assert.deepEqual(fake.sessions(), []);
    const before = fake.requests.length;
    await sleep(PAST_HEARTBEATS_MS); // nothing more is sent for this node
    assert.equal(fake.requests.filter((r, i) => i >= before && r.method === 'PUT').length, 0);
  });

  it('a restarted process of the same node destroys its predecessor’s session and takes over its presence', async (t) => {
    const { fake, make, present } = await setup(t);
    const { reg: old, session: stale } = await present();
    old.close(); // crashed: the check is still passing, so its session lives on

    const next = make();
    await next.registerNode(testRecord('a-node'));
    assert.ok(!fake.sessions().some((s) => s.ID === stale), 'stale session destroyed');
    assert.equal(fake.sessions().length, 1);
    await next.addRoomPresence(ROOM, asNodeId('a-node'));
    assert.equal(fake.kvEntry(roomKey(ROOM, 'a-node'))?.Session, activeSession(fake, 'a-node'));
  });

  it('an agent that lost the registration refuses the check pass: the node registers again and restores its presence', async (t) => {
    const { fake, present } = await setup(t);
    const { reg: a } = await present();
    fake.dropService('a-node'); // agent restarted without its data dir; the session went with the check
    assert.deepEqual(fake.kvKeys(), []);

    await a.updateNode(asNodeId('a-node'), { load: { peers: 1, rooms: 1, consumers: 0, cpu: 0 } });
    assert.ok(fake.service('a-node'), 'registered again');
    await eventually(() => fake.kvEntry(roomKey(ROOM, 'a-node'))?.Session === activeSession(fake, 'a-node'), 'presence restored');
  });

  it('close() stops every watch and timer: no request after it, and a process using it exits by itself', async (t) => {
    const { fake, make } = await setup(t);
    const a = make();
    await a.registerNode(testRecord('a-node'));
    a.watchNodes(() => undefined);
    a.watchRoom(ROOM, () => undefined);
    await eventually(() => fake.requestsTo('/v1/kv/').length > 0 && fake.requestsTo('/v1/health/').length > 0, 'watches running');
    a.close();
    a.close();
    // Requests in flight settle, then the client's sockets are destroyed: nothing sent before
    // close() can be logged after `before`.
    await eventually(async () => (await fake.connections()) === 0, 'the closed registry dropped its connections');
    const before = fake.requests.length;
    await sleep(PAST_HEARTBEATS_MS); // no heartbeat, no watch read
    assert.equal(fake.requests.length, before);

    const script = fileURLToPath(new URL('../helpers/fakeConsulChild.js', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exit = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
      sleep(15_000).then(() => 'hung' as const),
    ]);
    if (exit === 'hung') child.kill('SIGKILL');
    assert.equal(exit, 0, `child exited by itself (output: ${out.trim()})`);
    assert.match(out, /scenario done/);
  });
});

describe('blocking index rules', () => {
  it('remembers the index, restarts from 0 when it goes backwards, never blocks on less than 1', () => {
    assert.equal(nextIndex(0n, 7n), 7n);
    assert.equal(nextIndex(7n, 7n), 7n, 'a timed-out wait keeps the index');
    assert.equal(nextIndex(7n, 9n), 9n);
    assert.equal(nextIndex(9n, 4n), 0n, 'backwards: start over');
    assert.equal(nextIndex(0n, 0n), 1n, 'an index of 0 from Consul is used as 1');
    assert.equal(nextIndex(5n, 0n), 0n, 'and counts as going backwards first');
    assert.equal(parseIndex(undefined), 0n);
    assert.equal(parseIndex('x12'), 0n);
    assert.equal(parseIndex('18446744073709551615'), 18446744073709551615n, 'uint64 indexes survive (no float rounding)');
  });
});
