import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLUSTER_NODES, DEFAULT_REGION } from '../../cli/clusterSpec.js';
import { asNodeId, type NodeId } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { LOOPBACK_CIDRS, TrustedProxies } from '../../geo-router/ClientAddress.js';
import { dbipCityFiles, GeoLocator, type Locator } from '../../geo-router/GeoLocator.js';
import { RegionSelector } from '../../geo-router/RegionSelector.js';
import { MAX_AVOID, parseAvoid, RouteApi, type RouteBody, type RouteQuery } from '../../geo-router/RouteApi.js';

// GET /api/route without an HTTP server: query, socket address and X-Forwarded-For in, status
// and body out, with the real database.

const log = createLogger({ level: 'silent' });
const REGIONS = CLUSTER_NODES.map((s) => ({ name: s.region, latitude: s.latitude, longitude: s.longitude }));

function clusterNodes(peers: Record<string, number> = {}): NodeRecord[] {
  return CLUSTER_NODES.map((s) => ({
    id: s.nodeId, region: s.region, latitude: s.latitude, longitude: s.longitude, wsUrl: `ws://127.0.0.1:${s.httpPort}/ws`,
    relayAddress: '', mediaAddress: '127.0.0.1', load: { peers: peers[s.region] ?? 0, rooms: 0, consumers: 0, cpu: 0 }, draining: false, pid: 0,
  }));
}

function api(opts: { nodes?: () => NodeRecord[]; hosting?: (room: string) => Promise<NodeId[]>; locator: Locator | undefined | Promise<Locator | undefined> }): RouteApi {
  return new RouteApi({
    selector: new RegionSelector({ defaultRegion: DEFAULT_REGION, maxPeersPerNode: 50, maxAlternatives: 2 }),
    trustedProxies: new TrustedProxies(LOOPBACK_CIDRS),
    locator: opts.locator,
    catalog: () => ({ nodes: opts.nodes?.() ?? clusterNodes(), regions: REGIONS }),
    roomNodes: async (room) => (opts.hosting ? opts.hosting(room) : []),
    log,
  });
}

const LONDON = '212.58.244.22';
const TOKYO = '203.178.141.194';
const CUPERTINO = '17.0.0.1';

