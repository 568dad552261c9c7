import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isLoopback } from '../../geo-router/AdminRoutes.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/node.js';
import { SignalClient } from '../helpers/SignalClient.js';

interface Regions {
  regions: { name: string; lat: number; lon: number; nodes: { id: string; pid: number; wsUrl: string; draining: boolean }[] }[];
}

// An operator adds a region to the running local cluster, people are routed to it, then the
// operator removes it: it drains (refuses new joins, lets the call finish) and goes.
describe('adding and removing a region at run time (octomesh start)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  const TOKEN = 'cluster-admin-token-0123456789';
  before(async () => {
    cluster = await startCluster({ OCTOMESH_ADMIN_TOKEN: TOKEN });
  });
  after(async () => {
    await cluster?.stop();
  });

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${cluster.base}${path}`);
    return { status: r.status, body: (await r.json()) as T };
  };

  // The usual way to add HTTPS is nginx or Caddy on the same host: every request then comes
  // from 127.0.0.1, and only X-Forwarded-For tells an Internet client from a local operator.
  it('behind a proxy on this host, an Internet client needs the admin token on every admin route', async () => {
    const fromInternet = { 'x-forwarded-for': '8.8.8.8' };
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const names = async (): Promise<string[]> => (await get<Regions>('/admin/regions')).body.regions.map((x) => x.name).sort();
    const before = await names();

    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: fromInternet })).status, 403);
    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: { ...fromInternet, authorization: 'Bearer wrong-token-0123456789abcd' } })).status, 403);
    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: { forwarded: 'for=8.8.8.8' } })).status, 403);
    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: { 'x-real-ip': '8.8.8.8' } })).status, 403);
    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: { ...fromInternet, ...bearer } })).status, 200);
    // A browser on this host, through the same proxy, is local.
    assert.equal((await fetch(`${cluster.base}/admin/regions`, { headers: { 'x-forwarded-for': '127.0.0.1' } })).status, 200);

    const body = JSON.stringify({ name: 'af-south', lat: -33.92, lon: 18.42 });
    const refused = await fetch(`${cluster.base}/admin/regions`, { method: 'POST', headers: fromInternet, body });
    assert.equal(refused.status, 403);
    assert.deepEqual(await names(), before, 'no node was started');
    const deleted = await fetch(`${cluster.base}/admin/regions/eu-west`, { method: 'DELETE', headers: fromInternet });
    assert.equal(deleted.status, 403);
    const euWest = (await get<Regions>('/admin/regions')).body.regions.find((x) => x.name === 'eu-west');
    assert.equal(euWest?.nodes[0]?.draining, false, 'eu-west was not drained');

    assert.equal((await fetch(`${cluster.base}/admin/regions`, { method: 'POST', headers: { ...fromInternet, ...bearer }, body })).status, 201);
    assert.ok((await names()).includes('af-south'));
    assert.equal((await fetch(`${cluster.base}/admin/regions/af-south`, { method: 'DELETE', headers: fromInternet })).status, 403);
    assert.equal((await fetch(`${cluster.base}/admin/regions/af-south`, { method: 'DELETE', headers: { ...fromInternet, ...bearer } })).status, 200);
    assert.deepEqual(await names(), before);
  });

  it('POST /admin/regions starts a node that routing uses at once', async () => {
    const r = await fetch(`${cluster.base}/admin/regions`, { method: 'POST', body: JSON.stringify({ name: 'sa-east', lat: -23.55, lon: -46.63 }) });
    assert.equal(r.status, 201, await r.clone().text());
    const { body } = await get<Regions>('/admin/regions');
    const region = body.regions.find((x) => x.name === 'sa-east');
    assert.ok(region && region.nodes.length === 1 && region.nodes[0]!.pid > 0);
    assert.deepEqual(body.regions.map((x) => x.name).sort(), ['ap-northeast', 'eu-west', 'sa-east', 'us-east']);
    const route = await get<{ region: string; wsUrl: string }>('/api/route?room=admin-room&region=sa-east');
    assert.equal(route.body.region, 'sa-east');
    assert.equal(route.body.wsUrl, region.nodes[0]!.wsUrl);
  });

  it('refuses bad and duplicate regions', async () => {
    const post = (body: string) => fetch(`${cluster.base}/admin/regions`, { method: 'POST', body });
    assert.equal((await post('{"name":"sa-east","lat":1,"lon":1}')).status, 409);
    assert.equal((await post('{"name":"Bad Name","lat":1,"lon":1}')).status, 400);
    assert.equal((await post('{"name":"x","lat":91,"lon":1}')).status, 400);
    assert.equal((await post('not json')).status, 400);
    assert.equal((await post(JSON.stringify({ name: 'x', lat: 1, lon: 1, pad: 'x'.repeat(5000) }))).status, 413);
    assert.equal((await fetch(`${cluster.base}/admin/regions/nowhere`, { method: 'DELETE' })).status, 404);
  });

  it('DELETE drains the region: new joins are refused, the call in progress finishes, then the node goes', async () => {
    const route = await get<{ wsUrl: string }>('/api/route?room=admin-room&region=sa-east');
    const stayer = await SignalClient.connect(route.body.wsUrl);
    const caps = await stayer.request('getRouterRtpCapabilities');
    await stayer.request('join', { room: 'admin-room', displayName: 'Stayer', rtpCapabilities: caps });
    const removal = fetch(`${cluster.base}/admin/regions/sa-east`, { method: 'DELETE' });

    await eventually(async () => (await get<Regions>('/admin/regions')).body.regions.find((x) => x.name === 'sa-east')?.nodes[0]?.draining !== false, 'node reports draining');
    const late = await SignalClient.connect(route.body.wsUrl);
    const refused = await late.call('join', { room: 'admin-room', displayName: 'Late', rtpCapabilities: caps });
    assert.equal(refused.error?.code, 'draining');
    late.close();
    // Routing no longer offers the draining region for new rooms.
    const fresh = await get<{ region: string }>('/api/route?room=another-room');
    assert.notEqual(fresh.body.region, 'sa-east');

    // The call in progress goes on: its media (worker, router) was not torn down by the SIGTERM.
    await stayer.request('ping');
    assert.equal(stayer.notifications.some((n) => n.notification === 'rejoin'), false);
    await stayer.request('createWebRtcTransport', { direction: 'send' });
    stayer.close(); // ... until it ends, and the drained node exits
    const done = await removal;
    assert.equal(done.status, 200, cluster.output().slice(-2000));
    const { body } = await get<Regions>('/admin/regions');
    assert.equal(body.regions.some((x) => x.name === 'sa-east'), false);
    assert.equal((await get('/api/route?room=admin-room&region=sa-east')).status, 400);
  });

  it('treats only loopback callers as local', () => {
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '0000:0000:0000:0000:0000:0000:0000:0001']) assert.ok(isLoopback(ip), ip);
    for (const ip of ['10.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', '2001:db8::1', '']) assert.ok(!isLoopback(ip), ip);
  });
});
