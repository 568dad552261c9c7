import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLUSTER_NODES, DEFAULT_REGION } from '../../cli/clusterSpec.js';
import { asRegionName } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { dbipCityFiles, GeoLocator, toLocation } from '../../geo-router/GeoLocator.js';
import { RegionSelector } from '../../geo-router/RegionSelector.js';
import { KNOWN_ADDRESSES, NOT_ADDRESSES } from '../helpers/addresses.js';

// The installed DB-IP City lite database, on addresses whose owners have not moved in decades
// (test/helpers/addresses.ts). Rows check the country and the region chosen, not the city, so a
// monthly database update does not break them.

const log = createLogger({ level: 'silent' });

/** One node per region of the local cluster, at the cluster's sites. */
const CLUSTER: NodeRecord[] = CLUSTER_NODES.map((s) => ({
  id: s.nodeId, region: s.region, latitude: s.latitude, longitude: s.longitude, wsUrl: `ws://127.0.0.1:${s.httpPort}/ws`,
  relayAddress: '', mediaAddress: '127.0.0.1', load: { peers: 0, rooms: 0, consumers: 0, cpu: 0 }, draining: false, pid: 0,
}));
const REGIONS = CLUSTER_NODES.map((s) => ({ name: s.region, latitude: s.latitude, longitude: s.longitude }));
const selector = new RegionSelector({ defaultRegion: DEFAULT_REGION, maxPeersPerNode: 50, maxAlternatives: 2 });

/** Special-use ranges no database places, and strings that are no address. */
const NOWHERE: { name: string; address: string }[] = [
  { name: 'private 10/8', address: '10.0.0.1' },
  { name: 'private 192.168/16', address: '192.168.1.20' },
  { name: 'carrier-grade NAT', address: '100.64.0.1' },
  { name: 'loopback', address: '127.0.0.1' },
  { name: 'IPv6 loopback', address: '::1' },
  { name: 'IPv6 link-local', address: 'fe80::1' },
  { name: 'IPv6 unique-local', address: 'fd00::1' },
  { name: 'documentation range', address: '192.0.2.1' },
  { name: 'unspecified', address: '0.0.0.0' },
  { name: 'broadcast', address: '255.255.255.255' },
  ...Object.entries(NOT_ADDRESSES).map(([what, address]) => ({ name: `not an address (${what})`, address })),
];

describe('GeoIP lookup (DB-IP City lite)', () => {
  let geo: GeoLocator;
  before(async () => {
    const started = performance.now();
    geo = await GeoLocator.open({ files: dbipCityFiles(), log, watchIntervalMs: 0 });
    console.log(`# geo: both DB-IP files loaded in ${Math.round(performance.now() - started)} ms`);
  });
  after(() => geo.close());

  for (const row of KNOWN_ADDRESSES) {
    it(`${row.name} → ${row.country}, ${row.region}`, () => {
      const where = geo.locate(row.address);
      assert.ok(where, `no location for ${row.address}`);
      console.log(`# geo: ${row.address} → ${where.city}, ${where.countryCode} (${where.latitude.toFixed(2)}, ${where.longitude.toFixed(2)})`);
      assert.equal(where.countryCode, row.country);
      const sel = selector.select({ nodes: CLUSTER, regions: REGIONS }, { client: where, hosting: [] });
      assert.ok(sel.ok);
      assert.equal(sel.choice.region, row.region);
      assert.ok(sel.choice.distanceKm !== null && sel.choice.distanceKm < 11_000);
    });
  }

  for (const row of NOWHERE) {
    it(`${row.name} has no location, so the default region`, () => {
      const where = geo.locate(row.address);
      assert.equal(where, undefined);
      const sel = selector.select({ nodes: CLUSTER, regions: REGIONS }, { client: where, hosting: [] });
      assert.ok(sel.ok && sel.choice.region === asRegionName('eu-west') && sel.choice.distanceKm === null);
    });
  }

  it('looks up in microseconds', () => {
    const sample = KNOWN_ADDRESSES.map((a) => a.address).concat(NOWHERE.map((a) => a.address));
    // Spread over the whole IPv4 space too, so the decoder cannot live off a few hot records.
    for (let i = 0; i < 2000; i++) sample.push(`${1 + (i * 7) % 223}.${(i * 13) % 256}.${(i * 29) % 256}.${(i * 31) % 256}`);
    const rounds = 20;
    const started = performance.now();
    let found = 0;
    for (let r = 0; r < rounds; r++) for (const a of sample) if (geo.locate(a)) found++;
    const us = ((performance.now() - started) * 1000) / (rounds * sample.length);
    console.log(`# geo: ${(rounds * sample.length).toLocaleString('en')} lookups, ${us.toFixed(2)} µs each, ${Math.round((100 * found) / (rounds * sample.length))} % located`);
    assert.ok(us < 100, `${us} µs per lookup`);
  });
});

