import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ScenarioResult } from './scenarios/types.js';
import { lineChart } from './svg.js';
import { workerBuild, type WorkerBuild } from './workerBuild.js';

export const FIGURE_SOURCES: Record<string, [scenario: string, figure: string]> = {
  consumersPerCore: ['fanout', 'consumersPerCore'],
  subscribersPerCorePlain: ['fanout', 'subscribersPerCorePlain'],
  subscribersPerCoreSrtpGcm: ['fanout', 'subscribersPerCoreSrtpGcm'],
  subscribersPerCoreSrtpCm: ['fanout', 'subscribersPerCoreSrtpCm'],
  srtpGcmToPlainCostRatio: ['fanout', 'srtpGcmToPlainCostRatio'],
  srtpCmToPlainCostRatio: ['fanout', 'srtpCmToPlainCostRatio'],
  workerCostVsBareMediasoup: ['fanout', 'workerCostVsBareMediasoup'],
  remoteToLocalCpuRatio: ['relay', 'remoteToLocalCpuRatio'],
  crossingRatio: ['crossing', 'crossingRatio'],
  relayAddedLatencyMs: ['relay', 'relayAddedLatencyMs'],
  routeRpsRatio: ['route', 'routeRpsRatio'],
  routeP99Ms: ['route', 'routeP99Ms'],
  joinP95Ms: ['join', 'joinP95Ms'],
  joinNodeJsMsPerJoin: ['join', 'joinNodeJsMsPerJoin'],
  joinWorkersMsPerJoin: ['join', 'joinWorkersMsPerJoin'],
};

/** Figures of opt-in scenarios: listed only when the scenario ran, so a default run's figures stay as they were. */
export const OPT_IN_FIGURE_SOURCES: Record<string, [scenario: string, figure: string]> = {
  soakObjectsBackToBaseline: ['soak', 'soakObjectsBackToBaseline'],
  soakRssGrowthPct: ['soak', 'soakRssGrowthPct'],
  soakWorkersRssGrowthPct: ['soak', 'soakWorkersRssGrowthPct'],
  ...Object.fromEntries(
    ['roomDownlinkKbpsP95', 'roomCrossNodeKbpsPerFarWatcherLayer0', 'farPipeKbpsWithoutDemand', 'dynacastUnusedLayerKbps'].flatMap((f) => [
      [f, ['room', f]],
      [`baseline.${f}`, ['room', `baseline.${f}`]],
    ]),
  ),
  roomLayer0Kbps: ['room', 'roomLayer0Kbps'],
  roomCrossNodeLayer0Ratio: ['room', 'roomCrossNodeLayer0Ratio'],
  roomCrossNodeKbpsLayer0IgnoringPublisher: ['room', 'roomCrossNodeKbpsLayer0IgnoringPublisher'],
};

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: { cores: number; cpuModel: string; platform: string; totalMemGb: number };
  versions: { node: string; mediasoup: string; octomesh: string };
  /** The mediasoup worker the nodes ran (MEDIASOUP_WORKER_BIN or mediasoup's own): a run is only comparable with one whose build it can tell apart. */
  worker: WorkerBuild;
  figures: Record<string, number | null>;
  missing: Record<string, string>;
  scenarios: Record<string, ScenarioResult | { error: string }>;
}

