import { greatCircleKm, type LatLon } from '../core/geo.js';
import type { NodeId, RegionName } from '../core/ids.js';
import type { NodeRecord } from '../core/registry/Registry.js';

// Which node a client joins: small pure steps chained in one order,
//   healthy → not draining → not avoided → under capacity → regions by distance → room affinity
//   → least loaded,
// with the policy's knobs fixed when the selector is made. No HTTP, no clock, no I/O.

export interface RegionSite extends LatLon {
  name: RegionName;
}

export interface SelectorOptions {
  /** Where a client of unknown location goes (and what the others are ordered around). */
  defaultRegion: RegionName;
  /** A node with this many peers takes no more while another node, in any region, has room. */
  maxPeersPerNode: number;
  /** How many next-nearest regions to offer for the client's RTT probe. */
  maxAlternatives: number;
  /**
   * The registry lists only nodes whose health check passes (Registry.nodes()); this is where a
   * per-record signal would be checked. Default: every listed node is healthy.
   */
  isHealthy?: (node: NodeRecord) => boolean;
}

/** What there is to choose from; regions come and go at run time, so this is input, not an option. */
export interface Catalog {
  /** Registered nodes. */
  nodes: readonly NodeRecord[];
  /** Regions known even while none of their nodes is registered (pins are checked against them). */
  regions: readonly RegionSite[];
}

export interface RouteRequest {
  /** The client's location; undefined when unknown (private, unparseable, not in the database). */
  client: LatLon | undefined;
  /** Nodes already hosting the room. */
  hosting: readonly NodeId[];
  /** A region the caller insists on (`?region=`): no geography, no spill. */
  pinned?: string | undefined;
  /** Nodes the caller just failed on (`?avoid=`): skipped for this request only. */
  avoid?: readonly string[] | undefined;
}

export interface RegionChoice {
  region: RegionName;
  node: NodeRecord;
  /** From the client to the region's site; null when the client's location is unknown. */
  distanceKm: number | null;
}

export type Selection =
  | { ok: true; choice: RegionChoice; alternatives: RegionChoice[] }
  | { ok: false; code: 'unknown_region' | 'no_nodes'; message: string };

export interface RegionGroup {
  region: RegionName;
  /** From the point regions were ordered around. */
  distanceKm: number | null;
  nodes: NodeRecord[];
}

// ---- the steps ----

export const healthy = (nodes: readonly NodeRecord[], isHealthy: (n: NodeRecord) => boolean): NodeRecord[] => nodes.filter(isHealthy);

/** A draining node refuses joins: routing there only costs the client a round trip and a retry. */
export const notDraining = (nodes: readonly NodeRecord[]): NodeRecord[] => nodes.filter((n) => !n.draining);

/**
 * Nodes the client did not just fail on. The registry lists a dead node until its health check
 * lapses, and a cut-off host's until the registry notices; a page that saw it fail says so and
 * gets another node at once. Only for that request: one client never takes a node away from
 * the others. When every candidate is avoided, all of them: a node that failed a moment ago
 * (restarting, or the page's own network hiccup) beats no answer.
 */
export function notAvoided(nodes: readonly NodeRecord[], avoid: readonly string[]): NodeRecord[] {
  if (avoid.length === 0) return [...nodes];
  const set = new Set(avoid);
  const left = nodes.filter((n) => !set.has(n.id));
  return left.length > 0 ? left : [...nodes];
}

/**
 * Whether a pin still means something: false when the client just failed on every node of the
 * pinned region that is up. Sending it back to a node it saw die (the registry may list it for a
 * few seconds yet) only costs another failure and a back-off; the pin then yields to geography,
 * as it would once the registry dropped the node. A pinned region with no node up at all keeps
 * its answer (no nodes): nothing was seen failing there.
 */
export function pinHolds(regionNodes: readonly NodeRecord[], avoid: readonly string[]): boolean {
  if (regionNodes.length === 0 || avoid.length === 0) return true;
  const set = new Set(avoid);
  return !regionNodes.every((n) => set.has(n.id));
}

/**
 * Nodes below the peer cap. When every node is at it, all of them: the cap is where load
 * should go elsewhere, and with nowhere else to go a crowded node beats no call at all.
 */
export function underCapacity(nodes: readonly NodeRecord[], maxPeersPerNode: number): NodeRecord[] {
  const open = nodes.filter((n) => n.load.peers < maxPeersPerNode);
  return open.length > 0 ? open : [...nodes];
}

