import type { NodeId } from '../core/ids.js';
import type { NodeRecord } from '../core/registry/Registry.js';

// The cluster's answer to GET /api/route, kept free of HTTP so it can be reasoned about (and
// tested) alone.

export type RouteChoice =
  | { ok: true; node: NodeRecord }
  | { ok: false; status: 400 | 503; code: 'bad_request' | 'no_nodes'; message: string };

export interface RouteQuery {
  /** Region the caller asked for, if any. */
  region?: string | undefined;
  /** Nodes already hosting the room. */
  hosting: readonly NodeId[];
  defaultRegion: string;
  /** Regions the cluster knows even while none of their nodes is registered. */
  knownRegions: readonly string[];
}

/**
 * Order of preference: a node that takes joins (a draining one refuses them, so it is only
 * chosen when there is nothing else), then a node already hosting the room (so its people
 * meet on one node), then the default region, then any; among equals the fewest peers.
 */
export function pickNode(nodes: readonly NodeRecord[], q: RouteQuery): RouteChoice {
  let candidates = nodes;
  if (q.region !== undefined) {
    const known = new Set([...q.knownRegions, ...nodes.map((n) => n.region)]);
    if (!known.has(q.region)) {
      return { ok: false, status: 400, code: 'bad_request', message: `unknown region "${q.region}"; known regions: ${[...known].sort().join(', ')}` };
    }
    candidates = nodes.filter((n) => n.region === q.region);
  }
  if (candidates.length === 0) {
    return { ok: false, status: 503, code: 'no_nodes', message: q.region ? `no node of region ${q.region} is up` : 'no region node is up' };
  }
  const hosting = new Set<string>(q.hosting);
  const tier = (n: NodeRecord): number => (hosting.has(n.id) ? 0 : n.region === q.defaultRegion ? 1 : 2);
  const best = [...candidates].sort(
    (a, b) => Number(a.draining) - Number(b.draining) || tier(a) - tier(b) || a.load.peers - b.load.peers || a.id.localeCompare(b.id),
  )[0]!;
  return { ok: true, node: best };
}
