import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { greatCircleKm, type LatLon } from '../../core/geo.js';
import { asNodeId, asRegionName } from '../../core/ids.js';
import type { NodeLoad, NodeRecord } from '../../core/registry/Registry.js';
import { RegionSelector, type RegionSite, type RouteRequest } from '../../geo-router/RegionSelector.js';

// Region selection as a table: who asks (where from, which room, any pin), which nodes there
// are, which node they get.

const SITES: Record<string, LatLon> = {
  'eu-west': { latitude: 51.51, longitude: -0.13 },
  'us-east': { latitude: 38.9, longitude: -77.04 },
  'ap-northeast': { latitude: 35.68, longitude: 139.69 },
  'sa-east': { latitude: -23.55, longitude: -46.63 },
};
const CLUSTER_REGIONS: RegionSite[] = ['eu-west', 'us-east', 'ap-northeast'].map((r) => ({ name: asRegionName(r), ...SITES[r]! }));

const CITY = {
  london: { latitude: 51.5072, longitude: -0.1276 },
  cupertino: { latitude: 37.3322, longitude: -122.011 },
  tokyo: { latitude: 35.6916, longitude: 139.768 },
  sydney: { latitude: -33.8688, longitude: 151.209 },
  saoPaulo: { latitude: -23.5611, longitude: -46.6876 },
  lagos: { latitude: 6.5244, longitude: 3.3792 },
};

const counters = new Map<string, number>();
/** A node of `region` (at the region's site) with the given load; ids run eu-west-1, eu-west-2, … */
function testNode(region: string, load: Partial<NodeLoad> & { draining?: boolean; id?: string } = {}): NodeRecord {
  const n = (counters.get(region) ?? 0) + 1;
  counters.set(region, n);
  const { draining = false, id = `${region}-${n}`, ...l } = load;
  return {
    id: asNodeId(id),
    region: asRegionName(region),
    ...SITES[region]!,
    wsUrl: `ws://${id}.test/ws`,
    relayAddress: '',
    mediaAddress: '127.0.0.1',
    load: { peers: 0, rooms: 0, consumers: 0, cpu: 0, ...l },
    draining,
    pid: 0,
  };
}

const selector = new RegionSelector({ defaultRegion: asRegionName('eu-west'), maxPeersPerNode: 50, maxAlternatives: 2 });

interface Row {
  name: string;
  nodes: () => NodeRecord[];
  client?: LatLon;
  hosting?: string[];
  pinned?: string;
  avoid?: string[];
  /** The node id chosen. */
  want?: string;
  wantErr?: 'no_nodes' | 'unknown_region';
}

const select = (row: Row) =>
  selector.select(
    { nodes: row.nodes(), regions: CLUSTER_REGIONS },
    { client: row.client, hosting: (row.hosting ?? []).map(asNodeId), pinned: row.pinned, avoid: row.avoid } satisfies RouteRequest,
  );