/**
 * The nodes grouped by region, nearest region first. A region's site is where its nodes say
 * they are (the first one's record), else the configured site. `from` undefined: the default
 * region first, the others by distance from it, and no distances reported.
 */
export function byDistance(nodes: readonly NodeRecord[], from: LatLon | undefined, defaultRegion: RegionName, regions: readonly RegionSite[]): RegionGroup[] {
  const groups = new Map<string, NodeRecord[]>();
  for (const n of nodes) {
    const list = groups.get(n.region);
    if (list) list.push(n);
    else groups.set(n.region, [n]);
  }
  const siteOf = (region: string): LatLon | undefined => groups.get(region)?.[0] ?? regions.find((r) => r.name === region);
  const origin = from ?? siteOf(defaultRegion);
  const ordered = [...groups].map(([region, list]) => {
    const km = origin ? greatCircleKm(origin, siteOf(region)!) : Infinity;
    return { region: region as RegionName, km, nodes: list };
  });
  const rank = (g: { region: string }): number => (from === undefined && g.region === defaultRegion ? 0 : 1);
  ordered.sort((a, b) => rank(a) - rank(b) || a.km - b.km || a.region.localeCompare(b.region));
  return ordered.map((g) => ({ region: g.region, distanceKm: from ? Math.round(g.km) : null, nodes: g.nodes }));
}

/** Nodes already hosting the room, if any: its people then meet on one node, with no relay between them. */
export function roomAffinity(nodes: readonly NodeRecord[], hosting: readonly NodeId[]): NodeRecord[] {
  const set = new Set<string>(hosting);
  const hosts = nodes.filter((n) => set.has(n.id));
  return hosts.length > 0 ? hosts : [...nodes];
}

/**
 * Lowest CPU first, in steps of 10 points (smaller differences are noise between two
 * reports), then fewest peers, then fewest consumers (forwarding cost), then id, so that equal
 * nodes always give the same answer.
 */
export function leastLoaded(nodes: readonly NodeRecord[]): NodeRecord | undefined {
  const cpuStep = (n: NodeRecord): number => Math.floor(n.load.cpu * 10);
  return [...nodes].sort(
    (a, b) => cpuStep(a) - cpuStep(b) || a.load.peers - b.load.peers || a.load.consumers - b.load.consumers || a.id.localeCompare(b.id),
  )[0];
}

// ---- the chain ----

const allHealthy = (): boolean => true;

export class RegionSelector {
  readonly #opts: Readonly<SelectorOptions>;

  constructor(options: SelectorOptions) {
    if (!(options.maxPeersPerNode > 0)) throw new TypeError('maxPeersPerNode must be > 0');
    if (!(options.maxAlternatives >= 0)) throw new TypeError('maxAlternatives must be >= 0');
    this.#opts = Object.freeze({ ...options });
  }

  get options(): Readonly<SelectorOptions> {
    return this.#opts;
  }

  select({ nodes, regions }: Catalog, req: RouteRequest): Selection {
    const o = this.#opts;
    const avoid = req.avoid ?? [];
    const up = notDraining(healthy(nodes, o.isHealthy ?? allHealthy));
    let candidates: readonly NodeRecord[] = up;
    let pinned = req.pinned;
    if (pinned !== undefined) {
      const known = new Set<string>([...regions.map((r) => r.name), ...nodes.map((n) => n.region)]);
      if (!known.has(pinned)) {
        return { ok: false, code: 'unknown_region', message: `unknown region "${pinned}"; known regions: ${[...known].sort().join(', ')}` };
      }
      const region = pinned;
      candidates = up.filter((n) => n.region === region);
      if (!pinHolds(candidates, avoid)) {
        pinned = undefined;
        candidates = up;
      }
    }
    const usable = underCapacity(notAvoided(candidates, avoid), o.maxPeersPerNode);
    const groups = byDistance(usable, req.client, o.defaultRegion, regions);
    const choices = groups.map((g): RegionChoice => ({ region: g.region, node: leastLoaded(roomAffinity(g.nodes, req.hosting))!, distanceKm: g.distanceKm }));
    const [choice, ...rest] = choices;
    if (!choice) {
      const where = pinned !== undefined ? `no node of region ${pinned}` : 'no region node';
      return { ok: false, code: 'no_nodes', message: `${where} is up and taking joins` };
    }
    // A pinned client asked for this region: offering others to probe would undo the pin.
    return { ok: true, choice, alternatives: pinned !== undefined ? [] : rest.slice(0, o.maxAlternatives) };
  }
}
