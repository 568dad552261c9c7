import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chooseByRtt, clearlyFaster, pingUrl, type Measured, type Route, type RouteTarget } from '../../client/sdk/RttProbe.js';

// The browser SDK's second opinion on the geo-router: probe /ping on the chosen node and the
// next-nearest alternatives, take one only if clearly faster. Node has fetch too, so the probe
// runs here against real HTTP servers that answer late on purpose.

const target = (region: string, wsUrl = `ws://${region}.test/ws`): RouteTarget => ({ region, nodeId: `${region}-1`, wsUrl, distanceKm: 1000 });
const m = (region: string, ms: number | null): Measured => ({ target: target(region), ms });

describe('clearly faster', () => {
  const rows: { name: string; geo: number | null; alts: [string, number | null][]; want: string | undefined }[] = [
    { name: 'less than half and 120 ms faster: taken', geo: 200, alts: [['b', 80]], want: 'b' },
    { name: 'faster, but not twice as fast: kept', geo: 200, alts: [['b', 110]], want: undefined },
    { name: 'twice as fast but only 25 ms: kept (a LAN is not a reason to move)', geo: 40, alts: [['b', 15]], want: undefined },
    { name: 'just inside both limits', geo: 100, alts: [['b', 49]], want: 'b' },
    { name: 'exactly half: kept', geo: 100, alts: [['b', 50]], want: undefined },
    { name: 'the fastest of two that qualify', geo: 300, alts: [['b', 120], ['c', 60]], want: 'c' },
    { name: 'the geo choice did not answer: any alternative that did', geo: null, alts: [['b', null], ['c', 400]], want: 'c' },
    { name: 'nobody answered: kept', geo: null, alts: [['b', null]], want: undefined },
    { name: 'no alternatives: kept', geo: 100, alts: [], want: undefined },
  ];
  for (const r of rows) {
    it(r.name, () => assert.equal(clearlyFaster(m('a', r.geo), r.alts.map(([region, ms]) => m(region, ms)))?.target.region, r.want));
  }
});

describe('ping URL of a region node', () => {
  const rows: [string, string | undefined][] = [
    ['ws://127.0.0.1:8081/ws', 'http://127.0.0.1:8081/ping'],
    ['wss://eu.example.com/ws', 'https://eu.example.com/ping'],
    ['wss://example.com/eu-west/ws?x=1#y', 'https://example.com/eu-west/ping'],
    ['ws://[::1]:8082/ws/', 'http://[::1]:8082/ping'],
    ['ws://node.test/', 'http://node.test/ping'],
    ['ftp://node.test/ws', undefined],
    ['not a url', undefined],
  ];
  for (const [ws, want] of rows) it(ws, () => assert.equal(pingUrl(ws), want));
});

describe('probing real servers', () => {
  const servers: Server[] = [];
  const delays = new Map<string, number>();
  const urls = new Map<string, string>();

  before(async () => {
    // One loopback address each: nodes on one host are not probed against each other.
    for (const [i, region] of ['geo', 'near', 'far'].entries()) {
      const server = createServer((req, res) => {
        assert.equal(req.url, '/ping');
        setTimeout(() => res.end(JSON.stringify({ region, now: Date.now() })), delays.get(region) ?? 0).unref();
      });
      await new Promise<void>((resolve) => server.listen(0, `127.0.0.${i + 1}`, resolve));
      servers.push(server);
      urls.set(region, `ws://127.0.0.${i + 1}:${(server.address() as AddressInfo).port}/ws`);
    }
  });
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const route = (alternatives = ['near', 'far']): Route => ({
    ...target('geo', urls.get('geo')),
    alternatives: alternatives.map((r) => target(r, urls.get(r) ?? 'ws://127.0.0.9:1/ws')),
  });

  it('takes an alternative that answers clearly faster, and says so', async () => {
    delays.set('geo', 150).set('near', 10).set('far', 80);
    const d = await chooseByRtt(route(), { budgetMs: 2000 });
    assert.equal(d.by, 'rtt');
    assert.equal(d.region, 'near');
    assert.equal(d.geoRegion, 'geo');
    assert.equal(d.wsUrl, urls.get('near'));
    assert.ok(d.rttMs['geo']! >= 150 && d.rttMs['near']! < 100 && d.rttMs['far']! >= 80, JSON.stringify(d.rttMs));
  });

  it('keeps the geo choice when the difference is small', async () => {
    delays.set('geo', 40).set('near', 20).set('far', 20);
    const d = await chooseByRtt(route(), { budgetMs: 2000 });
    assert.equal(d.by, 'geoip');
    assert.equal(d.region, 'geo');
    assert.deepEqual(Object.keys(d.rttMs).sort(), ['far', 'geo', 'near']);
  });

  it('stops at the budget: a geo choice that does not answer in time loses to one that does', async () => {
    delays.set('geo', 3000).set('near', 5).set('far', 5);
    const started = performance.now();
    const d = await chooseByRtt(route(['near']), { budgetMs: 400 });
    const took = performance.now() - started;
    assert.ok(took < 800, `${took} ms`);
    assert.equal(d.rttMs['geo'], null);
    assert.equal(d.by, 'rtt');
    assert.equal(d.region, 'near');
  });

  it('probes only the first alternatives, and a refused one counts as no answer', async () => {
    delays.set('geo', 5).set('near', 5).set('far', 5);
    const d = await chooseByRtt(route(['refused', 'near', 'far']), { maxProbed: 2, budgetMs: 1000 });
    assert.equal(d.by, 'geoip');
    assert.deepEqual(Object.keys(d.rttMs).sort(), ['geo', 'near', 'refused']);
    assert.equal(d.rttMs['refused'], null);
  });

  it('does not probe when there is nothing to compare', async () => {
    const d = await chooseByRtt(route([]));
    assert.deepEqual(d, { region: 'geo', nodeId: 'geo-1', wsUrl: urls.get('geo'), by: 'geoip', geoRegion: 'geo', distanceKm: 1000, rttMs: {} });
  });

  it('does not probe nodes on the geo choice\'s own host', async () => {
    delays.set('geo', 300);
    const r = route(['near']);
    r.alternatives[0]!.wsUrl = r.wsUrl.replace(/:\d+\//, ':1/');
    const d = await chooseByRtt(r);
    assert.equal(d.by, 'geoip');
    assert.deepEqual(d.rttMs, {});
  });
});
