import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startClusterHttp, type ClusterHttp } from '../../geo-router/RouterHttp.js';
import type { ClusterView } from '../../geo-router/ClusterView.js';
import { CLUSTER_NODES, DEFAULT_REGION } from '../../cli/clusterSpec.js';
import { asNodeId, type NodeId } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import type { NodeRecord } from '../../core/registry/Registry.js';

// The local cluster's real HTTP front (uWS) on an ephemeral port, with the real GeoIP
// database and made-up node records: no region node runs. Requests come from loopback, which
// the cluster trusts as a proxy, so X-Forwarded-For says where the "client" is.

const LONDON = '212.58.244.22';
const TOKYO = '203.178.141.194';
const SAO_PAULO = '200.160.2.3';

let nodes: NodeRecord[] = [];
const hosting = new Map<string, NodeId[]>();
const view: ClusterView = {
  nodes: () => nodes,
  ready: () => true,
  regions: CLUSTER_NODES.map((s) => ({ name: s.region, latitude: s.latitude, longitude: s.longitude })),
  defaultRegion: DEFAULT_REGION,
  roomNodes: async (room) => hosting.get(room) ?? [],
};

const freshNodes = (): NodeRecord[] =>
  CLUSTER_NODES.map((s) => ({
    id: s.nodeId, region: s.region, latitude: s.latitude, longitude: s.longitude, wsUrl: `ws://127.0.0.1:${s.httpPort}/ws`,
    relayAddress: '', mediaAddress: '127.0.0.1', load: { peers: 0, rooms: 0, consumers: 0, cpu: 0 }, draining: false, pid: 0,
  }));

/** node:http rather than fetch: it can send a header twice, as a chain of proxies may. */
function get(port: number, path: string, headers: Record<string, string | string[]> = {}, method = 'GET'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /api/route through the cluster HTTP front', () => {
  let http: ClusterHttp;
  before(async () => {
    http = await startClusterHttp({ host: '127.0.0.1', port: 0, staticDir: '/nonexistent', view, log: createLogger({ level: 'silent' }) });
  });
  after(() => http.close());

  it('routes by the forwarded address, nearest region first, with alternatives', async () => {
    nodes = freshNodes();
    const tokyo = await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': TOKYO });
    assert.equal(tokyo.status, 200);
    assert.equal(tokyo.body.region, 'ap-northeast');
    assert.equal(tokyo.body.nodeId, 'ap-northeast-1');
    assert.equal(tokyo.body.wsUrl, 'ws://127.0.0.1:8083/ws');
    assert.ok(tokyo.body.distanceKm < 100);
    assert.deepEqual(tokyo.body.alternatives.map((a: { region: string }) => a.region), ['eu-west', 'us-east']);
    const sp = await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': SAO_PAULO });
    assert.equal(sp.body.region, 'us-east');
  });

  it('reads every X-Forwarded-For header, in order', async () => {
    nodes = freshNodes();
    // Joined: "Tokyo, London"; the right-most untrusted entry counts.
    assert.equal((await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': [TOKYO, LONDON] })).body.region, 'eu-west');
    assert.equal((await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': [LONDON, TOKYO] })).body.region, 'ap-northeast');
  });

  it('sends a loopback client with no header to the default region, with no distance', async () => {
    nodes = freshNodes();
    const r = await get(http.port, '/api/route?room=demo');
    assert.equal(r.status, 200);
    assert.equal(r.body.region, 'eu-west');
    assert.equal(r.body.distanceKm, null);
    const junk = await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': 'not-an-ip' });
    assert.equal(junk.body.region, 'eu-west');
  });

  it('keeps the room on the node hosting it, and pins', async () => {
    nodes = [...freshNodes(), { ...freshNodes()[0]!, id: asNodeId('eu-west-2'), wsUrl: 'ws://127.0.0.1:9999/ws' }];
    nodes[0]!.load.peers = 1;
    hosting.set('standup', [asNodeId('eu-west-2')]);
    assert.equal((await get(http.port, '/api/route?room=standup', { 'x-forwarded-for': LONDON })).body.nodeId, 'eu-west-2');
    assert.equal((await get(http.port, '/api/route?room=other', { 'x-forwarded-for': LONDON })).body.nodeId, 'eu-west-2', 'least loaded');
    const pinned = await get(http.port, '/api/route?room=standup&region=us-east', { 'x-forwarded-for': LONDON });
    assert.equal(pinned.body.region, 'us-east');
    assert.deepEqual(pinned.body.alternatives, []);
  });

  it('skips the nodes named in avoid= (comma-separated, URL-encoded as browsers send it) for that request', async () => {
    nodes = freshNodes();
    const avoided = await get(http.port, '/api/route?room=demo&avoid=ap-northeast-1', { 'x-forwarded-for': TOKYO });
    assert.equal(avoided.body.region, 'eu-west');
    assert.ok(!avoided.body.alternatives.some((a: { nodeId: string }) => a.nodeId === 'ap-northeast-1'));
    const two = await get(http.port, `/api/route?${new URLSearchParams({ room: 'demo', avoid: 'ap-northeast-1,eu-west-1' }).toString()}`, { 'x-forwarded-for': TOKYO });
    assert.equal(two.body.region, 'us-east');
    assert.equal((await get(http.port, '/api/route?room=demo', { 'x-forwarded-for': TOKYO })).body.region, 'ap-northeast', 'nobody else is affected');
  });

  it('answers 400 for a bad room or an unknown region, 503 when no node takes joins, 405 for other methods', async () => {
    nodes = freshNodes();
    assert.equal((await get(http.port, '/api/route')).status, 400);
    assert.equal((await get(http.port, '/api/route?room=a%20b')).status, 400);
    const mars = await get(http.port, '/api/route?room=demo&region=mars');
    assert.equal(mars.status, 400);
    assert.equal(mars.body.error.code, 'bad_request');
    nodes = freshNodes().map((n) => ({ ...n, draining: true }));
    const none = await get(http.port, '/api/route?room=demo');
    assert.equal(none.status, 503);
    assert.equal(none.body.error.code, 'no_nodes');
    assert.equal((await get(http.port, '/api/route?room=demo', {}, 'POST')).status, 405);
  });

  it('answers quickly', async () => {
    nodes = freshNodes();
    const n = 300;
    const started = performance.now();
    for (let i = 0; i < n; i++) await get(http.port, `/api/route?room=r${i % 7}`, { 'x-forwarded-for': i % 2 ? TOKYO : LONDON });
    const ms = (performance.now() - started) / n;
    console.log(`# geo: /api/route over HTTP (new connection each): ${ms.toFixed(2)} ms per request`);
    assert.ok(ms < 50);
  });
});
