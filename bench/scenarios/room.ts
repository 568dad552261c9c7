import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { Sink } from '../bots.js';
import { cpuWindow, eventually, sleep, startBenchNode } from '../harness.js';
import { LAYERS, RoomBot } from '../roomBot.js';
import { consumerLayers, delta, farWatcher, linkBytesOut, nominalKbps, type FarWatcherResult } from '../roomMeasure.js';
import { mean, median, percentile, round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const ROOM = 'bench-room';
const FAR_ROOM = 'bench-room-far';
/** A tile of the web app's 5x5 grid on a 1280x720 stage at DPR 1. */
const TILE = { width: 256, height: 144 };
/** The layers no tile of TILE's size needs from a 720p publisher (180p covers 144 px). */
const UNUSED_LAYERS = [1, 2];

type Phase = 'baseline' | 'demand';

interface Config {
  participants: number;
  page: number;
  lastN: number;
  /** Every n-th bot ignores producerDemand in the demand phase (0: none). */
  ignoreEvery: number;
  timeScale: number;
  windowMs: number;
  settleMs: number;
  farSettleMs: number;
}

export interface PhaseResult {
  downlinkKbps: number[];
  crossKbps: Record<string, number>;
  uplinkKbpsByLayer: number[];
  ignorerUplinkKbpsByLayer: number[] | null;
  consumerKbpsFromHonouring: number | null;
  consumerKbpsFromIgnoring: number | null;
  audioDownlinkKbpsMean: number;
  workersCpuPct: number;
  benchProcessCpuPct: number;
  viewErrors: string[];
  demandNotices: number;
  /** Video consumers on layer 0, 1, 2, and paused or without a layer, at the window's end. */
  consumerLayers: number[];
  far: FarWatcherResult;
  /** Demand phase: the same with a publisher that ignores producerDemand. */
  farIgnoring?: FarWatcherResult;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

async function runPhase(phase: Phase, c: Config, log: (l: string) => void): Promise<PhaseResult> {
  const registry = new LocalRegistry();
  const nodes: RegionNode[] = [];
  const bots: RoomBot[] = [];
  let sink: Sink | undefined;
  const demand = phase === 'demand';
  try {
    for (const [i, region] of ['eu-west', 'us-east', 'ap-northeast'].entries())
      nodes.push(await startBenchNode({ nodeId: `bench-room-${i}`, region, registry, overrides: { rooms: { lastN: demand ? c.lastN : 1000 } } }));
    const s = (sink = await Sink.create());
    const t0 = performance.now();
    const isIgnorer = (n: number): boolean => demand && c.ignoreEvery > 0 && n % c.ignoreEvery === c.ignoreEvery - 1;
    // Participant i on node i % 3: 17/17/16 for 50. Batches of 10, as people do not all click at once.
    for (let i = 0; i < c.participants; i += 10) {
      const batch = Array.from({ length: Math.min(10, c.participants - i) }, (_, k) => i + k);
      bots.push(...(await Promise.all(batch.map((n) => RoomBot.join(nodes[n % 3]!, ROOM, `p${n}`, s, { honourDemand: demand && !isIgnorer(n), timeScale: c.timeScale })))));
    }
    const want = (c.participants - 1) * 2;
    await eventually(() => bots.every((b) => b.consumers.size === want), `every participant has ${want} consumers`, 60_000);
    log(`room ${phase}: ${c.participants} joined over 3 nodes, ${want} consumers each, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ids = bots.map((b) => b.peerId);
    for (const b of bots) b.start();
    // mediasoup moves a simulcast consumer to another layer only once it has a Sender Report of
    // both (sent every second): consumers resumed before that stay on their first layer.
    await sleep(1500);
    // Bot i's page: the `page` participants after it, so every publisher is on someone's page.
    if (demand) await Promise.all(bots.map((b, i) => b.applyView(Array.from({ length: c.page }, (_, k) => ids[(i + 1 + k) % ids.length]!), TILE)));
    else await Promise.all(bots.map((b) => b.resumeAll()));
    const videoSsrcs = (b: RoomBot): number[] => [...b.consumers.values()].filter((x) => x.kind === 'video').map((x) => x.ssrc);
    await eventually(() => bots.every((b) => videoSsrcs(b).some((ssrc) => (s.ssrcs.get(ssrc)?.bytes ?? 0) > 0)), 'video reaches every participant', 30_000);
    await sleep(c.settleMs);
    const bytes = (): Map<number, number> => new Map([...s.ssrcs].map(([k, v]) => [k, v.bytes]));
    const r0 = bytes();
    const l0 = await linkBytesOut(nodes, ROOM);
    const u0 = bots.map((b) => [...b.sentBytes]);
    let r1 = r0;
    let l1 = l0;
    let u1 = u0;
    const cpu = await cpuWindow(nodes, async () => {
      await sleep(c.windowMs);
      r1 = bytes();
      l1 = await linkBytesOut(nodes, ROOM);
      u1 = bots.map((b) => [...b.sentBytes]);
    });
    const ms = cpu.wallMs;
    const k = (b: number): number => nominalKbps(b, ms, c.timeScale);
    const got = (ssrc: number): number => (r1.get(ssrc) ?? 0) - (r0.get(ssrc) ?? 0);
    const downlinkKbps = bots.map((b) => k(sum(videoSsrcs(b).map(got))));
    const audioKbps = bots.map((b) => k(sum([...b.consumers.values()].filter((x) => x.kind === 'audio').map((x) => got(x.ssrc)))));
    const uplink = bots.map((_, i) => LAYERS.map((__, l) => k(u1[i]![l]! - u0[i]![l]!)));
    const honouring = uplink.filter((_, i) => !isIgnorer(i));
    const ignoring = uplink.filter((_, i) => isIgnorer(i));
    const byLayer = (rows: number[][]): number[] => LAYERS.map((_, l) => mean(rows.map((r) => r[l]!)));
    // Per resumed video consumer (bytes > 0), split by whether its publisher honours producerDemand.
    const ignorerPeers = new Set(bots.filter((_, i) => isIgnorer(i)).map((b) => b.peerId));
    const perConsumer = (fromIgnorer: boolean): number[] =>
      bots.flatMap((b) => [...b.consumers.values()].filter((x) => x.kind === 'video' && ignorerPeers.has(x.peerId) === fromIgnorer).map((x) => k(got(x.ssrc))).filter((v) => v > 0));
    const cross = delta(l1, l0);
    const result: PhaseResult = {
      downlinkKbps,
      crossKbps: Object.fromEntries([...cross].sort().map(([pair, v]) => [pair, round(k(v), 1)!])),
      uplinkKbpsByLayer: byLayer(honouring),
      ignorerUplinkKbpsByLayer: ignoring.length ? byLayer(ignoring) : null,
      consumerKbpsFromHonouring: round(mean(perConsumer(false)), 1),
      consumerKbpsFromIgnoring: ignorerPeers.size ? round(mean(perConsumer(true)), 1) : null,
      audioDownlinkKbpsMean: mean(audioKbps),
      workersCpuPct: (sum(cpu.workerMs) / ms) * 100,
      benchProcessCpuPct: (cpu.processMs / ms) * 100,
      viewErrors: [...new Set(bots.flatMap((b) => b.viewErrors))].slice(0, 10),
      demandNotices: sum(bots.map((b) => b.demandNotices)),
      consumerLayers: consumerLayers(nodes, ROOM),
      far: undefined as never,
    };
    log(
      `room ${phase}: downlink video p50 ${median(downlinkKbps).toFixed(0)} p95 ${percentile(downlinkKbps, 95).toFixed(0)} kbit/s; crossing ${JSON.stringify(result.crossKbps)}; uplink by layer ${result.uplinkKbpsByLayer.map((v) => v.toFixed(0)).join('/')} kbit/s; video consumers on layer 0/1/2/none ${result.consumerLayers.join('/')}; workers ${result.workersCpuPct.toFixed(0)} % bench ${result.benchProcessCpuPct.toFixed(0)} % CPU`,
    );
    for (const b of bots) b.close();
    bots.length = 0;
    const far = async (room: string, honourDemand: boolean): Promise<FarWatcherResult> => {
      // At real speed (one publisher is cheap): in slow motion mediasoup's Sender Reports on the
      // pipe extrapolate RTP time at the real clock rate, a layer switch on the far node then
      // finds the new layer's timestamps behind the old one's and waits for key frames forever.
      const r: FarWatcherResult = await farWatcher({ a: nodes[0]!, b: nodes[1]!, room, sink: s, timeScale: 1, windowMs: c.windowMs, settleMs: c.farSettleMs, viewBySize: demand, honourDemand });
      log(`room ${phase}: far watcher on layer 0 (${r.layer0By}, publisher ${honourDemand ? 'honours' : 'ignores'} producerDemand): ${r.crossKbpsLayer0} kbit/s crossed for layer 0 at ${r.layer0Kbps}, ${r.receivedKbpsLayer0} received (the far consumer on layer ${r.watcherLayer}); paused: ${r.crossKbpsPaused} kbit/s crossed after the grace`);
      return r;
    };
    // Baseline: today's publisher and SDK call. Demand: a publisher that honours dynacast, then one that ignores it.
    result.far = await far(FAR_ROOM, demand);
    if (demand) result.farIgnoring = await far(`${FAR_ROOM}-ignoring`, false);
    return result;
  } finally {
    for (const b of bots) b.close();
    sink?.close();
    for (const n of nodes) n.close();
    registry.close();
  }
}

function figuresOf(r: PhaseResult): Record<string, number | null> {
  const unused = UNUSED_LAYERS.map((l) => ({ kbps: r.uplinkKbpsByLayer[l]!, pct: (r.uplinkKbpsByLayer[l]! / LAYERS[l]!.kbps) * 100 }));
  const worst = unused.reduce((a, b) => (b.pct > a.pct ? b : a));
  return {
    roomDownlinkKbpsP50: round(median(r.downlinkKbps), 0),
    roomDownlinkKbpsP95: round(percentile(r.downlinkKbps, 95), 0),
    roomCrossNodeKbpsTotal: round(sum(Object.values(r.crossKbps)), 0),
    roomCrossNodeKbpsPerFarWatcherLayer0: r.far.crossKbpsLayer0,
    roomLayer0Kbps: r.far.layer0Kbps,
    roomCrossNodeLayer0Ratio: r.far.crossKbpsLayer0 !== null && r.far.layer0Kbps ? round(r.far.crossKbpsLayer0 / r.far.layer0Kbps, 2) : null,
    farPipeKbpsWithoutDemand: r.far.crossKbpsPaused,
    ...(r.farIgnoring ? { roomCrossNodeKbpsLayer0IgnoringPublisher: r.farIgnoring.crossKbpsLayer0 } : {}),
    dynacastUnusedLayerKbps: round(worst.kbps, 1),
    dynacastUnusedLayerPct: round(worst.pct, 1),
  };
}

/**
 * A room of 50 over three nodes (17/17/16), every participant publishing audio and three-layer
 * simulcast video over plain RTP and watching everyone else. Two phases, each on fresh nodes:
 * "baseline" (every consumer resumed as it comes, bots ignore producerDemand, rooms.lastN 1000)
 * and "demand" (a page of 25 tiles of 256x144 with setView and setConsumerView, the other tiles
 * paused, rooms.lastN 25, dynacast honoured but by every 10th bot). Each phase ends with a far
 * pipe measurement: one publisher on node 0, one watcher on node 1 on layer 0, then paused.
 */
export async function room(ctx: ScenarioContext): Promise<ScenarioResult> {
  // Slow motion (see RoomBot): at real speed the baseline alone is ~560k packets/s forwarded
  // (50 x 49 consumers of the top layer and audio), far beyond two cores. Bytes per frame are
  // real; kbit/s are reported at nominal speed (measured x timeScale).
  const c: Config = ctx.tiny
    ? { participants: 6, page: 3, lastN: 3, ignoreEvery: 3, timeScale: 10, windowMs: 2000, settleMs: 1500, farSettleMs: 1500 }
    : { participants: 50, page: 25, lastN: 25, ignoreEvery: 10, timeScale: 10, windowMs: ctx.quick ? 5000 : 15_000, settleMs: ctx.quick ? 5000 : 6000, farSettleMs: ctx.quick ? 3000 : 4000 };
  const phases: Partial<Record<Phase, PhaseResult>> = {};
  for (const phase of ['baseline', 'demand'] as const) phases[phase] = await runPhase(phase, c, ctx.log);
  const base = phases.baseline!;
  const dem = phases.demand!;
  const fb = figuresOf(base);
  const fd = figuresOf(dem);
  const figures: Record<string, number | null> = { ...fd };
  for (const [key, v] of Object.entries(fb)) figures[`baseline.${key}`] = v;
  const row = (phase: number, r: PhaseResult, f: Record<string, number | null>): Record<string, number | null> => ({
    phase,
    downlinkP50Kbps: f.roomDownlinkKbpsP50!,
    downlinkP95Kbps: f.roomDownlinkKbpsP95!,
    audioDownlinkKbps: round(r.audioDownlinkKbpsMean, 0),
    ...Object.fromEntries(Object.entries(r.crossKbps).map(([pair, v]) => [`cross${pair.replace('>', 'to')}Kbps`, round(v, 0)])),
    crossTotalKbps: f.roomCrossNodeKbpsTotal!,
    uplinkL0Kbps: round(r.uplinkKbpsByLayer[0], 0),
    uplinkL1Kbps: round(r.uplinkKbpsByLayer[1], 0),
    uplinkL2Kbps: round(r.uplinkKbpsByLayer[2], 0),
    consumersL0: r.consumerLayers[0]!,
    consumersL1: r.consumerLayers[1]!,
    consumersL2: r.consumerLayers[2]!,
    consumersOff: r.consumerLayers[3]!,
    farLayer0CrossKbps: r.far.crossKbpsLayer0,
    farLayer0Kbps: r.far.layer0Kbps,
    farPausedCrossKbps: r.far.crossKbpsPaused,
    workersCpuPct: round(r.workersCpuPct, 0),
    benchProcessCpuPct: round(r.benchProcessCpuPct, 0),
  });
  const notes = [
    `phase 0 = baseline, 1 = demand; kbit/s at nominal speed: the bots run ${c.timeScale}x slower (${(30 / c.timeScale).toFixed(0)} fps, ${(50 / c.timeScale).toFixed(0)} audio packets/s) with real bytes per frame, and the measured rates are multiplied by ${c.timeScale}`,
    `layers ${LAYERS.map((l) => `${l.kbps} kbit/s (${l.packets} x ${l.bytes} B per frame)`).join(' / ')}; 25 tiles at layer 0 are ${25 * LAYERS[0]!.kbps} kbit/s of video before headers`,
    `dynacastUnusedLayerKbps: the mean uplink of publishers that honour producerDemand on the unused layer (${UNUSED_LAYERS.join(', ')}) with the highest share of its nominal rate; ${dem.ignorerUplinkKbpsByLayer ? `the ${Math.floor(c.participants / c.ignoreEvery)} bots that ignore it sent ${dem.ignorerUplinkKbpsByLayer.map((v) => v.toFixed(0)).join('/')} kbit/s; a resumed consumer of theirs received ${dem.consumerKbpsFromIgnoring} kbit/s, of the others ${dem.consumerKbpsFromHonouring}` : ''}`,
    `far watcher (real speed, 30 fps): a video-only publisher on node 0, one watcher on node 1 on layer 0 (baseline: ${base.far.layer0By}, publisher ignores producerDemand; demand: ${dem.far.layer0By}, publisher honours it), received ${base.far.receivedKbpsLayer0} / ${dem.far.receivedKbpsLayer0} kbit/s; roomCrossNodeKbpsLayer0IgnoringPublisher: the same in the demand phase with a publisher that ignores producerDemand (${dem.farIgnoring?.crossKbpsLayer0} kbit/s crossed, ${dem.farIgnoring?.receivedKbpsLayer0} received)`,
  ];
  for (const [phase, r] of Object.entries(phases)) {
    if (r.viewErrors.length) notes.push(`${phase}: the server refused view requests: ${r.viewErrors.join('; ')}`);
    const farNotes = [...r.far.notes, ...(r.farIgnoring?.notes ?? [])];
    if (farNotes.length) notes.push(`${phase} far watcher: ${farNotes.join('; ')}`);
    if (r.workersCpuPct + r.benchProcessCpuPct > 170) notes.push(`${phase}: the machine was near saturation (workers ${r.workersCpuPct.toFixed(0)} % + bench ${r.benchProcessCpuPct.toFixed(0)} % of 2 cores): rates may be below what was sent`);
  }
  if (dem.demandNotices === 0) notes.push('demand: no producerDemand notification reached the publishers (dynacast not in the server yet?)');
  return {
    name: 'room',
    figures,
    parameters: { participants: c.participants, nodes: 3, page: c.page, tile: TILE, lastN: { baseline: 1000, demand: c.lastN }, ignoreDemandEvery: c.ignoreEvery, timeScale: c.timeScale, windowMs: c.windowMs, settleMs: c.settleMs },
    steps: [row(0, base, fb), row(1, dem, fd)],
    notes,
    details: Object.fromEntries(Object.entries(phases).map(([p, r]) => [p, { ...r, downlinkKbps: r.downlinkKbps.map((v) => round(v, 0)) }])),
  };
}
