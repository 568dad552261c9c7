import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { FakeConsul } from '../helpers/fakeConsul.js';
import { quickRegistry } from '../helpers/fakeConsulTools.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { eventually, sleep, startTestNode } from '../helpers/node.js';

// `octomesh geo-router` as an operator runs it: its own process, region nodes found in Consul
// (the in-process fake agent; no real Consul installs here), routing by X-Forwarded-For from a
// trusted proxy (loopback).

const LONDON = '212.58.244.22';
const TOKYO = '203.178.141.194';
const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** An address of this machine that is not loopback, to call from "another host". */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

function get(port: number, path: string, headers: Record<string, string> = {}, host = '127.0.0.1'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end();
  });
}


describe('octomesh geo-router', () => {
  let fake: FakeConsul;
  let london: RegionNode;
  let tokyo: RegionNode;
  let router: ReturnType<typeof runCli>;
  let port: number;
  const registries: ReturnType<typeof quickRegistry>[] = [];
  const registry = (): ReturnType<typeof quickRegistry> => {
    registries.push(quickRegistry(fake.url));
    return registries[registries.length - 1]!;
  };

  before(async () => {
    fake = await FakeConsul.start();
    london = await startTestNode({ nodeId: 'gr-london', region: 'eu-west', latitude: 51.51, longitude: -0.13 }, { registry: registry() });
    tokyo = await startTestNode({ nodeId: 'gr-tokyo', region: 'ap-northeast', latitude: 35.68, longitude: 139.69 }, { registry: registry() });
    port = await freePort();
    router = runCli(['geo-router', '--http-port', String(port), '--discovery', 'consul', '--consul-address', fake.url, '--log-level', 'warn', '--http-host', '0.0.0.0', '--admin-token', ADMIN_TOKEN]);
    await eventually(async () => (await get(port, '/healthz').catch(() => ({ status: 0, body: null }))).status === 200, `geo-router ready (output: ${router.output()})`, 15_000);
  });

  after(async () => {
    router.child.kill('SIGKILL');
    london.close();
    tokyo.close();
    for (const r of registries) r.close();
    await fake.close();
  });

  it('lists the nodes it found in Consul', async () => {
    const { status, body } = await get(port, '/admin/regions');
    assert.equal(status, 200);
    const byName = Object.fromEntries(body.regions.map((r: any) => [r.name, r.nodes.map((n: any) => n.id)]));
    assert.deepEqual(byName, { 'eu-west': ['gr-london'], 'ap-northeast': ['gr-tokyo'] });
  });

  it('shows /admin/regions to other hosts only with the admin token', async (t) => {
    const outside = outsideAddress();
    if (!outside) return t.skip('this machine has no non-loopback IPv4 address');
    assert.equal((await get(port, '/admin/regions', {}, outside)).status, 403);
    assert.equal((await get(port, '/admin/regions', { authorization: 'Bearer wrong-token-0123456789abc' }, outside)).status, 403);
    assert.equal((await get(port, '/admin/regions', { authorization: `Bearer ${ADMIN_TOKEN}` }, outside)).status, 200);
    // Not a trusted proxy: its X-Forwarded-For is ignored (a Tokyo header does not move it to Tokyo).
    const route = await get(port, '/api/route?room=standup', { 'x-forwarded-for': TOKYO }, outside);
    assert.equal(route.status, 200);
    assert.notEqual(route.body.region, 'ap-northeast');
  });

  it('behind a proxy on this host, shows /admin/regions to an Internet client only with the admin token', async () => {
    assert.equal((await get(port, '/admin/regions', { 'x-forwarded-for': LONDON })).status, 403);
    assert.equal((await get(port, '/admin/regions', { 'x-forwarded-for': LONDON, authorization: 'Bearer wrong-token-0123456789abc' })).status, 403);
    assert.equal((await get(port, '/admin/regions', { 'x-forwarded-for': LONDON, authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200);
    assert.equal((await get(port, '/admin/regions', { 'x-real-ip': LONDON })).status, 403);
    assert.equal((await get(port, '/admin/regions', { 'x-forwarded-for': '127.0.0.1' })).status, 200);
  });

  it('routes each client to its nearest region, by the forwarded address', async () => {
    const fromLondon = await get(port, '/api/route?room=standup', { 'x-forwarded-for': LONDON });
    assert.equal(fromLondon.status, 200);
    assert.equal(fromLondon.body.region, 'eu-west');
    assert.equal(fromLondon.body.wsUrl, london.wsUrl);
    const fromTokyo = await get(port, '/api/route?room=standup', { 'x-forwarded-for': TOKYO });
    assert.equal(fromTokyo.body.region, 'ap-northeast');
    assert.equal(fromTokyo.body.wsUrl, tokyo.wsUrl);
  });

  it('stops offering a node that left, and keeps listing its region, empty', async () => {
    tokyo.close();
    await eventually(async () => (await get(port, '/api/route?room=standup', { 'x-forwarded-for': TOKYO })).body.region === 'eu-west', 'Tokyo client sent to London');
    const { body } = await get(port, '/admin/regions');
    assert.deepEqual(body.regions.find((r: any) => r.name === 'ap-northeast')?.nodes, []);
  });

  it('has no admin actions of its own: it does not own the nodes', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/admin/regions', method: 'POST', agent: false }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"name":"x","lat":0,"lon":0}');
    });
    assert.equal(res, 405);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    router.child.kill('SIGTERM');
    const code = await Promise.race([router.exited, sleep(10_000).then(() => 'hung' as const)]);
    assert.equal(code, 0, router.output());
  });

  it('refuses to start without Consul, naming the key', async () => {
    const cli = runCli(['geo-router', '--http-port', '0']);
    assert.equal(await cli.exited, 2);
    assert.match(cli.output(), /discovery\.backend/);
  });
});