describe('GET /api/route (RouteApi)', () => {
  let geo: GeoLocator;
  let route: (q: Partial<RouteQuery>) => ReturnType<RouteApi['route']>;
  before(async () => {
    geo = await GeoLocator.open({ files: dbipCityFiles(), log, watchIntervalMs: 0 });
    const a = api({ locator: geo });
    route = (q) => a.route({ room: 'demo', remoteAddress: '127.0.0.1', ...q });
  });
  after(() => geo.close());

  const body = async (q: Partial<RouteQuery>): Promise<RouteBody> => {
    const r = await route(q);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as RouteBody;
  };

  it('answers region, node, WebSocket URL, distance and alternatives', async () => {
    const b = await body({ forwardedFor: CUPERTINO });
    assert.deepEqual(Object.keys(b).sort(), ['alternatives', 'distanceKm', 'nodeId', 'region', 'wsUrl']);
    assert.equal(b.region, 'us-east');
    assert.equal(b.nodeId, 'us-east-1');
    assert.equal(b.wsUrl, 'ws://127.0.0.1:8082/ws');
    assert.ok(b.distanceKm! > 3500 && b.distanceKm! < 4000, `${b.distanceKm} km from Cupertino to Washington`);
    // From California, Tokyo (~8300 km) is nearer than London (~8600 km).
    assert.deepEqual(b.alternatives.map((a) => a.region), ['ap-northeast', 'eu-west']);
    assert.ok(b.alternatives.every((a) => typeof a.wsUrl === 'string' && typeof a.distanceKm === 'number'));
  });

  it('takes the address a trusted proxy (loopback) forwarded', async () => {
    assert.equal((await body({ remoteAddress: '127.0.0.1', forwardedFor: TOKYO })).region, 'ap-northeast');
    assert.equal((await body({ remoteAddress: '::ffff:127.0.0.1', forwardedFor: `${TOKYO}, 127.0.0.1` })).region, 'ap-northeast');
    assert.equal((await body({ remoteAddress: '::1', forwardedFor: LONDON })).region, 'eu-west');
  });

  it('ignores X-Forwarded-For from an untrusted peer: a Londoner cannot claim to be in Tokyo', async () => {
    const b = await body({ remoteAddress: LONDON, forwardedFor: TOKYO });
    assert.equal(b.region, 'eu-west');
    assert.ok(b.distanceKm! < 50);
  });

  it('ignores spoofed entries left of what the trusted proxy wrote', async () => {
    assert.equal((await body({ forwardedFor: `${TOKYO}, ${LONDON}` })).region, 'eu-west');
  });

  it('sends unknown, private, garbage and missing addresses to the default region, never an error', async () => {
    for (const q of [{}, { forwardedFor: '10.1.2.3' }, { forwardedFor: 'garbage' }, { forwardedFor: 'unknown' }, { remoteAddress: '' }, { remoteAddress: 'x' }, { remoteAddress: '192.168.0.4' }]) {
      const b = await body(q);
      assert.equal(b.region, 'eu-west', JSON.stringify(q));
      assert.equal(b.distanceKm, null);
    }
  });

  it('sends a client to the node already hosting its room, within its region', async () => {
    const eu2 = { ...clusterNodes()[0]!, id: asNodeId('eu-west-2'), wsUrl: 'ws://eu-west-2/ws' };
    const a = api({ locator: geo, nodes: () => [...clusterNodes({ 'eu-west': 0 }), { ...eu2, load: { ...eu2.load, peers: 20 } }], hosting: async (room) => (room === 'busy' ? [asNodeId('eu-west-2'), asNodeId('ap-northeast-1')] : []) });
    const r = await a.route({ room: 'busy', remoteAddress: '127.0.0.1', forwardedFor: LONDON });
    assert.equal((r.body as RouteBody).nodeId, 'eu-west-2');
    const other = await a.route({ room: 'quiet', remoteAddress: '127.0.0.1', forwardedFor: LONDON });
    assert.equal((other.body as RouteBody).nodeId, 'eu-west-1');
  });

  it('spills a full region to the next nearest', async () => {
    const a = api({ locator: geo, nodes: () => clusterNodes({ 'ap-northeast': 50 }) });
    const b = (await a.route({ room: 'demo', remoteAddress: '127.0.0.1', forwardedFor: TOKYO })).body as RouteBody;
    // From Tokyo, London (~9600 km) is nearer than Washington (~10900 km).
    assert.equal(b.region, 'eu-west');
    assert.deepEqual(b.alternatives.map((x) => x.region), ['us-east']);
  });

  it('keeps today\'s pin, 400 and 503 answers', async () => {
    const pinned = await body({ region: 'ap-northeast', forwardedFor: LONDON });
    assert.equal(pinned.region, 'ap-northeast');
    assert.deepEqual(pinned.alternatives, []);
    for (const room of ['', 'a b', 'x'.repeat(129), '../etc']) {
      const r = await route({ room });
      assert.equal(r.status, 400, room);
      assert.deepEqual(Object.keys(r.body), ['error']);
    }
    const mars = await route({ region: 'mars' });
    assert.equal(mars.status, 400);
    assert.match(JSON.stringify(mars.body), /bad_request.*unknown region \\"mars\\"; known regions: ap-northeast, eu-west, us-east/);
    const none = await api({ locator: geo, nodes: () => [] }).route({ room: 'demo', remoteAddress: '127.0.0.1' });
    assert.equal(none.status, 503);
    assert.match(JSON.stringify(none.body), /no_nodes/);
    const downRegion = await api({ locator: geo, nodes: () => clusterNodes().slice(0, 1) }).route({ room: 'demo', region: 'us-east', remoteAddress: '127.0.0.1' });
    assert.equal(downRegion.status, 503);
  });

  it('skips the nodes a client names in avoid= for that answer only, and never fails on a bad list', async () => {
    const eu = CLUSTER_NODES.find((n) => n.region === 'eu-west')!.nodeId;
    const us = CLUSTER_NODES.find((n) => n.region === 'us-east')!.nodeId;
    // A client of unknown location whose default-region node just died.
    const skipped = await body({ avoid: eu });
    assert.equal(skipped.region, 'us-east');
    assert.ok(skipped.alternatives.every((a) => a.nodeId !== eu), 'the avoided node is not offered as an alternative either');
    assert.equal((await body({})).region, 'eu-west', 'the next client, naming nothing, still gets eu-west');
    assert.equal((await body({ avoid: `${eu},${us}` })).region, 'ap-northeast');
    // Junk, duplicates and unknown ids are dropped, never an error.
    assert.equal((await body({ avoid: ` ${eu} ,,${eu},nobody, has space` })).region, 'us-east');
    assert.equal((await body({ avoid: 'x'.repeat(200) })).region, 'eu-west');
  });

  it('reads avoid= leniently: at most eight ids, no blanks, no duplicates', () => {
    assert.deepEqual(parseAvoid(undefined), []);
    assert.deepEqual(parseAvoid(''), []);
    assert.deepEqual(parseAvoid('a, b ,a,,c d'), ['a', 'b']);
    assert.deepEqual(parseAvoid(Array.from({ length: 20 }, (_, i) => `n${i}`).join(',')).length, MAX_AVOID);
  });

  it('answers 500 when the registry fails, and still routes without a database', async () => {
    const broken = api({ locator: geo, hosting: async () => { throw new Error('registry down'); } });
    const r = await broken.route({ room: 'demo', remoteAddress: '127.0.0.1' });
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { error: { code: 'internal', message: 'route lookup failed' } });
    for (const locator of [() => undefined, () => Promise.resolve(undefined), () => Promise.reject(new Error('no file'))]) {
      const b = (await api({ locator: locator() }).route({ room: 'demo', remoteAddress: '127.0.0.1', forwardedFor: TOKYO })).body as RouteBody;
      assert.equal(b.region, 'eu-west');
      assert.equal(b.distanceKm, null);
    }
  });
});
