import { Publisher, Sink, Subscriber } from '../bots.js';
import { processCpuMs, sleep } from '../harness.js';
import { startNodeProcesses, type NodeProcesses } from '../nodeProcesses.js';
import { percentile, round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const REGIONS = [
  { region: 'eu-west', latitude: 51.51, longitude: -0.13 },
  { region: 'us-east', latitude: 38.9, longitude: -77.04 },
  { region: 'ap-northeast', latitude: 35.68, longitude: 139.69 },
] as const;
/** A client that has not seen media this long after starting its connect is a failure. */
const MEDIA_TIMEOUT_MS = 10_000;
/** The rate the goal is stated at. */
const GOAL_RATE = 200;

interface Client {
  /** Every room existed on every node before this client started (it is not the first of its room on its node). */
  roomsUp: boolean;
  remote: boolean;
  startedAt: number;
  firstMediaAt?: number;
  error?: string;
  sub?: Subscriber;
}

interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

interface StormResult {
  rate: number;
  clients: number;
  achievedRate: number | null;
  all: Percentiles;
  roomsUp: Percentiles;
  local: Percentiles & { n: number };
  remote: Percentiles & { n: number };
  failures: number;
  errors: Map<string, number>;
  cpu: { windowMs: number | null; botsPct: number | null; nodesJsPct: (number | null)[]; workersPct: (number | null)[]; nodesJsMsPerJoin: number | null; nodesJsMsPerJoinRoomsUp: number | null; nodesJsMsPerJoinRaw: number | null; nodesJsIdlePct: number | null; workersMsPerJoin: number | null };
}

/**
 * Join storms: three region nodes, each its own process as on its own host (registry shared
 * over IPC, relay over real gRPC), the bots in this process. Per storm, fresh nodes, R rooms,
 * one audio-only publisher bot per room (room r on node r mod 3), then J subscriber clients
 * started at a fixed rate, client j to room j mod R on node j mod 3, each doing the real
 * signaling sequence (connect, getRouterRtpCapabilities, join, createPlainTransport recv,
 * connectPlainTransport to the sink, resumeConsumer on newConsumer). Per client: time from
 * starting its WebSocket connect to the first RTP packet at the sink on its consumer's SSRC.
 * "remote" = the publisher is on another node than the client (media crosses the relay).
 * The full run sweeps the rate up to the goal's 200 joins/s, to show where the knee is.
 */
export async function join(ctx: ScenarioContext): Promise<ScenarioResult> {
  const plan = ctx.tiny
    ? [{ rate: 20, clients: 6, rooms: 2 }]
    : ctx.quick
      ? [{ rate: 50, clients: 100, rooms: 10 }]
      : [100, 150, GOAL_RATE].map((rate) => ({ rate, clients: rate * 5, rooms: 40 }));
  const storms: StormResult[] = [];
  for (const p of plan) storms.push(await storm(ctx, p.rate, p.clients, p.rooms));

  const headline = storms.find((s) => s.rate === GOAL_RATE) ?? storms[storms.length - 1]!;
  const steps: ScenarioResult['steps'] = storms.flatMap((s) => [
    { rate: s.rate, achievedRate: s.achievedRate, remote: null, clients: s.clients, joinP50Ms: s.all.p50, joinP95Ms: s.all.p95, joinP99Ms: s.all.p99, joinMaxMs: s.all.max, roomsUpP95Ms: s.roomsUp.p95, botsCpuPct: s.cpu.botsPct, nodesJsCpuPct: sum(s.cpu.nodesJsPct), workersCpuPct: sum(s.cpu.workersPct), nodesJsMsPerJoin: s.cpu.nodesJsMsPerJoin, workersMsPerJoin: s.cpu.workersMsPerJoin },
    { rate: s.rate, achievedRate: null, remote: 0, clients: s.local.n, joinP50Ms: s.local.p50, joinP95Ms: s.local.p95, joinP99Ms: s.local.p99, joinMaxMs: s.local.max, roomsUpP95Ms: null, botsCpuPct: null, nodesJsCpuPct: null, workersCpuPct: null, nodesJsMsPerJoin: null, workersMsPerJoin: null },
    { rate: s.rate, achievedRate: null, remote: 1, clients: s.remote.n, joinP50Ms: s.remote.p50, joinP95Ms: s.remote.p95, joinP99Ms: s.remote.p99, joinMaxMs: s.remote.max, roomsUpP95Ms: null, botsCpuPct: null, nodesJsCpuPct: null, workersCpuPct: null, nodesJsMsPerJoin: null, workersMsPerJoin: null },
  ]);
  const notes = [
    'publishers are audio-only (Opus-like 50 pps): no keyframe wait; every client gets one consumer',
    'each region node is its own process (one worker); the bots (publishers, clients, sink) run in the bench process; all share this machine (loopback, no WAN delay)',
    'clients stay connected and receiving after their first packet, so later joins run against a growing load',
    'every storm starts on empty rooms: its first R x 3 clients each make their room on their node (router, registry presence) and, for a remote publisher, the link and the pipe; joinP95MsRoomsUp counts only the clients after those',
    'cpu: share of one core over the storm, bots / three nodes\' JS / three workers summed; joinNodeJsMsPerJoin: CPU time of the three node processes from the first join to the last first packet, summed, less their idle rate (measured for 1.5 s just before the storm) over that time, per client (room creation, links and pipes of the first clients included); joinNodeJsMsPerJoinRoomsUp the same from the client after the first R x 3 (every room, link and pipe made; joins in flight then count on both sides); joinNodeJsMsPerJoinRaw without subtracting idle; joinWorkersMsPerJoin the same for the workers (raw)',
  ];
  for (const s of storms) {
    const failures = s.failures;
    if (failures) notes.push(`${s.rate} joins/s: ${failures} of ${s.clients} clients got no media within ${MEDIA_TIMEOUT_MS} ms${s.errors.size ? `; errors: ${[...s.errors].map(([m, n]) => `${n}× ${m}`).join('; ')}` : ''}`);
    if (s.all.p50 === null) notes.push(`${s.rate} joins/s: no client received media: no join time measured`);
  }
  const atGoalOrBelow = storms.filter((s) => s.all.p95 !== null && s.all.p95 <= 300).map((s) => s.rate);
  return {
    name: 'join',
    figures: {
      joinNodeJsMsPerJoin: headline.cpu.nodesJsMsPerJoin,
      joinNodeJsMsPerJoinRoomsUp: headline.cpu.nodesJsMsPerJoinRoomsUp,
      joinNodeJsMsPerJoinRaw: headline.cpu.nodesJsMsPerJoinRaw,
      joinWorkersMsPerJoin: headline.cpu.workersMsPerJoin,
      joinP50Ms: headline.all.p50,
      joinP95Ms: headline.all.p95,
      joinP99Ms: headline.all.p99,
      joinP95MsRoomsUp: headline.roomsUp.p95,
      joinRemoteP95Ms: headline.remote.p95,
      joinLocalP95Ms: headline.local.p95,
      achievedJoinsPerSec: headline.achievedRate,
      failures: headline.failures,
      highestRateWithP95Within300Ms: atGoalOrBelow.length ? Math.max(...atGoalOrBelow) : null,
    },
    parameters: {
      storms: plan,
      regions: REGIONS.map((r) => r.region),
      placement: 'room r publisher on node r mod 3; client j in room j mod R on node j mod 3 (round-robin over regions)',
      media: 'audio-only publishers (Opus-like 50 pps x 120 B)',
      measured: "WebSocket connect start -> first RTP packet at the sink on the client's consumer SSRC",
      mediaTimeoutMs: MEDIA_TIMEOUT_MS,
      headlineRate: headline.rate,
      steps: 'per rate: remote null = all clients, 0 = publisher on the same node, 1 = publisher on another node (relayed)',
    },
    steps,
    notes,
  };
}

async function storm(ctx: ScenarioContext, rate: number, clients: number, rooms: number): Promise<StormResult> {
  let mesh: NodeProcesses | undefined;
  const pubs: Publisher[] = [];
  const all: Client[] = [];
  let sink: Sink | undefined;
  const errors = new Map<string, number>();
  try {
    mesh = await startNodeProcesses(REGIONS.map((r, i) => ({ ...r, nodeId: `bench-join-${i}` })));
    const nodes = mesh.nodes;
    const s = (sink = await Sink.create());
    for (let r = 0; r < rooms; r++) {
      const p = await Publisher.create(nodes[r % nodes.length]!, `bench-join-${r}`, `pub${r}`, { video: false });
      p.start();
      pubs.push(p);
    }
    await sleep(500);
    // The nodes' JS when nobody joins (timers, registry, relay pings): a join's CPU is what it adds.
    const idle0 = await Promise.all(nodes.map((n) => n.cpuMs()));
    const idleT0 = performance.now();
    await sleep(ctx.tiny ? 300 : 1500);
    const idle1 = await Promise.all(nodes.map((n) => n.cpuMs()));
    const idleMsPerMs = nodes.reduce((a, _, i) => a + idle1[i]!.node - idle0[i]!.node, 0) / (performance.now() - idleT0);
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
    let mid: { at: number; cpu: { node: number }[] } | undefined;
    for (let j = 0; j < clients; j++) {
      const due = t0 + (j * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      // From here on every room, link and pipe exists: what follows is the marginal join.
      if (j === rooms * nodes.length) mid = { at: performance.now(), cpu: await Promise.all(nodes.map((n) => n.cpuMs())) };
      const room = j % rooms;
      const node = j % nodes.length;
      const c: Client = { roomsUp: j >= rooms * nodes.length, remote: node !== room % nodes.length, startedAt: performance.now() };
      all.push(c);
      pending.push(
        Subscriber.create(nodes[node]!, `bench-join-${room}`, `sub${j}`, s, {
          onConsumer: (ssrc, sub) => {
            c.startedAt = sub.startedAt;
            bySsrc.set(ssrc, c);
          },
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
      // CPU time, not a share of the wall: it does not grow with the machine's other load.
      nodesJsMsPerJoin: round((nodes.reduce((a, _, i) => a + cpu1[i]!.node - cpu0[i]!.node, 0) - idleMsPerMs * stormMs) / clients, 2),
      nodesJsMsPerJoinRoomsUp: mid ? round((nodes.reduce((a, _, i) => a + cpu1[i]!.node - mid!.cpu[i]!.node, 0) - idleMsPerMs * (performance.now() - mid.at)) / (clients - rooms * nodes.length), 2) : null,
      nodesJsMsPerJoinRaw: round(nodes.reduce((a, _, i) => a + cpu1[i]!.node - cpu0[i]!.node, 0) / clients, 2),
      nodesJsIdlePct: round(idleMsPerMs * 100, 1),
      workersMsPerJoin: round(nodes.reduce((a, _, i) => a + cpu1[i]!.worker - cpu0[i]!.worker, 0) / clients, 2),
    };
    const ok = (c: Client): boolean => c.error === undefined && c.firstMediaAt !== undefined && c.firstMediaAt - c.startedAt <= MEDIA_TIMEOUT_MS;
    const ms = (cs: Client[]): number[] => cs.filter(ok).map((c) => c.firstMediaAt! - c.startedAt);
    const localMs = ms(all.filter((c) => !c.remote));
    const remoteMs = ms(all.filter((c) => c.remote));
    const result: StormResult = {
      rate,
      clients,
      achievedRate: round(achievedRate, 1),
      all: stats(ms(all)),
      roomsUp: stats(ms(all.filter((c) => c.roomsUp))),
      local: { ...stats(localMs), n: localMs.length },
      remote: { ...stats(remoteMs), n: remoteMs.length },
      failures: all.filter((c) => !ok(c)).length,
      errors,
      cpu,
    };
    const { all: a, local: lo, remote: rm } = result;
    ctx.log(`join: ${clients} clients at ${result.achievedRate} joins/s achieved (target ${rate}): all p50 ${a.p50} p95 ${a.p95} p99 ${a.p99} ms; once every room is up p50 ${result.roomsUp.p50} p95 ${result.roomsUp.p95} ms; local p95 ${lo.p95} ms (${lo.n}); remote p50 ${rm.p50} p95 ${rm.p95} p99 ${rm.p99} ms (${rm.n}); failures ${result.failures}`);
    ctx.log(`join: CPU over ${cpu.windowMs} ms (% of one core): bots ${cpu.botsPct}, node JS ${cpu.nodesJsPct.join('/')}, workers ${cpu.workersPct.join('/')}; per join: node JS ${cpu.nodesJsMsPerJoin} ms above idle, ${cpu.nodesJsMsPerJoinRoomsUp} ms once every room is up (${cpu.nodesJsMsPerJoinRaw} ms with it; idle ${cpu.nodesJsIdlePct} % of a core, three nodes), workers ${cpu.workersMsPerJoin} ms (summed over the nodes)`);
    return result;
  } finally {
    for (const c of all) c.sub?.close();
    for (const p of pubs) p.close();
    sink?.close();
    await mesh?.close();
  }
}

function stats(v: number[]): Percentiles {
  return { p50: round(percentile(v, 50), 1), p95: round(percentile(v, 95), 1), p99: round(percentile(v, 99), 1), max: round(v.length ? Math.max(...v) : NaN, 1) };
}

function sum(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : round(values.reduce<number>((a, v) => a + v!, 0), 1);
}
