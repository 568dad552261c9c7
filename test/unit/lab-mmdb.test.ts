import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reader } from 'maxmind';
import { createLogger } from '../../core/logger.js';
import { GeoLocator } from '../../geo-router/GeoLocator.js';
import { writeMmdb } from '../lab/mmdb.js';

// The lab's mmdb writer, read back by the `maxmind` package the geo-router uses: each address
// gets its own record, the most specific network wins, addresses outside every network get none.

const LONDON = { city: 'London', country_code: 'GB', latitude: 51.5074, longitude: -0.1278 };
const VIRGINIA = { city: 'Ashburn', country_code: 'US', latitude: 39.0438, longitude: -77.4874 };
const TOKYO = { city: 'Tokyo', country_code: 'JP', latitude: 35.6895, longitude: 139.6917 };

const db = writeMmdb([
  { address: '10.77.0.0', prefix: 24, record: LONDON },
  { address: '10.77.0.22', prefix: 32, record: VIRGINIA },
  { address: '10.77.0.23', prefix: 32, record: TOKYO },
  { address: '192.168.0.0', prefix: 16, record: { city: 'Nested', nested: { a: 'b', n: 1.5 }, long: 'x'.repeat(300) } },
]);

const ROWS: { name: string; address: string; want: unknown }[] = [
  { name: 'an address in the /24 gets its record', address: '10.77.0.21', want: LONDON },
  { name: 'a /32 inside the /24 wins over it', address: '10.77.0.22', want: VIRGINIA },
  { name: 'a second /32 gets its own', address: '10.77.0.23', want: TOKYO },
  { name: 'the /24\'s last address', address: '10.77.0.255', want: LONDON },
  { name: 'next door to the /24 is nowhere', address: '10.77.1.1', want: null },
  { name: 'far away is nowhere', address: '8.8.8.8', want: null },
  { name: 'nested maps and long strings read back', address: '192.168.40.1', want: { city: 'Nested', nested: { a: 'b', n: 1.5 }, long: 'x'.repeat(300) } },
];

describe('lab mmdb writer, read back with maxmind', () => {
  const reader = new Reader(db);
  for (const row of ROWS) {
    it(row.name, () => assert.deepEqual(reader.get(row.address), row.want));
  }

  it('writes metadata maxmind accepts', () => {
    assert.equal(reader.metadata.ipVersion, 4);
    assert.equal(reader.metadata.recordSize, 24);
    assert.equal(reader.metadata.binaryFormatMajorVersion, 2);
    assert.ok(Math.abs(reader.metadata.buildEpoch.getTime() - Date.now()) < 86_400_000);
  });

  it('rejects what it cannot write', () => {
    assert.throws(() => writeMmdb([{ address: '10.0.0.300', prefix: 8, record: {} }]), TypeError);
    assert.throws(() => writeMmdb([{ address: '10.0.0.0', prefix: 33, record: {} }]), TypeError);
  });

  describe('through the geo-router\'s GeoLocator', () => {
    let dir: string;
    let locator: GeoLocator;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lab-mmdb-'));
      await writeFile(join(dir, 'lab.mmdb'), db);
      locator = await GeoLocator.open({ files: [join(dir, 'lab.mmdb')], log: createLogger({ level: 'silent' }), watchIntervalMs: 0 });
    });
    after(async () => {
      locator?.close();
      await rm(dir, { recursive: true, force: true });
    });
    it('places lab addresses in their cities', () => {
      assert.deepEqual(locator.locate('10.77.0.23'), { latitude: TOKYO.latitude, longitude: TOKYO.longitude, countryCode: 'JP', city: 'Tokyo' });
      assert.equal(locator.locate('10.77.0.21')?.city, 'London');
      assert.equal(locator.locate('10.78.0.1'), undefined);
    });
  });
});