function pkgVersion(name: string): string {
  try {
    // Walk up from the package's entry point: mediasoup's "exports" hides package.json.
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    while (!existsSync(path.join(dir, 'package.json')) || JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildReport(startedAt: Date, quick: boolean, results: Map<string, ScenarioResult | { error: string }>, skipped: Map<string, string>): RunReport {
  const figures: Record<string, number | null> = {};
  const missing: Record<string, string> = {};
  const optIn = Object.entries(OPT_IN_FIGURE_SOURCES).filter(([, [scenario]]) => results.has(scenario));
  for (const [key, [scenario, fig]] of [...Object.entries(FIGURE_SOURCES), ...optIn]) {
    const r = results.get(scenario);
    if (!r) {
      figures[key] = null;
      missing[key] = skipped.get(scenario) ?? `scenario ${scenario} not run`;
    } else if ('error' in r) {
      figures[key] = null;
      missing[key] = `scenario ${scenario} failed: ${r.error}`;
    } else {
      figures[key] = r.figures[fig] ?? null;
      if (figures[key] === null) missing[key] = r.notes.join('; ') || 'not measured';
    }
  }
  const cpus = os.cpus();
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick,
    machine: { cores: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.release()}`, totalMemGb: Math.round(os.totalmem() / 2 ** 30) },
    versions: { node: process.version, mediasoup: pkgVersion('mediasoup'), octomesh: '0.1.0' },
    worker: workerBuild(process.env.MEDIASOUP_WORKER_BIN || undefined),
    figures,
    missing,
    scenarios: Object.fromEntries(results),
  };
}

function table(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]!);
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cols.map((c) => String(r[c] ?? '–')).join(' | ')} |`)].join('\n') + '\n';
}

export function summaryMarkdown(r: RunReport): string {
  const lines = [`# octomesh bench ${r.startedAt}${r.quick ? ' (--quick)' : ''}`, '', `${r.machine.cores} cores, ${r.machine.cpuModel}; Node ${r.versions.node}, mediasoup ${r.versions.mediasoup}; worker sha256 ${r.worker.sha256}…, libsrtp crypto ${r.worker.crypto} (${r.worker.libsrtp}).`, '', '## Figures', ''];
  lines.push(table(Object.entries(r.figures).map(([k, v]) => ({ figure: k, value: v ?? 'null', note: r.missing[k] ?? '' }))));
  for (const [name, s] of Object.entries(r.scenarios)) {
    lines.push(`## ${name}`, '');
    if ('error' in s) {
      lines.push(`failed: ${s.error}`, '');
      continue;
    }
    lines.push('parameters: `' + JSON.stringify(s.parameters) + '`', '');
    lines.push(table(s.steps));
    for (const n of s.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Writes bench/results/<timestamp>/{results.json,summary.md,*.svg} and bench/results/latest.json. */
export function writeReport(r: RunReport, root: string): string {
  const dir = path.join(root, r.startedAt.replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(path.join(dir, 'summary.md'), summaryMarkdown(r));
  const fan = r.scenarios['fanout'];
  if (fan && !('error' in fan)) {
    // One series per octomesh lane (plain, SRTP-GCM, SRTP-CM) over its ramp.
    const lanes = [...new Set(fan.steps.map((s) => String(s['lane'])))].filter((l) => l.startsWith('octomesh-'));
    const series = (k: string): { label: string; points: [number, number][] }[] =>
      lanes.map((l) => ({ label: l.replace('octomesh-', ''), points: fan.steps.filter((s) => String(s['lane']) === l && s[k] !== null).map((s) => [s['subscribers'] as number, s[k] as number] as [number, number]).sort((a, b) => a[0] - b[0]) }));
    writeFileSync(path.join(dir, 'fanout-cpu.svg'), lineChart({ title: 'fanout: worker CPU vs subscribers', xLabel: 'subscribers (audio + video each)', yLabel: '% of one core', series: series('workerCpuPct') }));
    writeFileSync(path.join(dir, 'fanout-loss.svg'), lineChart({ title: 'fanout: loss vs subscribers', xLabel: 'subscribers (audio + video each)', yLabel: 'loss %', series: series('lossPct') }));
  }
  const route = r.scenarios['route'];
  if (route && !('error' in route)) {
    const pts = (k: string): [number, number][] => route.steps.map((s, i) => [i + 1, (s[k] as number) ?? 0]);
    writeFileSync(path.join(dir, 'route-rps.svg'), lineChart({ title: 'route vs bare uWS: requests/s per round', xLabel: 'round', yLabel: 'requests/s', series: [{ label: '/api/route', points: pts('routeRps') }, { label: 'bare uWS', points: pts('bareRps') }] }));
  }
  const soak = r.scenarios['soak'];
  if (soak && !('error' in soak)) {
    const pts = (k: string): [number, number][] => soak.steps.filter((s) => s[k] !== null).map((s) => [s['minutes'] as number, s[k] as number]);
    writeFileSync(path.join(dir, 'soak-rss.svg'), lineChart({ title: 'soak: resident memory', xLabel: 'minutes since start (churn between the first and last two points)', yLabel: 'MB', series: [{ label: 'bench process (3 nodes + bots)', points: pts('processRssMb') }, { label: 'JS heap used', points: pts('heapUsedMb') }, { label: 'mediasoup workers (sum of 3)', points: pts('workersRssMb') }] }));
    writeFileSync(path.join(dir, 'soak-objects.svg'), lineChart({ title: 'soak: objects on the three nodes', xLabel: 'minutes since start', yLabel: 'count', series: [{ label: 'peers', points: pts('peers') }, { label: 'transports', points: pts('transports') }, { label: 'pipe transports', points: pts('pipeTransports') }, { label: 'consumers', points: pts('consumers') }, { label: 'routers', points: pts('routers') }] }));
  }
  writeFileSync(path.join(root, 'latest.json'), JSON.stringify({ ...r, resultsDir: path.relative(root, dir) }, null, 2) + '\n');
  return dir;
}
