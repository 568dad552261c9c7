import type { RegionNode } from '../../region-node/RegionNode.js';
import { BareMediasoup } from '../bareRouter.js';
import { addSubscribers, measureWindow, type RtpPublisher, type SrtpSuite, type Watcher } from '../bots.js';
import { processCpuMs, sleep, workerCpuMs } from '../harness.js';
import { inProcess, mediaReaches } from '../inProcess.js';
import type { Sink } from '../sink.js';
import { aggregateLoss, round } from '../stats.js';
import { readUdpCounters, udpDelta } from '../udpCounters.js';
import { assertDistinct, workerBuild, type WorkerBuild } from '../workerBuild.js';
import { fanoutFigures, type FanoutStep } from './fanoutFigures.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const LOSS_LIMIT = 0.005;
export const KINDS = { plain: undefined, gcm: 'AEAD_AES_256_GCM', cm: 'AES_CM_128_HMAC_SHA1_80' } as const satisfies Record<string, SrtpSuite | undefined>;
export type Kind = keyof typeof KINDS;

/** One publisher and its subscribers on one worker: an octomesh node's, or a bare mediasoup router's. */
interface Lane {
  readonly host: 'octomesh' | 'bare' | 'compare';
  readonly kind: Kind;
  readonly pub: RtpPublisher;
  subs: Watcher[];
  /** Media checked to reach every subscriber so far. */
  checked: number;
  cpuMs(): Promise<number>;
  add(count: number): Promise<Watcher[]>;
}

const label = (l: Lane): string => `${l.host}-${l.kind}`;

/**
 * Fanout as browsers receive it: plain RTP, SRTP AEAD_AES_256_GCM and SRTP
 * AES_CM_128_HMAC_SHA1_80 subscribers in the same run, each kind on its own region node (one
 * worker each, so that one kind's idle consumers cost nothing in another's reading), and the
 * same on bare mediasoup routers (same worker binary, same bots, no octomesh code on the path).
 * Only the measured lane's publisher sends. Subscribers join with the router's capabilities
 * (transport-cc, NACK, PLI on, as for browsers); the sink counts every kind by SSRC and
 * sequence number, both in clear under SRTP.
 *
 * Two parts: cost (µs of worker CPU per forwarded packet) at a fixed load, the lanes measured
 * in turn and the turn repeated so that drift hits all alike; then capacity, the octomesh
 * lanes ramped in turn until loss passes 0.5 %.
 */
export async function fanout(ctx: ScenarioContext): Promise<ScenarioResult> {
  const base = ctx.tiny ? 2 : 150;
  const ramp = ctx.tiny ? [4] : ctx.quick ? [350, 600, 850, 1100] : [300, 450, 600, 750, 900, 1050, 1200, 1400];
  const rounds = ctx.tiny ? 1 : ctx.quick ? 2 : 3;
  const windowMs = ctx.tiny ? 1000 : ctx.quick ? 2500 : 6000;
  const build = workerBuild(process.env.MEDIASOUP_WORKER_BIN || undefined);
  const kinds = Object.keys(KINDS) as Kind[];
  const bareKinds: Kind[] = ['plain', 'gcm'];
  // A second worker build (OpenSSL libsrtp against Debian's NSS one, say) measured on bare
  // routers in the same run; refused unless the two builds can be told apart.
  const compareBin = process.env.BENCH_COMPARE_WORKER_BIN;
  let compareBuild: WorkerBuild | undefined;
  if (compareBin) assertDistinct(build, (compareBuild = workerBuild(compareBin)));
  const compareKinds: Kind[] = compareBuild ? kinds : [];
  const specs = kinds.map((k) => ({ nodeId: `bench-fanout-${k}`, room: `bench-fanout-${k}` }));
  const bares: BareMediasoup[] = [];
  const steps: FanoutStep[] = [];
  try {
    return await inProcess(specs, async ({ nodes, sink, pubs, watchers }) => {
      const lanes: Lane[] = kinds.map((kind, i) => octomeshLane(kind, nodes[i]!, pubs[i]!, sink, watchers));
      for (const [host, bin, ks] of [['bare', build.path, bareKinds], ['compare', compareBuild?.path, compareKinds]] as const) {
        for (const kind of ks) {
          const bare = await BareMediasoup.start(bin);
          bares.push(bare);
          lanes.push(await bareLane(host, kind, bare, sink, watchers));
        }
      }
      for (const l of lanes) l.pub.stop();
      for (const l of lanes) await l.add(base);
      const measure = async (lane: Lane, part: 'cost' | 'ramp'): Promise<FanoutStep> => {
        const step = await measureLane(ctx, lane, lanes, sink, windowMs, part);
        steps.push(step);
        return step;
      };
      for (let r = 0; r < rounds; r++) for (const l of lanes) await measure(l, 'cost');
      const ramped = lanes.filter((l) => l.host === 'octomesh');
      for (const target of ramp) {
        for (const lane of ramped.filter((l) => !steps.some((s) => s.lane === label(l) && s.part === 'ramp' && s.lossPct! > LOSS_LIMIT * 100))) {
          await lane.add(target - lane.subs.length);
          const s = await measure(lane, 'ramp');
          // Past its limit: its subscribers go, so that the other lanes ramp on a quieter machine.
          if (s.lossPct! > LOSS_LIMIT * 100) for (const w of lane.subs.splice(0)) w.close();
        }
      }
      return fanoutFigures({ steps, kinds, bareKinds, compareKinds, lossLimitPct: LOSS_LIMIT * 100, build, ...(compareBuild ? { compareBuild } : {}), parameters: { base, ramp, rounds, windowMs } });
    });
  } finally {
    for (const b of bares) b.close();
  }
}

