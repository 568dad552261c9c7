/** Small statistics for bench results. */

/** Percentile by linear interpolation between closest ranks (p in 0..100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 1) return s[0]!;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

export const mean = (values: readonly number[]): number => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
export const median = (values: readonly number[]): number => percentile(values, 50);

/** Loss of one receiver: 1 - received/expected, clamped to [0, 1] (duplicates never make it negative). */
export function lossFraction(expected: number, received: number): number {
  if (expected <= 0) return 0;
  return Math.min(1, Math.max(0, (expected - received) / expected));
}

/** Loss over many receivers: total missing / total expected, and the worst receiver's loss. */
export function aggregateLoss(rows: readonly { expected: number; received: number }[]): { total: number; worst: number; receivers: number } {
  let exp = 0;
  let got = 0;
  let worst = 0;
  for (const r of rows) {
    exp += r.expected;
    got += Math.min(r.received, r.expected);
    worst = Math.max(worst, lossFraction(r.expected, r.received));
  }
  return { total: exp > 0 ? (exp - got) / exp : 0, worst, receivers: rows.length };
}

/** A CPU time delta (ms) over a wall time (ms) as a fraction of one core. */
export const cpuFraction = (cpuMs: number, wallMs: number): number => (wallMs > 0 ? cpuMs / wallMs : NaN);

/** Rounds to `digits` decimals, keeping null/NaN as null (for JSON). */
export function round(x: number | null | undefined, digits = 2): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
