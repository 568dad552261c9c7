import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { asNodeId, asRoomId, type NodeId } from '../../core/ids.js';
import { roomKey, roomPrefix, SERVICE_NAME } from '../../core/registry/consulCodec.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { eventually, quickRegistry, testRecord } from '../helpers/fakeConsulTools.js';

// The fake-Consul scenario against a real agent. Consul cannot be installed on the project's
// machines, so this runs only where CONSUL_HTTP_ADDR names one (e.g. `consul agent -dev` and
// CONSUL_HTTP_ADDR=127.0.0.1:8500; CONSUL_HTTP_TOKEN if ACLs are on). It leaves nothing behind.

const addr = process.env.CONSUL_HTTP_ADDR;
const address = addr && !/^https?:\/\//.test(addr) ? `http://${addr}` : addr;
const token = process.env.CONSUL_HTTP_TOKEN;

async function consul(method: string, path: string): Promise<any> {
  const res = await fetch(`${address}/v1${path}`, { method, headers: token ? { 'X-Consul-Token': token } : {} });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

describe('ConsulRegistry against a live Consul agent', () => {
  it('registers, keeps presence under a session, survives losing that session, and deregisters', { skip: !address && 'needs a Consul agent: set CONSUL_HTTP_ADDR', timeout: 60_000 }, async () => {
    const suffix = randomBytes(4).toString('hex');
    const id = asNodeId(`octomesh-live-test-${suffix}`);
    const room = asRoomId(`live-${suffix}`);
    const node = quickRegistry(address!, { ...(token ? { token } : {}), loop: { waitSec: 5 } });
    const observer = quickRegistry(address!, { ...(token ? { token } : {}), loop: { waitSec: 5 } });
    const nodes: NodeRecord[][] = [];
    const present: NodeId[][] = [];
    try {
      observer.watchNodes((n) => nodes.push(n));
      observer.watchRoom(room, (n) => present.push(n));
      await node.registerNode(testRecord(id));
      await eventually(() => nodes.at(-1)?.some((n) => n.id === id) ?? false, 'node passing in health/service', 15_000);

      await node.addRoomPresence(room, id);
      await eventually(() => present.at(-1)?.join() === id, 'presence seen', 15_000);
      assert.deepEqual(await observer.roomNodes(room), [id]);

      // A lost session (what a dead node's looks like): the key goes at once, then the live
      // node recreates its session and acquires the key again.
      const entry = (await consul('GET', `/kv/${roomKey(room, id)}`))?.[0];
      assert.ok(entry?.Session, 'the key is held by a session');
      await consul('PUT', `/session/destroy/${entry.Session}`);
      await eventually(() => present.some((p) => p.length === 0), 'presence vanished with the session', 15_000);
      await eventually(() => present.at(-1)?.join() === id, 'presence restored under a new session', 30_000);

      await node.updateNode(id, { draining: true, load: { peers: 7, rooms: 1, consumers: 3, cpu: 0.25 } });
      await eventually(() => nodes.at(-1)?.find((n) => n.id === id)?.draining === true, 'draining seen', 15_000);
      assert.equal((await observer.nodes()).find((n) => n.id === id)?.load.peers, 7);

      await node.deregisterNode(id);
      await eventually(() => !(nodes.at(-1) ?? []).some((n) => n.id === id), 'node gone', 15_000);
      assert.deepEqual(await observer.roomNodes(room), []);
    } finally {
      node.close();
      observer.close();
      await consul('PUT', `/agent/service/deregister/${id}`).catch(() => undefined);
      await consul('DELETE', `/kv/${roomPrefix(room)}?recurse`).catch(() => undefined);
    }
    assert.ok(!(await consul('GET', `/health/service/${SERVICE_NAME}`)).some((e: any) => e.Service.ID === id));
  });
});