function octomeshLane(kind: Kind, node: RegionNode, pub: RtpPublisher, sink: Sink, watchers: Watcher[]): Lane {
  const lane: Lane = {
    host: 'octomesh',
    kind,
    pub,
    subs: [],
    checked: 0,
    cpuMs: () => workerCpuMs(node),
    async add(count) {
      const srtp = KINDS[kind];
      const made = await addSubscribers(node, `bench-fanout-${kind}`, sink, count, `${kind}${lane.subs.length}-`, { bySeq: true, ...(srtp ? { srtp } : {}) });
      lane.subs.push(...made);
      watchers.push(...made);
      return made;
    },
  };
  return lane;
}

async function bareLane(host: 'bare' | 'compare', kind: Kind, bare: BareMediasoup, sink: Sink, watchers: Watcher[]): Promise<Lane> {
  const pub = await bare.publisher('fanout');
  const lane: Lane = {
    host,
    kind,
    pub,
    subs: [],
    checked: 0,
    cpuMs: () => bare.cpuMs(),
    async add(count) {
      const made = await bare.subscribers('fanout', sink, count, KINDS[kind]);
      lane.subs.push(...made);
      watchers.push(...made);
      return made;
    },
  };
  watchers.push({ consumers: new Map(), close: () => pub.close() });
  return lane;
}

/** Only `lane`'s publisher sends: checks media reaches its new subscribers, settles, measures a window. */
async function measureLane(ctx: ScenarioContext, lane: Lane, all: readonly Lane[], sink: Sink, windowMs: number, part: 'cost' | 'ramp'): Promise<FanoutStep> {
  for (const l of all) if (l !== lane) l.pub.stop();
  lane.pub.start();
  try {
    if (lane.checked < lane.subs.length) {
      await mediaReaches(sink, lane.subs.slice(lane.checked), `${lane.subs.length - lane.checked} ${label(lane)} subscribers`);
      lane.checked = lane.subs.length;
    }
    await sleep(ctx.tiny ? 300 : 1000);
    const udp0 = readUdpCounters();
    const w0 = await lane.cpuMs();
    const p0 = processCpuMs();
    const t0 = performance.now();
    const rows = await measureWindow(lane.pub, sink, lane.subs, windowMs, 300); // late packets of the window count
    const wallMs = performance.now() - t0;
    const workerMs = (await lane.cpuMs()) - w0;
    const procMs = processCpuMs() - p0;
    const udp = udpDelta(udp0, readUdpCounters());
    const loss = aggregateLoss(rows);
    const consumers = lane.subs.length * 2;
    // Packets forwarded during the CPU window (the window plus its grace, at the same rate).
    const packetsOut = (rows.reduce((a, r) => a + r.expected, 0) * wallMs) / windowMs;
    const step: FanoutStep = {
      part,
      lane: label(lane),
      subscribers: lane.subs.length,
      consumers,
      lossPct: round(loss.total * 100, 3),
      worstLossPct: round(loss.worst * 100, 3),
      workerCpuPct: round((workerMs / wallMs) * 100, 1),
      botsCpuPct: round((procMs / wallMs) * 100, 1),
      workerUsPerPacket: round((workerMs * 1000) / Math.max(1, packetsOut), 2),
      workerCpuPctPerConsumer: round((workerMs / wallMs) * 100 / consumers, 4),
      lostPackets: rows.reduce((a, r) => a + Math.max(0, r.expected - r.received), 0),
      // Dropped by the kernel for a full receive buffer during the window (any socket: on
      // this loopback setup, in practice the sink): lost packets the worker did send.
      kernelRcvbufDrops: udp ? udp.rcvbufErrors : null,
      kernelSndbufDrops: udp ? udp.sndbufErrors : null,
    };
    ctx.log(`fanout ${part} ${step.lane}: ${step.subscribers} subscribers: loss ${step.lossPct}% (worst ${step.worstLossPct}%), worker CPU ${step.workerCpuPct}%, bots CPU ${step.botsCpuPct}%, ${step.workerUsPerPacket} µs/packet; kernel receive-buffer drops ${step.kernelRcvbufDrops ?? 'n/a'}`);
    return step;
  } finally {
    lane.pub.stop();
  }
}
