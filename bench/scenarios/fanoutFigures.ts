import { median, round } from '../stats.js';
import type { WorkerBuild } from '../workerBuild.js';
import type { ScenarioResult } from './types.js';

export interface FanoutStep {
  part: 'cost' | 'ramp';
  lane: string;
  subscribers: number;
  consumers: number;
  lossPct: number | null;
  worstLossPct: number | null;
  workerCpuPct: number | null;
  botsCpuPct: number | null;
  workerUsPerPacket: number | null;
  workerCpuPctPerConsumer: number | null;
  lostPackets: number;
  kernelRcvbufDrops: number | null;
  kernelSndbufDrops: number | null;
}

const NAMES = { plain: 'Plain', gcm: 'SrtpGcm', cm: 'SrtpCm' } as const;

/** Per round of the cost part, `num`'s µs/packet over `den`'s; the median over rounds. */
function ratio(steps: readonly FanoutStep[], num: string, den: string): number | null {
  const a = steps.filter((s) => s.part === 'cost' && s.lane === num).map((s) => s.workerUsPerPacket!);
  const b = steps.filter((s) => s.part === 'cost' && s.lane === den).map((s) => s.workerUsPerPacket!);
  const r = a.slice(0, b.length).map((x, i) => x / b[i]!).filter(Number.isFinite);
  return r.length ? round(median(r), 3) : null;
}

/**
 * Figures of a fanout run: µs per forwarded packet (median of the cost rounds) and its ratios,
 * and per kind the subscribers per core at the last ramp step within the loss limit, given
 * only when the ramp reached the step where loss starts (or the worker was past 70 % of a
 * core): a figure extrapolated from a lightly loaded step says little about saturation.
 */
export function fanoutFigures(o: {
  steps: FanoutStep[];
  kinds: readonly string[];
  bareKinds: readonly string[];
  compareKinds: readonly string[];
  lossLimitPct: number;
  build: WorkerBuild;
  compareBuild?: WorkerBuild;
  parameters: Record<string, unknown>;
}): ScenarioResult {
  const { steps, lossLimitPct } = o;
  const figures: Record<string, number | null> = {};
  const notes: string[] = [];
  const us = (lane: string): number | null => round(median(steps.filter((s) => s.part === 'cost' && s.lane === lane).map((s) => s.workerUsPerPacket!)), 2);
  for (const k of o.kinds) {
    const name = NAMES[k as keyof typeof NAMES];
    figures[`usPerPacket${name}`] = us(`octomesh-${k}`);
    const ramp = steps.filter((s) => s.lane === `octomesh-${k}`);
    const ok = ramp.filter((s) => s.lossPct !== null && s.lossPct <= lossLimitPct && (s.workerCpuPct ?? 0) > 0);
    const best = ok.reduce<FanoutStep | undefined>((a, s) => (!a || s.subscribers! > a.subscribers! ? s : a), undefined);
    const lossy = ramp.filter((s) => s.part === 'ramp' && s.lossPct! > lossLimitPct)[0];
    // Loss that starts while the worker is far from a full core is the machine's other load, not capacity.
    const saturated = (best?.workerCpuPct ?? 0) >= (lossy ? 50 : 70);
    figures[`subscribersPerCore${name}`] = best && saturated ? round(best.subscribers! / (best.workerCpuPct! / 100), 0) : null;
    figures[`lossStartsAtSubscribers${name}`] = lossy ? lossy.subscribers! : null;
    if (best) notes.push(`${k}: ${best.subscribers} subscribers within ${lossLimitPct} % loss (worker at ${best.workerCpuPct} % of a core, bots ${best.botsCpuPct} %)${lossy ? `; loss starts at ${lossy.subscribers} (${lossy.lossPct} %, worker ${lossy.workerCpuPct} %, kernel receive-buffer drops ${lossy.kernelRcvbufDrops ?? 'n/a'})` : '; no step passed the loss limit'}${saturated ? '' : ': not near saturation, no per-core figure'}`);
  }
  figures.srtpGcmToPlainCostRatio = ratio(steps, 'octomesh-gcm', 'octomesh-plain');
  figures.srtpCmToPlainCostRatio = ratio(steps, 'octomesh-cm', 'octomesh-plain');
  for (const k of o.bareKinds) {
    figures[`bareUsPerPacket${NAMES[k as keyof typeof NAMES]}`] = us(`bare-${k}`);
    figures[k === 'plain' ? 'workerCostVsBareMediasoup' : `workerCostVsBareMediasoup${NAMES[k as keyof typeof NAMES]}`] = ratio(steps, `octomesh-${k}`, `bare-${k}`);
  }
  for (const k of o.compareKinds) {
    figures[`compareUsPerPacket${NAMES[k as keyof typeof NAMES]}`] = us(`compare-${k}`);
    if (k !== 'plain') figures[`compare${NAMES[k as keyof typeof NAMES]}ToPlainCostRatio`] = ratio(steps, `compare-${k}`, 'compare-plain');
    figures[`compareVsBare${NAMES[k as keyof typeof NAMES]}`] = ratio(steps, `compare-${k}`, `bare-${k}`);
  }
  // The figures of earlier runs (plain RTP), in consumers (audio + video per subscriber).
  const plainBest = steps.filter((s) => s.lane === 'octomesh-plain' && s.lossPct! <= lossLimitPct).sort((a, b) => b.subscribers! - a.subscribers!)[0];
  figures.consumersPerCore = figures.subscribersPerCorePlain != null ? figures.subscribersPerCorePlain * 2 : null;
  figures.maxConsumersWithinLoss = plainBest ? plainBest.consumers! : null;
  figures.workerUsPerPacket = figures.usPerPacketPlain ?? null;
  notes.push(`worker ${o.build.path} (sha256 ${o.build.sha256}…), libsrtp crypto: ${o.build.crypto} (${o.build.libsrtp})`);
  if (o.compareBuild) notes.push(`compare worker ${o.compareBuild.path} (sha256 ${o.compareBuild.sha256}…), libsrtp crypto: ${o.compareBuild.crypto} (${o.compareBuild.libsrtp}): bare routers, lanes compare-*`);
  return {
    name: 'fanout',
    figures,
    parameters: {
      ...o.parameters,
      lossLimitPct,
      audio: '50 pps x 120 B',
      video: '30 fps x 3 x 1100 B, VP8 keyframe every 60 frames or on PLI',
      consumersPerSubscriber: 2,
      lanes: 'octomesh-<kind>: a region node (one worker) per kind; bare-<kind>: a bare mediasoup router on its own worker, same binary; compare-<kind>: bare on BENCH_COMPARE_WORKER_BIN',
      kinds: 'plain RTP; gcm = SRTP AEAD_AES_256_GCM; cm = SRTP AES_CM_128_HMAC_SHA1_80',
      cost: 'part=cost: every lane at the base load in turn, the turn repeated; figures are medians (ratios: median of per-turn ratios)',
    },
    // Rows for the tables: lane and part are words (report.ts prints any value).
    steps: steps as unknown as ScenarioResult['steps'],
    notes,
    details: { worker: o.build, ...(o.compareBuild ? { compareWorker: o.compareBuild } : {}) },
  };
}
