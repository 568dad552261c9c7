import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LostStream, StreamWindow } from './measure/quality.js';
import type { MeasuredRtt } from './wan.js';

// What a lab run found, the goals of issue #11, and how it is printed and saved. A figure that
// could not be measured stays null and is printed as "not measured": never a made-up number.

export interface Figures {
  freezeMsPerMinLoss0: number | null;
  freezeMsPerMinLoss1: number | null;
  freezeMsPerMinLoss3: number | null;
  glassToGlassP50MsEuAp: number | null;
  throttledUserFreezeMsPerMin: number | null;
  /** frameWidth of the widest video the throttled user received at the end of its window. */
  throttledUserLayer: number | null;
  failoverS: number | null;
  partitionFailoverS: number | null;
  relinkS: number | null;
  lostStreams: number | null;
}

export const emptyFigures = (): Figures => ({
  freezeMsPerMinLoss0: null, freezeMsPerMinLoss1: null, freezeMsPerMinLoss3: null, glassToGlassP50MsEuAp: null,
  throttledUserFreezeMsPerMin: null, throttledUserLayer: null, failoverS: null, partitionFailoverS: null, relinkS: null, lostStreams: null,
});

export interface ConditionResult {
  name: string;
  seconds: number;
  /** Machine-wide CPU busy share over the window and the 1-minute load average at its end. */
  cpuBusyPct: number;
  load1: number;
  rows: StreamWindow[];
  table: string;
  /** Glass-to-glass eu-west → ap-northeast over the window (loss conditions; null: no good read). */
  glassToGlassP50Ms?: number | null;
  glassToGlassP95Ms?: number | null;
}

export interface LabResults {
  quick: boolean;
  startedAt: string;
  durationS?: number;
  figures: Figures;
  hosts: { name: string; address: string }[];
  rtts: MeasuredRtt[];
  conditions: ConditionResult[];
  lost?: (LostStream & { run?: string })[];
  /** Why a figure is null, and anything else worth reading beside the numbers. */
  notes: string[];
}

/** Issue #11's goals; `ok` undefined when the figure is null. */
export function goals(f: Figures): { figure: keyof Figures; goal: string; ok: boolean | undefined }[] {
  const le = (v: number | null, max: number): boolean | undefined => (v === null ? undefined : v <= max);
  return [
    { figure: 'freezeMsPerMinLoss0', goal: '≤ 100', ok: le(f.freezeMsPerMinLoss0, 100) },
    { figure: 'freezeMsPerMinLoss1', goal: '≤ 300', ok: le(f.freezeMsPerMinLoss1, 300) },
    { figure: 'freezeMsPerMinLoss3', goal: '≤ 1500', ok: le(f.freezeMsPerMinLoss3, 1500) },
    { figure: 'glassToGlassP50MsEuAp', goal: '≤ 230 (110 + 120)', ok: le(f.glassToGlassP50MsEuAp, 230) },
    { figure: 'throttledUserFreezeMsPerMin', goal: '≤ 1000', ok: le(f.throttledUserFreezeMsPerMin, 1000) },
    // The camera sends 1280 wide at the top layer: a throttled user should be below it.
    { figure: 'throttledUserLayer', goal: '< 1280 (a lower layer)', ok: f.throttledUserLayer === null ? undefined : f.throttledUserLayer > 0 && f.throttledUserLayer < 1280 },
    { figure: 'failoverS', goal: '≤ 3', ok: le(f.failoverS, 3) },
    { figure: 'partitionFailoverS', goal: '≤ 6', ok: le(f.partitionFailoverS, 6) },
    { figure: 'relinkS', goal: '≤ 2', ok: le(f.relinkS, 2) },
    { figure: 'lostStreams', goal: '= 0', ok: f.lostStreams === null ? undefined : f.lostStreams === 0 },
  ];
}

export async function printResults(r: LabResults, file: string, log: (line: string) => void): Promise<void> {
  log('');
  log('lab figures:');
  for (const g of goals(r.figures)) {
    const v = r.figures[g.figure];
    const verdict = g.ok === undefined ? 'not measured' : g.ok ? 'goal met' : 'goal missed';
    log(`  ${g.figure.padEnd(28)} ${String(v ?? 'null').padStart(8)}   goal ${g.goal.padEnd(22)} ${verdict}`);
  }
  for (const n of r.notes) log(`  note: ${n}`);
  const json = {
    figures: r.figures,
    hosts: r.hosts,
    run: { quick: r.quick, startedAt: r.startedAt, durationS: r.durationS ?? null, rtts: r.rtts, lost: r.lost ?? [], notes: r.notes },
    conditions: r.conditions.map((c) => ({ name: c.name, seconds: c.seconds, cpuBusyPct: c.cpuBusyPct, load1: c.load1, glassToGlassP50Ms: c.glassToGlassP50Ms, glassToGlassP95Ms: c.glassToGlassP95Ms, rows: c.rows })),
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`lab: wrote ${file}`);
}
