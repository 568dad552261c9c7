import type { Registry } from '../core/registry/Registry.js';
import type { RoomId } from '../core/ids.js';
import type { NodeObjects, RegionNode } from '../region-node/RegionNode.js';

/**
 * What every node holds at one moment, flattened per node to `{key: count}`:
 * `node.*` the node's own maps (rooms, peers, sockets, links, pipes), `live.*` mediasoup
 * objects as this process holds them, `dump.*` as the worker processes list them. Memory is
 * kept apart: it is reported, never compared exactly.
 */
export interface ObjectSnapshot {
  atMs: number;
  processRssBytes: number;
  heapUsedBytes: number;
  workersRssBytes: number;
  /** Registry room presence, per room name. */
  presence: Record<string, number>;
  nodes: { nodeId: string; counts: Record<string, number>; created: Record<string, number> }[];
}

export async function takeSnapshot(nodes: readonly RegionNode[], registry: Registry, rooms: readonly string[]): Promise<ObjectSnapshot> {
  const per = await Promise.all(nodes.map((n) => n.objectCounts()));
  const presence: Record<string, number> = {};
  for (const r of rooms) presence[r] = (await registry.roomNodes(r as RoomId)).length;
  const mem = process.memoryUsage();
  return {
    atMs: performance.now(),
    processRssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    workersRssBytes: per.flatMap((n) => n.workers).reduce((a, w) => a + (w.rssBytes ?? 0), 0),
    presence,
    nodes: per.map((n) => ({ nodeId: n.nodeId, counts: flatten(n), created: created(n) })),
  };
}

function add(out: Record<string, number>, prefix: string, counts: object): void {
  for (const [k, v] of Object.entries(counts)) out[`${prefix}.${k}`] = (out[`${prefix}.${k}`] ?? 0) + (v as number);
}

function flatten(n: NodeObjects): Record<string, number> {
  const { nodeId: _id, workers, ...own } = n;
  const out: Record<string, number> = {};
  add(out, 'node', own);
  for (const w of workers) {
    add(out, 'live', w.live);
    if (w.worker) add(out, 'dump', w.worker);
    else out['dump.unreadable'] = (out['dump.unreadable'] ?? 0) + 1;
  }
  return out;
}

function created(n: NodeObjects): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of n.workers) add(out, 'created', w.created);
  return out;
}

/** Sums of every count over the nodes, plus the registry presence. */
export function totals(s: ObjectSnapshot): Record<string, number> {
  const out: Record<string, number> = { 'registry.presence': Object.values(s.presence).reduce((a, b) => a + b, 0) };
  for (const n of s.nodes) for (const [k, v] of Object.entries({ ...n.counts, ...n.created })) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Every count that differs, per node and per room presence: empty when `now` holds what `then` held. */
export function countDiff(then: ObjectSnapshot, now: ObjectSnapshot): string[] {
  const out: string[] = [];
  for (const [i, a] of then.nodes.entries()) {
    const b = now.nodes[i]!;
    for (const k of new Set([...Object.keys(a.counts), ...Object.keys(b.counts)])) {
      const x = a.counts[k] ?? 0;
      const y = b.counts[k] ?? 0;
      if (x !== y) out.push(`${a.nodeId} ${k} ${x} -> ${y}`);
    }
  }
  for (const r of new Set([...Object.keys(then.presence), ...Object.keys(now.presence)])) {
    if ((then.presence[r] ?? 0) !== (now.presence[r] ?? 0)) out.push(`registry presence of ${r} ${then.presence[r] ?? 0} -> ${now.presence[r] ?? 0}`);
  }
  return out;
}
