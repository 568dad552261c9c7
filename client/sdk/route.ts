import { chooseByRtt, type RouteDecision } from './RttProbe.js';
import { fetchRoute } from './support.js';
import type { JoinOptions } from './types.js';

// Which node a connection attempt goes to: the geo-router's answer, a clearly faster alternative
// on the first join, or a pinned region for the first rejoins.

/** After this many rejoin attempts a pinned region is dropped, in case the region itself is down. */
export const REGION_PIN_ATTEMPTS = 2;

/**
 * The geo-router's node, or a clearly faster alternative. Only on the first join (`firstJoin`):
 * on a rejoin the router's own answer is taken, so a probe that picked badly cannot keep a
 * client out, and a pin (kept for the first REGION_PIN_ATTEMPTS rejoins) is never second-guessed.
 * `avoid`: the nodes this page just failed on; the router skips them for this answer (only this
 * one: a page cannot take a node away from anyone else), so a dead node that the registry still
 * lists is not dialled again and again.
 */
export async function routeFor(opts: JoinOptions, attempts: number, avoid: readonly string[], firstJoin: boolean): Promise<RouteDecision> {
  const pinned = attempts <= REGION_PIN_ATTEMPTS ? opts.region : undefined;
  const route = await fetchRoute(opts, pinned, avoid);
  const decision = (by: RouteDecision['by']): RouteDecision => ({
    region: route.region, nodeId: route.nodeId, wsUrl: route.wsUrl, by, geoRegion: route.region, distanceKm: route.distanceKm, rttMs: {},
  });
  // The router lets a pin go when this page just failed on every node of the region.
  if (pinned) return decision(route.region === pinned ? 'pinned' : 'geoip');
  // Probing is for the first join: on a rejoin the node that was chosen may be the one that
  // just died, and a probe of a host that is cut off waits out its whole budget.
  if (opts.probeRtt === false || !firstJoin || route.alternatives.length === 0) return decision('geoip');
  return chooseByRtt(route);
}
