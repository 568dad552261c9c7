// The geo-router's answer, or a region measured clearly faster. GeoIP places an address where
// its network is registered; a VPN, a mobile carrier's gateway or a company proxy can put the
// person a continent away from that. A few HTTP round trips to the nearest alternatives settle
// it. DOM-free (fetch and performance exist in Node too), so the decision is tested there.

/** One node the geo-router offers, as GET /api/route describes it. */
export interface RouteTarget {
  region: string;
  nodeId: string;
  wsUrl: string;
  /** Great-circle distance from where GeoIP placed the client; null when it could not. */
  distanceKm: number | null;
}

export interface Route extends RouteTarget {
  alternatives: RouteTarget[];
}

/** Where the client connected and why; in SelfInfo.route. */
export interface RouteDecision {
  region: string;
  nodeId: string;
  wsUrl: string;
  /** geoip: the router's nearest region; rtt: an alternative measured clearly faster; pinned: `region` was asked for. */
  by: 'geoip' | 'rtt' | 'pinned';
  /** The router's own choice (differs from `region` when by is 'rtt'). */
  geoRegion: string;
  distanceKm: number | null;
  /** Smallest measured round trip per probed region in ms (null: no answer in time); empty when nothing was probed. */
  rttMs: Record<string, number | null>;
}

export interface FasterRule {
  /** An alternative must take less than this fraction of the chosen node's RTT… */
  maxRatio: number;
  /** …and be at least this many ms faster: on a LAN, 2 ms against 5 ms is no reason to move. */
  minGainMs: number;
}

export const CLEARLY_FASTER: FasterRule = { maxRatio: 0.5, minGainMs: 30 };

export interface Measured {
  target: RouteTarget;
  /** null: no answer. */
  ms: number | null;
}

/**
 * The fastest alternative that beats the geo choice by the rule, else undefined. A geo choice
 * that did not answer counts as infinitely slow: any alternative that did is better than a
 * node that may be gone.
 */
export function clearlyFaster(geo: Measured, alternatives: readonly Measured[], rule: FasterRule = CLEARLY_FASTER): Measured | undefined {
  const base = geo.ms ?? Infinity;
  let best: Measured | undefined;
  for (const alt of alternatives) {
    if (alt.ms === null || !(alt.ms < base * rule.maxRatio) || !(base - alt.ms >= rule.minGainMs)) continue;
    if (!best || alt.ms < best.ms!) best = alt;
  }
  return best;
}

/** A region node's /ping: its HTTP origin is its WebSocket URL with ws→http and without /ws. */
export function pingUrl(wsUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(wsUrl);
  } catch {
    return undefined;
  }
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  else if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  u.pathname = `${u.pathname.replace(/\/ws\/?$/, '').replace(/\/$/, '')}/ping`;
  u.search = '';
  u.hash = '';
  return u.href;
}

export interface ProbeOptions {
  /** Alternatives probed, nearest first. */
  maxProbed?: number;
  /** Round trips per node; the smallest counts (the first one also pays for the TCP handshake). */
  probes?: number;
  /** All probing ends by then, answered or not: joining waits for it. */
  budgetMs?: number;
  rule?: FasterRule;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Smallest round trip of `probes` sequential GETs, or null if none answered before `deadline`.
 * `no-cors`: region nodes send no CORS headers, and an opaque response still marks when the
 * answer arrived, which is all a round trip needs.
 */
export async function measureRtt(url: string, deadline: number, opts: Pick<ProbeOptions, 'probes' | 'fetch' | 'now'> = {}): Promise<number | null> {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? (() => performance.now());
  let best: number | null = null;
  for (let i = 0; i < (opts.probes ?? 3); i++) {
    const left = deadline - now();
    if (left <= 0) break;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), left);
    try {
      const started = now();
      // `as`: Node's RequestInit type lacks `cache`, which a browser needs so no cached answer is timed.
      const res = await doFetch(url, { mode: 'no-cors', cache: 'no-store', signal: ctl.signal } as RequestInit);
      const ms = now() - started;
      // Drained so the next probe can reuse the connection (an opaque body is null).
      await res.arrayBuffer().catch(() => undefined);
      best = best === null ? ms : Math.min(best, ms);
    } catch {
      break; // refused, blocked (mixed content) or out of time: more tries would say the same
    } finally {
      clearTimeout(timer);
    }
  }
  return best === null ? null : Math.round(best * 10) / 10;
}

function hostOf(wsUrl: string): string | undefined {
  try {
    return new URL(wsUrl).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Probes the router's choice and its first alternatives on other hosts at once; takes an
 * alternative only if clearly faster.
 */
export async function chooseByRtt(route: Route, opts: ProbeOptions = {}): Promise<RouteDecision> {
  const now = opts.now ?? (() => performance.now());
  const deadline = now() + (opts.budgetMs ?? 1500);
  const probe = async (target: RouteTarget): Promise<Measured> => {
    const url = pingUrl(target.wsUrl);
    return { target, ms: url ? await measureRtt(url, deadline, opts) : null };
  };
  // Nodes behind one host name are one machine (or one load balancer): their RTTs differ by
  // noise only. Measured on the local cluster (three nodes on 127.0.0.1, a page loading):
  // 29 against 67 ms, which the rule would have taken for a faster region.
  const host = hostOf(route.wsUrl);
  const alternatives = route.alternatives.filter((a) => hostOf(a.wsUrl) !== host).slice(0, opts.maxProbed ?? 2);
  const decision = (target: RouteTarget, by: RouteDecision['by'], rttMs: RouteDecision['rttMs']): RouteDecision => ({
    region: target.region, nodeId: target.nodeId, wsUrl: target.wsUrl, by, geoRegion: route.region, distanceKm: target.distanceKm, rttMs,
  });
  if (alternatives.length === 0) return decision(route, 'geoip', {});
  const [geo, ...alts] = await Promise.all([probe(route), ...alternatives.map(probe)]);
  const rttMs = Object.fromEntries([geo!, ...alts].map((m) => [m.target.region, m.ms]));
  const faster = clearlyFaster(geo!, alts, opts.rule);
  return faster ? decision(faster.target, 'rtt', rttMs) : decision(route, 'geoip', rttMs);
}