const ROWS: Row[] = [
  { name: 'a London client goes to eu-west', client: CITY.london, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'eu-west-1' },
  { name: 'a Californian client goes to us-east', client: CITY.cupertino, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'us-east-1' },
  { name: 'a Tokyo client goes to ap-northeast', client: CITY.tokyo, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'ap-northeast-1' },
  { name: 'a Sydney client goes to ap-northeast', client: CITY.sydney, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'ap-northeast-1' },
  { name: 'a São Paulo client goes to us-east, nearer than eu-west', client: CITY.saoPaulo, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'us-east-1' },
  { name: 'a São Paulo client goes to sa-east once it exists', client: CITY.saoPaulo, nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('sa-east')], want: 'sa-east-1' },
  { name: 'an unknown location goes to the default region', nodes: () => [testNode('us-east'), testNode('eu-west'), testNode('ap-northeast')], want: 'eu-west-1' },
  { name: 'an unknown location goes to the region nearest the default one when it is down', nodes: () => [testNode('ap-northeast'), testNode('us-east')], want: 'us-east-1' },
  { name: 'inside the region, the least-loaded node', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 5 }), testNode('eu-west', { peers: 2 }), testNode('us-east')], want: 'eu-west-2' },
  { name: 'CPU counts before peers', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 1, cpu: 0.7 }), testNode('eu-west', { peers: 9, cpu: 0.2 })], want: 'eu-west-2' },
  { name: 'a busy node loses new rooms to an idle one in its region, although it has fewer peers', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 3, consumers: 40, cpu: 0.45 }), testNode('eu-west', { peers: 15, cpu: 0.03 })], want: 'eu-west-2' },
  { name: 'a busy region still takes its own clients: CPU picks within a region, never across', client: CITY.london, nodes: () => [testNode('eu-west', { cpu: 0.9 }), testNode('us-east', { cpu: 0 })], want: 'eu-west-1' },
  { name: 'CPU within one 10-point step is noise: peers decide', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 1, cpu: 0.24 }), testNode('eu-west', { peers: 9, cpu: 0.21 })], want: 'eu-west-1' },
  { name: 'equal peers: fewer consumers', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 3, consumers: 9 }), testNode('eu-west', { peers: 3, consumers: 4 })], want: 'eu-west-2' },
  { name: 'a node already hosting the room first, although busier', client: CITY.london, hosting: ['eu-west-1'], nodes: () => [testNode('eu-west', { peers: 30 }), testNode('eu-west', { peers: 0 })], want: 'eu-west-1' },
  { name: 'a host in a far region does not pull the client there', client: CITY.london, hosting: ['ap-northeast-1'], nodes: () => [testNode('eu-west'), testNode('ap-northeast')], want: 'eu-west-1' },
  { name: 'draining nodes take no joins', client: CITY.london, nodes: () => [testNode('eu-west', { draining: true }), testNode('eu-west', { peers: 40 })], want: 'eu-west-2' },
  { name: 'a draining region sends its clients to the next nearest', client: CITY.london, hosting: ['eu-west-1'], nodes: () => [testNode('eu-west', { draining: true }), testNode('us-east'), testNode('ap-northeast')], want: 'us-east-1' },
  { name: 'spills to the next region when the nearest is full', client: CITY.london, nodes: () => [testNode('eu-west', { peers: 50 }), testNode('eu-west', { peers: 60 }), testNode('us-east', { peers: 49 })], want: 'us-east-1' },
  { name: 'a full host gives way to a node of its region with room', client: CITY.london, hosting: ['eu-west-1'], nodes: () => [testNode('eu-west', { peers: 50 }), testNode('eu-west', { peers: 10 })], want: 'eu-west-2' },
  { name: 'with every node full, the nearest region still answers', client: CITY.tokyo, nodes: () => [testNode('eu-west', { peers: 50 }), testNode('ap-northeast', { peers: 80 }), testNode('ap-northeast', { peers: 70 })], want: 'ap-northeast-2' },
  { name: 'a pin wins over distance', client: CITY.london, pinned: 'ap-northeast', nodes: () => [testNode('eu-west'), testNode('ap-northeast')], want: 'ap-northeast-1' },
  { name: 'a pin keeps to its region, hosting node first', pinned: 'eu-west', hosting: ['eu-west-1'], nodes: () => [testNode('us-east'), testNode('eu-west', { peers: 5 }), testNode('eu-west', { peers: 2 })], want: 'eu-west-1' },
  { name: 'a pinned region that is full does not spill', client: CITY.london, pinned: 'eu-west', nodes: () => [testNode('eu-west', { peers: 99 }), testNode('us-east')], want: 'eu-west-1' },
  { name: 'a region known only from its nodes can be pinned', pinned: 'sa-east', nodes: () => [testNode('eu-west'), testNode('sa-east')], want: 'sa-east-1' },
  { name: 'a pinned region that is known but down: no nodes', pinned: 'us-east', nodes: () => [testNode('eu-west')], wantErr: 'no_nodes' },
  { name: 'a pinned region whose nodes all drain: no nodes', pinned: 'eu-west', nodes: () => [testNode('eu-west', { draining: true }), testNode('us-east')], wantErr: 'no_nodes' },
  { name: 'an unknown pinned region', pinned: 'mars', nodes: () => [testNode('eu-west')], wantErr: 'unknown_region' },
  { name: 'a node the client just failed on is skipped for it: the next node of the region', client: CITY.london, avoid: ['eu-west-1'], nodes: () => [testNode('eu-west'), testNode('eu-west', { peers: 30 }), testNode('us-east')], want: 'eu-west-2' },
  { name: 'the default region\'s only node failed: an unknown location goes to the next nearest', avoid: ['eu-west-1'], nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'us-east-1' },
  { name: 'an avoided host of the room loses its affinity', client: CITY.london, hosting: ['eu-west-1'], avoid: ['eu-west-1'], nodes: () => [testNode('eu-west'), testNode('eu-west', { peers: 40 })], want: 'eu-west-2' },
  { name: 'several nodes avoided at once', client: CITY.tokyo, avoid: ['ap-northeast-1', 'us-east-1'], nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'eu-west-1' },
  { name: 'when every node is avoided, the usual choice (better than none)', client: CITY.london, avoid: ['eu-west-1', 'us-east-1'], nodes: () => [testNode('eu-west'), testNode('us-east')], want: 'eu-west-1' },
  { name: 'a pinned region whose only node the client just failed on yields to geography', client: CITY.london, pinned: 'us-east', avoid: ['us-east-1'], nodes: () => [testNode('eu-west'), testNode('us-east')], want: 'eu-west-1' },
  { name: '…an unknown location then goes to the default region', pinned: 'ap-northeast', avoid: ['ap-northeast-1'], nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')], want: 'eu-west-1' },
  { name: 'a pin holds while its region has a node the client did not fail on', client: CITY.london, pinned: 'us-east', avoid: ['us-east-1'], nodes: () => [testNode('eu-west'), testNode('us-east'), testNode('us-east', { peers: 40 })], want: 'us-east-2' },
  { name: 'a pinned region that is down stays an error even with avoid', pinned: 'us-east', avoid: ['us-east-1'], nodes: () => [testNode('eu-west')], wantErr: 'no_nodes' },
  { name: 'an avoided id that is not registered changes nothing', client: CITY.london, avoid: ['gone-7'], nodes: () => [testNode('eu-west'), testNode('us-east')], want: 'eu-west-1' },
  { name: 'avoiding a node does not bring back a draining one', client: CITY.london, avoid: ['eu-west-2'], nodes: () => [testNode('eu-west', { draining: true }), testNode('eu-west'), testNode('us-east')], want: 'us-east-1' },
  { name: 'no node at all', client: CITY.london, nodes: () => [], wantErr: 'no_nodes' },
  { name: 'every node draining', nodes: () => [testNode('eu-west', { draining: true }), testNode('us-east', { draining: true })], wantErr: 'no_nodes' },
];

