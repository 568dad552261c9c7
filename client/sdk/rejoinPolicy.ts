// When the client rejoins after losing a session, and which nodes it asks the router to skip.
// Pure functions of their inputs (attempt count, a random source, a clock), so the policy is a
// table test and not a property of timers.

export interface RejoinBackoff {
  /** The first rejoin after a healthy session waits a random 0..firstMaxMs: a node's users do not all come back in one millisecond. */
  firstMaxMs: number;
  /** Attempt n >= 1 waits 50-100 % of min(maxMs, baseMs * 2^(n-1)). */
  baseMs: number;
  maxMs: number;
}

/**
 * Measured before this policy: with ICE unable to complete, each join succeeded, reset the count
 * and the page rejoined every 0.57 s (86 joins in 49 s). The count now resets only after media
 * flowed (OctomeshClient's HEALTHY_AFTER_MS), so a page that cannot get media through backs off
 * to one join every 15-30 s.
 */
export const REJOIN_BACKOFF: RejoinBackoff = { firstMaxMs: 300, baseMs: 1_000, maxMs: 30_000 };

/**
 * Delay before rejoin number `attempt` (0: the first since the last healthy session).
 * `random` returns [0, 1) like Math.random; the jitter keeps pages that failed together from
 * retrying together.
 */
export function rejoinDelayMs(attempt: number, random: () => number, p: RejoinBackoff = REJOIN_BACKOFF): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new TypeError(`attempt must be an integer >= 0, got ${attempt}`);
  const r = Math.min(Math.max(random(), 0), 1);
  if (attempt === 0) return Math.round(r * p.firstMaxMs);
  const cap = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(cap * (0.5 + r / 2));
}

/** How long a node this page failed on is named to the router (a restarted node comes back after it). */
export const AVOID_FOR_MS = 60_000;
/** The most node ids one route request names; the oldest are dropped first. */
export const MAX_AVOIDED = 8;

/**
 * Node ids to send as `avoid=`: those failed on within `forMs` of `now`, most recent first,
 * at most `max`. `failedAt` maps node id to when the page last failed on it.
 */
export function nodesToAvoid(failedAt: ReadonlyMap<string, number>, now: number, forMs = AVOID_FOR_MS, max = MAX_AVOIDED): string[] {
  return [...failedAt]
    .filter(([, at]) => now - at < forMs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .map(([id]) => id);
}
