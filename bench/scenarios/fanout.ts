import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { addSubscribers, measureWindow, Publisher, Sink, type Subscriber } from '../bots.js';
import { cpuWindow, eventually, sleep, startBenchNode } from '../harness.js';
import { aggregateLoss, round } from '../stats.js';
import { readUdpCounters, udpDelta } from '../udpCounters.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const ROOM = 'bench-fanout';
const LOSS_LIMIT = 0.005;

/**
 * One publisher (Opus-like + VP8-like) and a ramp of subscribers on one node, every consumer
 * sending into one UDP sink. Per step: loss (window by sender index), worker CPU, this
 * process's CPU (bots + sink).
 */
export async function fanout(ctx: ScenarioContext): Promise<ScenarioResult> {
  const ramp = ctx.tiny ? [2, 4] : ctx.quick ? [25, 50, 100, 200] : [50, 100, 200, 300, 400, 600];
  const windowMs = ctx.tiny ? 1000 : ctx.quick ? 4000 : 8000;
  const registry = new LocalRegistry();
  let node: RegionNode | undefined;
  let pub: Publisher | undefined;
  let sink: Sink | undefined;
  const subs: Subscriber[] = [];
  const steps: ScenarioResult['steps'] = [];
  try {
    node = await startBenchNode({ nodeId: 'bench-fanout', registry });
    sink = await Sink.create();
    pub = await Publisher.create(node, ROOM, 'publisher');
    pub.start();
    for (const target of ramp) {
      subs.push(...(await addSubscribers(node, ROOM, sink, target - subs.length, `sub${subs.length}-`)));
      const s = sink;
      await eventually(() => subs.every((x) => x.consumers.size === 2 && [...x.consumers.keys()].every((ssrc) => (s.ssrcs.get(ssrc)?.total ?? 0) > 0)), `media reaches all ${target} subscribers`, 30_000);
      await sleep(ctx.tiny ? 300 : 1500);
      let rows: { expected: number; received: number }[] = [];
      const udp0 = readUdpCounters();
      const cpu = await cpuWindow([node], async () => {
        rows = await measureWindow(pub!, s, subs, windowMs, 400); // late packets of the window count
      });
      const udp = udpDelta(udp0, readUdpCounters());
      const loss = aggregateLoss(rows);
      const consumers = subs.length * 2;
      const workerFrac = cpu.workerMs[0]! / cpu.wallMs;
      const procFrac = cpu.processMs / cpu.wallMs;
      // Packets forwarded during the CPU window (the window plus its grace, at the same rate).
      const packetsOut = (rows.reduce((a, r) => a + r.expected, 0) * cpu.wallMs) / windowMs;
      const step = {
        subscribers: subs.length,
        consumers,
        lossPct: round(loss.total * 100, 3),
        worstLossPct: round(loss.worst * 100, 3),
        workerCpuPct: round(workerFrac * 100, 1),
        botsCpuPct: round(procFrac * 100, 1),
        workerUsPerPacket: round((cpu.workerMs[0]! * 1000) / Math.max(1, packetsOut), 2),
        workerCpuPctPerConsumer: round((workerFrac * 100) / consumers, 4),
        lostPackets: rows.reduce((a, r) => a + Math.max(0, r.expected - r.received), 0),
        // Dropped by the kernel for a full receive buffer during the window (any socket: on
        // this loopback setup, in practice the sink): lost packets the worker did send.
        kernelRcvbufDrops: udp ? udp.rcvbufErrors : null,
        kernelSndbufDrops: udp ? udp.sndbufErrors : null,
      };
      steps.push(step);
      ctx.log(`fanout: ${subs.length} subscribers (${consumers} consumers): loss ${step.lossPct}% (worst ${step.worstLossPct}%), worker CPU ${step.workerCpuPct}%, bots CPU ${step.botsCpuPct}%, ${step.workerUsPerPacket} µs/packet; lost ${step.lostPackets}, kernel receive-buffer drops ${step.kernelRcvbufDrops ?? 'n/a'}`);
    }
  } finally {
    pub?.close();
    for (const s of subs) s.close();
    sink?.close();
    node?.close();
    registry.close();
  }
  const ok = steps.filter((s) => s.lossPct !== null && s.lossPct <= LOSS_LIMIT * 100 && (s.workerCpuPct ?? 0) > 0);
  const best = ok[ok.length - 1];
  return {
    name: 'fanout',
    figures: {
      consumersPerCore: best ? round(best.consumers! / (best.workerCpuPct! / 100), 0) : null,
      cpuPctPerConsumer: best ? best.workerCpuPctPerConsumer! : null,
      workerUsPerPacket: best ? best.workerUsPerPacket! : null,
      maxConsumersWithinLoss: best ? best.consumers! : null,
    },
    parameters: { ramp, windowMs, lossLimitPct: LOSS_LIMIT * 100, audio: '50 pps x 120 B', video: '30 fps x 3 x 1100 B, VP8 keyframe every 60 frames or on PLI', consumersPerSubscriber: 2 },
    steps,
    notes: best ? [`consumersPerCore extrapolated from the step with ${best.consumers} consumers (worker at ${best.workerCpuPct}% of a core, loss ${best.lossPct}%)`] : ['no step stayed within 0.5 % loss'],
  };
}