describe('region selection', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      counters.clear();
      const sel = select(row);
      if (row.wantErr) {
        assert.ok(!sel.ok, `want ${row.wantErr}, got ${sel.ok ? sel.choice.node.id : ''}`);
        assert.equal(sel.code, row.wantErr);
      } else {
        assert.ok(sel.ok, sel.ok ? '' : sel.message);
        assert.equal(sel.choice.node.id, row.want);
      }
    });
  }

  it('names the known regions when a pin is unknown', () => {
    const sel = selector.select({ nodes: [testNode('sa-east')], regions: CLUSTER_REGIONS }, { client: undefined, hosting: [], pinned: 'mars' });
    assert.ok(!sel.ok);
    assert.match(sel.message, /ap-northeast, eu-west, sa-east, us-east/);
  });

  it('offers the next-nearest regions as alternatives, with distances, up to the maximum', () => {
    counters.clear();
    const nodes = [testNode('eu-west'), testNode('us-east', { peers: 5 }), testNode('us-east', { peers: 1 }), testNode('ap-northeast'), testNode('sa-east')];
    const sel = selector.select({ nodes, regions: CLUSTER_REGIONS }, { client: CITY.lagos, hosting: [] });
    assert.ok(sel.ok);
    const summary = [sel.choice, ...sel.alternatives].map((c) => `${c.node.id} ${c.distanceKm}`);
    // Lagos: London ~5000 km, São Paulo ~6300 km, Washington ~8400 km, Tokyo ~13500 km.
    assert.deepEqual(summary.map((s) => s.split(' ')[0]), ['eu-west-1', 'sa-east-1', 'us-east-2']);
    assert.equal(sel.choice.distanceKm, Math.round(greatCircleKm(CITY.lagos, SITES['eu-west']!)));
    assert.ok(sel.alternatives.every((a) => Number.isInteger(a.distanceKm)));
  });

  it('reports no distance and no pin alternatives when it cannot or should not', () => {
    counters.clear();
    const nodes = [testNode('eu-west'), testNode('us-east'), testNode('ap-northeast')];
    const unknown = selector.select({ nodes, regions: CLUSTER_REGIONS }, { client: undefined, hosting: [] });
    assert.ok(unknown.ok);
    assert.equal(unknown.choice.distanceKm, null);
    assert.deepEqual(unknown.alternatives.map((a) => [a.region, a.distanceKm]), [['us-east', null], ['ap-northeast', null]]);
    const pinned = selector.select({ nodes, regions: CLUSTER_REGIONS }, { client: CITY.tokyo, hosting: [], pinned: 'eu-west' });
    assert.ok(pinned.ok);
    assert.equal(pinned.choice.region, 'eu-west');
    assert.ok(pinned.choice.distanceKm! > 9000);
    assert.deepEqual(pinned.alternatives, []);
  });

  it('skips nodes the health predicate rejects', () => {
    counters.clear();
    const sick = new RegionSelector({ ...selector.options, isHealthy: (n) => n.id !== 'eu-west-1' });
    const sel = sick.select({ nodes: [testNode('eu-west'), testNode('us-east')], regions: CLUSTER_REGIONS }, { client: CITY.london, hosting: [] });
    assert.ok(sel.ok && sel.choice.node.id === 'us-east-1');
  });

  it('refuses nonsense options at construction', () => {
    assert.throws(() => new RegionSelector({ ...selector.options, maxPeersPerNode: 0 }), TypeError);
    assert.throws(() => new RegionSelector({ ...selector.options, maxAlternatives: -1 }), TypeError);
  });
});

describe('great-circle distance', () => {
  const rows: { name: string; a: LatLon; b: LatLon; km: number }[] = [
    { name: 'London to New York', a: { latitude: 51.5072, longitude: -0.1276 }, b: { latitude: 40.7128, longitude: -74.006 }, km: 5570 },
    { name: 'London to Tokyo', a: SITES['eu-west']!, b: SITES['ap-northeast']!, km: 9560 },
    { name: 'Sydney to São Paulo (across the date line side)', a: CITY.sydney, b: CITY.saoPaulo, km: 13370 },
    { name: 'a point to itself', a: CITY.tokyo, b: CITY.tokyo, km: 0 },
    { name: 'antipodes: half the circumference', a: { latitude: 0, longitude: 0 }, b: { latitude: 0, longitude: 180 }, km: 20015 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const km = greatCircleKm(r.a, r.b);
      assert.ok(Math.abs(km - r.km) <= Math.max(5, r.km * 0.005), `${km.toFixed(0)} km, want ~${r.km}`);
      assert.equal(Math.round(greatCircleKm(r.b, r.a)), Math.round(km));
    });
  }
});