describe('database records', () => {
  it('reads DB-IP lite\'s flat shape', () => {
    assert.deepEqual(toLocation({ city: 'London', country_code: 'GB', latitude: 51.5, longitude: -0.12, state1: 'England' }), {
      latitude: 51.5, longitude: -0.12, countryCode: 'GB', city: 'London',
    });
  });

  it('reads MaxMind GeoIP2 / GeoLite2 City\'s nested shape', () => {
    const record = {
      city: { geoname_id: 2643743, names: { en: 'London', de: 'London' } },
      continent: { code: 'EU', geoname_id: 6255148, names: { en: 'Europe' } },
      country: { geoname_id: 2635167, iso_code: 'GB', names: { en: 'United Kingdom' } },
      location: { accuracy_radius: 10, latitude: 51.5142, longitude: -0.0931, time_zone: 'Europe/London' },
      registered_country: { geoname_id: 6252001, iso_code: 'US', names: { en: 'United States' } },
    };
    assert.deepEqual(toLocation(record), { latitude: 51.5142, longitude: -0.0931, countryCode: 'GB', city: 'London' });
    // A country-level entry (no city) still locates, with the registered country as a last resort.
    assert.deepEqual(toLocation({ location: { latitude: 37.751, longitude: -97.822, accuracy_radius: 1000 }, registered_country: { iso_code: 'US' } }), {
      latitude: 37.751, longitude: -97.822, countryCode: 'US',
    });
  });

  it('finds no place in records without usable coordinates', () => {
    for (const r of [null, undefined, 'x', {}, { country: { iso_code: 'GB' } }, { latitude: 'x', longitude: 1 }, { latitude: 91, longitude: 0 },
      { latitude: 0, longitude: 0, country_code: 'ZZ' }, { location: { latitude: NaN, longitude: 3 } }, { location: { accuracy_radius: 5 } }]) {
      assert.equal(toLocation(r), undefined, JSON.stringify(r));
    }
  });
});

describe('database files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'octomesh-geo-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses to open a missing or damaged file', async () => {
    await assert.rejects(GeoLocator.open({ files: [join(dir, 'missing.mmdb')], log, watchIntervalMs: 0 }), /ENOENT/);
    await writeFile(join(dir, 'junk.mmdb'), Buffer.alloc(4096, 7));
    await assert.rejects(GeoLocator.open({ files: [join(dir, 'junk.mmdb')], log, watchIntervalMs: 0 }));
    await assert.rejects(GeoLocator.open({ files: [], log }), TypeError);
  });

  it('reloads a replaced file without a restart, and keeps the old data while the new file is broken', async () => {
    const [v4, v6] = dbipCityFiles();
    const file = join(dir, 'city.mmdb');
    await copyFile(v4!, file);
    const geo = await GeoLocator.open({ files: [file], log, watchIntervalMs: 50 });
    try {
      // The file watch does not keep the process alive (a server has its sockets for that): the timer does.
      const event = (name: 'reload' | 'reloadFailed'): Promise<unknown> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${name} event within 10 s`)), 10_000);
          geo.once(name, (e) => {
            clearTimeout(timer);
            resolve(e);
          });
        });
      assert.equal(geo.locate('81.2.69.142')?.countryCode, 'GB');
      assert.equal(geo.locate('2a00:1450:4009::1'), undefined, 'an IPv4 database answers no IPv6 address');

      // A copy cut short (or any junk): refused, the previous database goes on answering.
      const failed = event('reloadFailed');
      await writeFile(file, Buffer.alloc(1 << 16, 1));
      await failed;
      assert.equal(geo.locate('81.2.69.142')?.countryCode, 'GB');

      // The usual way to update: write next to it, rename over it.
      const reloaded = event('reload');
      await copyFile(v6!, join(dir, 'city.mmdb.new'));
      const renamed = performance.now();
      await rename(join(dir, 'city.mmdb.new'), file);
      const { ms } = (await reloaded) as { ms: number };
      console.log(`# geo: reload of the IPv6 file took ${ms} ms, in use ${Math.round(performance.now() - renamed)} ms after the rename`);
      assert.equal(geo.locate('2a00:1450:4009::1')?.countryCode, 'GB', 'the new (IPv6) database answers');
    } finally {
      geo.close();
      geo.close();
    }
  });
});
