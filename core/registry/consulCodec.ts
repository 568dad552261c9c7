import { asNodeId, asRegionName, type NodeId, type RoomId } from '../ids.js';
import type { NodeLoad, NodeRecord } from './Registry.js';

// How ConsulRegistry lays the registry out in Consul: names, keys, service meta, and the
// parsing of what health/service and kv answer. Pure functions, shared with the tests.

export const SERVICE_NAME = 'octomesh-region-node';
export const ROOMS_PREFIX = 'octomesh/rooms/';

export const checkIdOf = (node: NodeId | string): string => `service:${node}`;
export const roomPrefix = (room: RoomId | string): string => `${ROOMS_PREFIX}${room}/`;
export const roomKey = (room: RoomId | string, node: NodeId | string): string => `${roomPrefix(room)}${node}`;
/** Also how a restarted process finds the sessions its predecessor left behind. */
export const sessionNameOf = (node: NodeId | string): string => `octomesh presence ${node}`;

interface KvItem {
  Key: string;
  Session?: string;
}
interface HealthEntry {
  Service?: { ID: string; Service: string; Meta?: Record<string, string> | null };
  Checks?: { Status: string }[];
}

/** Service meta: Consul wants string values (at most 512 bytes each). */
export function metaOf(r: NodeRecord): Record<string, string> {
  // CPU in 5 % steps: finer would re-register (and wake every watcher) on every report.
  const load: NodeLoad = { ...r.load, cpu: Math.round(r.load.cpu * 20) / 20 };
  return {
    region: r.region,
    lat: String(r.latitude),
    lon: String(r.longitude),
    wsUrl: r.wsUrl,
    relayAddress: r.relayAddress,
    mediaAddress: r.mediaAddress,
    pid: String(r.pid),
    draining: String(r.draining),
    load: JSON.stringify(load),
  };
}

function parseLoad(json: string | undefined): NodeLoad {
  const zero: NodeLoad = { peers: 0, rooms: 0, consumers: 0, cpu: 0 };
  try {
    const v = JSON.parse(json ?? '{}') as Partial<Record<keyof NodeLoad, unknown>>;
    const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
    return { peers: num(v.peers), rooms: num(v.rooms), consumers: num(v.consumers), cpu: num(v.cpu) };
  } catch {
    return zero;
  }
}

/** health/service entries → records; entries without our meta (not a region node) are skipped. */
export function parseNodes(body: unknown): NodeRecord[] {
  const out: NodeRecord[] = [];
  for (const e of Array.isArray(body) ? (body as HealthEntry[]) : []) {
    const s = e.Service;
    // ?passing already filters; checked again in case a proxy or cache dropped the parameter.
    if (!s || s.Service !== SERVICE_NAME || (e.Checks ?? []).some((c) => c.Status !== 'passing')) continue;
    const m = s.Meta ?? {};
    const lat = Number(m.lat);
    const lon = Number(m.lon);
    if (!m.region || !m.wsUrl || !m.lat || !m.lon || !Number.isFinite(lat) || !Number.isFinite(lon)) continue;
    out.push({
      id: asNodeId(s.ID),
      region: asRegionName(m.region),
      latitude: lat,
      longitude: lon,
      wsUrl: m.wsUrl,
      relayAddress: m.relayAddress ?? '',
      mediaAddress: m.mediaAddress ?? '',
      load: parseLoad(m.load),
      draining: m.draining === 'true',
      pid: Number(m.pid) || 0,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** KV entries under a room's prefix → the nodes holding them under a live session. */
export function presentNodes(room: RoomId, body: unknown): NodeId[] {
  const prefix = roomPrefix(room);
  const ids = (Array.isArray(body) ? (body as KvItem[]) : [])
    .filter((i) => i.Session && typeof i.Key === 'string' && i.Key.startsWith(prefix) && i.Key.length > prefix.length && !i.Key.slice(prefix.length).includes('/'))
    .map((i) => asNodeId(i.Key.slice(prefix.length)));
  return ids.sort();
}
