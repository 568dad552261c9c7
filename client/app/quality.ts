// Connection quality as a tile shows it: a few bars from the round trip and the loss, with the
// figures in words for the tooltip. Pure (no DOM types), so a unit test reads it as a table.

export type QualityLevel = 0 | 1 | 2 | 3;

export interface PathFigures {
  /** Round trip to the node (plus the relay's, for media from another region), ms; null: not measured yet. */
  rttMs: number | null;
  /** Packets lost over the last poll, percent; null: nothing received in it. */
  lossPct: number | null;
}

/** The limits of each level: below both of a row, that level. Thresholds of a call that still feels live. */
const LEVELS: readonly { level: QualityLevel; rttMs: number; lossPct: number }[] = [
  { level: 3, rttMs: 200, lossPct: 2 },
  { level: 2, rttMs: 400, lossPct: 8 },
];

/** 0: unknown (nothing measured), 1: poor, 2: fair, 3: good. */
export function qualityLevel(f: PathFigures): QualityLevel {
  if (f.rttMs === null && f.lossPct === null) return 0;
  const rtt = f.rttMs ?? 0;
  const loss = f.lossPct ?? 0;
  for (const row of LEVELS) if (rtt < row.rttMs && loss < row.lossPct) return row.level;
  return 1;
}

const WORDS: Record<QualityLevel, string> = { 0: 'unknown', 1: 'poor', 2: 'fair', 3: 'good' };

export function qualityText(f: PathFigures): string {
  const parts = [`Connection: ${WORDS[qualityLevel(f)]}`];
  if (f.rttMs !== null) parts.push(`round trip ${Math.round(f.rttMs)} ms`);
  if (f.lossPct !== null) parts.push(`loss ${f.lossPct < 10 ? f.lossPct.toFixed(1) : Math.round(f.lossPct)} %`);
  return parts.join(' · ');
}

/** Loss between two polls of one stream's counters, percent; null when no packet was due. */
export function lossBetween(prev: { lost: number; received: number } | undefined, now: { lost: number; received: number }): number | null {
  const lost = now.lost - (prev?.lost ?? 0);
  const received = now.received - (prev?.received ?? 0);
  // packetsLost may go down (late packets arrive after all): never below zero.
  const due = Math.max(lost, 0) + received;
  return due > 0 ? (Math.max(lost, 0) / due) * 100 : null;
}

/** A peer is speaking by its audio level (0..1, inbound-rtp) above this: about -30 dBov. */
export const SPEAKING_LEVEL = 0.03;
