import { Publisher, Sink, Subscriber } from '../bots.js';
import { processCpuMs, sleep } from '../harness.js';
import { startNodeProcesses, type NodeProcess, type NodeProcesses } from '../nodeProcesses.js';
import { percentile, round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const REGIONS = [
  { region: 'eu-west', latitude: 51.51, longitude: -0.13 },
  { region: 'us-east', latitude: 38.9, longitude: -77.04 },
  { region: 'ap-northeast', latitude: 35.68, longitude: 139.69 },
] as const;
/** A client that has not seen media this long after starting its connect is a failure. */
const MEDIA_TIMEOUT_MS = 10_000;

interface Client {
  index: number;
  room: number;
  node: number;
  remote: boolean;
  startedAt: number;
  firstMediaAt?: number;
  error?: string;
  sub?: Subscriber;
}

/**
 * Join storm: three region nodes, each its own process as on its own host (registry shared
 * over IPC, relay over real gRPC), the bots in this process; R
 * rooms, one audio-only publisher bot per room (room r on node r mod 3). J subscriber clients
 * start at a fixed rate, client j to room j mod R on node j mod 3, each doing the real
 * signaling sequence (connect, getRouterRtpCapabilities, join, createPlainTransport recv,
 * connectPlainTransport to the shared sink, resumeConsumer on newConsumer). Per client: time
 * from starting its WebSocket connect to the first RTP packet at the sink on its consumer's SSRC.
 * "remote" = the publisher is on another node than the client (media crosses the relay).
 */
export async function join(ctx: ScenarioContext): Promise<ScenarioResult> {
  const clients = ctx.tiny ? 6 : ctx.quick ? 100 : 1000;
  const rate = ctx.tiny ? 20 : ctx.quick ? 50 : 200;
  const rooms = ctx.tiny ? 2 : ctx.quick ? 10 : 40;
  let mesh: NodeProcesses | undefined;
  let nodes: NodeProcess[] = [];
  const pubs: Publisher[] = [];
  const all: Client[] = [];
  let sink: Sink | undefined;
  const errors = new Map<string, number>();
  try {
    mesh = await startNodeProcesses(REGIONS.map((r, i) => ({ ...r, nodeId: `bench-join-${i}` })));
    nodes = mesh.nodes;
    const s = (sink = await Sink.create());
    for (let r = 0; r < rooms; r++) {
      const p = await Publisher.create(nodes[r % nodes.length]!, `bench-join-${r}`, `pub${r}`, { video: false });
      p.start();
      pubs.push(p);
    }
    await sleep(500);
    const bySsrc = new Map<number, Client>();
    s.onFirst = (ssrc, at) => {
      const c = bySsrc.get(ssrc);
      if (c && c.firstMediaAt === undefined) c.firstMediaAt = at;
    };
    ctx.log(`join: ${rooms} rooms, ${rooms} audio-only publishers started; ${clients} clients at ${rate} joins/s`);
    const cpu0 = await Promise.all(nodes.map((n) => n.cpuMs()));
    const bots0 = processCpuMs();
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let j = 0; j < clients; j++) {
      const due = t0 + (j * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const room = j % rooms;
      const node = j % nodes.length;
      const c: Client = { index: j, room, node, remote: node !== room % nodes.length, startedAt: performance.now() };
      all.push(c);
      pending.push(
        Subscriber.create(nodes[node]!, `bench-join-${room}`, `sub${j}`, s, (ssrc, sub) => {
          c.startedAt = sub.startedAt;
          bySsrc.set(ssrc, c);
        }).then(
          (sub) => {
            c.sub = sub;
            c.startedAt = sub.startedAt;
          },
          (err: Error) => {
            c.error = err.message;
            errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
          },
        ),
      );
    }
    const lastStart = Math.max(...all.map((c) => c.startedAt));
    const firstStart = Math.min(...all.map((c) => c.startedAt));
    const achievedRate = clients > 1 && lastStart > firstStart ? ((clients - 1) * 1000) / (lastStart - firstStart) : null;
    await Promise.all(pending);
    const deadline = lastStart + MEDIA_TIMEOUT_MS;
    while (performance.now() < deadline && all.some((c) => c.error === undefined && c.firstMediaAt === undefined)) await sleep(50);

    const stormMs = performance.now() - t0;
    const cpu1 = await Promise.all(nodes.map((n) => n.cpuMs()));
    const botsCpuMs = processCpuMs() - bots0;
    // Share of one core over the storm (start of the first join to the last first packet).
    const share = (ms: number): number | null => round((100 * ms) / stormMs, 1);
    const cpu = {
      windowMs: round(stormMs, 0),
      botsPct: share(botsCpuMs),
      nodesJsPct: nodes.map((_, i) => share(cpu1[i]!.node - cpu0[i]!.node)),
      workersPct: nodes.map((_, i) => share(cpu1[i]!.worker - cpu0[i]!.worker)),
    };
    const ok = (c: Client): boolean => c.error === undefined && c.firstMediaAt !== undefined && c.firstMediaAt - c.startedAt <= MEDIA_TIMEOUT_MS;
    const ms = (cs: Client[]): number[] => cs.filter(ok).map((c) => c.firstMediaAt! - c.startedAt);
    const allMs = ms(all);
    const remoteMs = ms(all.filter((c) => c.remote));
    const localMs = ms(all.filter((c) => !c.remote));
    const failures = all.filter((c) => !ok(c)).length;
    const stats = (v: number[]): { p50: number | null; p95: number | null; p99: number | null; max: number | null } => ({
      p50: round(percentile(v, 50), 1),
      p95: round(percentile(v, 95), 1),
      p99: round(percentile(v, 99), 1),
      max: round(v.length ? Math.max(...v) : NaN, 1),
    });
    const a = stats(allMs);
    const rm = stats(remoteMs);
    const lo = stats(localMs);
    const steps: ScenarioResult['steps'] = [
      { remote: null, clients, measured: allMs.length, joinP50Ms: a.p50, joinP95Ms: a.p95, joinP99Ms: a.p99, joinMaxMs: a.max },
      { remote: 0, clients: all.filter((c) => !c.remote).length, measured: localMs.length, joinP50Ms: lo.p50, joinP95Ms: lo.p95, joinP99Ms: lo.p99, joinMaxMs: lo.max },
      { remote: 1, clients: all.filter((c) => c.remote).length, measured: remoteMs.length, joinP50Ms: rm.p50, joinP95Ms: rm.p95, joinP99Ms: rm.p99, joinMaxMs: rm.max },
    ];
    ctx.log(`join: ${clients} clients at ${round(achievedRate, 1)} joins/s achieved (target ${rate}): all p50 ${a.p50} p95 ${a.p95} p99 ${a.p99} ms; local p95 ${lo.p95} ms (${localMs.length}); remote p50 ${rm.p50} p95 ${rm.p95} p99 ${rm.p99} ms (${remoteMs.length}); failures ${failures}`);
    ctx.log(`join: CPU over ${cpu.windowMs} ms (% of one core): bots ${cpu.botsPct}, node JS ${cpu.nodesJsPct.join('/')}, workers ${cpu.workersPct.join('/')}`);
    const notes = [
      'publishers are audio-only (Opus-like 50 pps): no keyframe wait; every client gets one consumer',
      'each region node is its own process (one worker); the bots (publishers, clients, sink) run in the bench process; all share this machine (loopback, no WAN delay)',
      'clients stay connected and receiving after their first packet, so later joins run against a growing load',
    ];
    if (failures) notes.push(`${failures} of ${clients} clients got no media within ${MEDIA_TIMEOUT_MS} ms${errors.size ? `; errors: ${[...errors].map(([m, n]) => `${n}× ${m}`).join('; ')}` : ''}`);
    if (allMs.length === 0) notes.push('no client received media: no join time measured');
    return {
      name: 'join',
      figures: {
        joinP50Ms: a.p50,
        joinP95Ms: a.p95,
        joinP99Ms: a.p99,
        joinRemoteP95Ms: rm.p95,
        joinLocalP95Ms: lo.p95,
        achievedJoinsPerSec: round(achievedRate, 1),
        failures,
      },
      parameters: {
        clients,
        targetJoinsPerSec: rate,
        achievedJoinsPerSec: round(achievedRate, 1),
        rooms,
        regions: REGIONS.map((r) => r.region),
        cpuPctOfOneCore: cpu,
        placement: 'room r publisher on node r mod 3; client j in room j mod R on node j mod 3 (round-robin over regions)',
        media: 'audio-only publishers (Opus-like 50 pps x 120 B)',
        measured: 'WebSocket connect start -> first RTP packet at the sink on the client\'s consumer SSRC',
        mediaTimeoutMs: MEDIA_TIMEOUT_MS,
        steps: 'remote: null = all clients, 0 = publisher on the same node, 1 = publisher on another node (relayed)',
      },
      steps,
      notes,
    };
  } finally {
    for (const c of all) c.sub?.close();
    for (const p of pubs) p.close();
    sink?.close();
    await mesh?.close();
  }
}
