import type { RegionNode } from '../../region-node/RegionNode.js';
import { addSubscribers, measureWindow } from '../bots.js';
import { cpuWindow, sleep } from '../harness.js';
import { inProcess, mediaReaches } from '../inProcess.js';
import { aggregateLoss, median, percentile, round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const ROOM = 'bench-relay';

/**
 * Publisher on A. Phase "local": K subscribers on A. Phase "remote": K subscribers on B (the
 * media crosses the relay). CPU per consumer = worker CPU above the publisher-only baseline
 * (A + B workers for remote), and one-way delay from the send time stamped in each payload.
 */
export async function relay(ctx: ScenarioContext): Promise<ScenarioResult> {
  // 150 in quick runs too: at 50 the pipe's fixed cost and the noise of ~8 % CPU readings swung the
  // ratio between 1.27 and 1.50 over runs; at 150 it reads the per-consumer cost.
  const k = ctx.tiny ? 3 : 150;
  const windowMs = ctx.tiny ? 1000 : ctx.quick ? 4000 : 8000;
  const steps: ScenarioResult['steps'] = [];
  await inProcess([{ nodeId: 'bench-relay-a', room: ROOM }, { nodeId: 'bench-relay-b', region: 'us-east' }], async ({ nodes: [a, b], sink: s, pubs: [pub], watchers }) => {
    await sleep(1000);
    const base = await cpuWindow([a!, b!], () => sleep(windowMs));
    const baseFrac = base.workerMs.map((ms) => ms / base.wallMs);
    const phase = async (where: 'local' | 'remote', node: RegionNode): Promise<void> => {
      const subs = await addSubscribers(node, ROOM, s, k, `${where}-`);
      watchers.push(...subs);
      await mediaReaches(s, subs, `${k} ${where} subscribers`);
      await sleep(1500);
      let rows: { expected: number; received: number }[] = [];
      const cpu = await cpuWindow([a!, b!], async () => {
        rows = await measureWindow(pub!, s, subs, windowMs, 400);
      });
      const above = cpu.workerMs.map((ms, i) => Math.max(0, ms / cpu.wallMs - baseFrac[i]!));
      const cpuFrac = above[0]! + above[1]!;
      const consumers = k * 2;
      steps.push({
        phase: where === 'local' ? 0 : 1,
        consumers,
        workerACpuPct: round(above[0]! * 100, 2),
        workerBCpuPct: round(above[1]! * 100, 2),
        cpuPctPerConsumer: round((cpuFrac * 100) / consumers, 4),
        lossPct: round(aggregateLoss(rows).total * 100, 3),
        delayP50Ms: round(median(s.delaysMs), 3),
        delayP95Ms: round(percentile(s.delaysMs, 95), 3),
      });
      const st = steps[steps.length - 1]!;
      ctx.log(`relay: ${k} ${where} subscribers: worker CPU above baseline A ${st.workerACpuPct}% B ${st.workerBCpuPct}%, ${st.cpuPctPerConsumer}%/consumer, delay p50 ${st.delayP50Ms} ms p95 ${st.delayP95Ms} ms, loss ${st.lossPct}%`);
      for (const x of subs) x.close();
      await sleep(1500); // peers leave, pipes close after the grace period
    };
    await phase('local', a!);
    await phase('remote', b!);
  });
  const [local, remote] = steps;
  const ratio = local && remote && local.cpuPctPerConsumer! > 0 ? remote.cpuPctPerConsumer! / local.cpuPctPerConsumer! : null;
  return {
    name: 'relay',
    figures: {
      remoteToLocalCpuRatio: round(ratio, 2),
      relayAddedLatencyMs: local && remote ? round(remote.delayP50Ms! - local.delayP50Ms!, 3) : null,
    },
    parameters: { subscribersPerPhase: k, windowMs, phases: 'phase 0 = subscribers on A (local), phase 1 = subscribers on B (relayed from A)', cpu: 'worker CPU above a publisher-only baseline; remote counts A + B workers', latency: 'p50 one-way delay remote minus local, loopback (no WAN delay)' },
    steps,
    notes: ['both nodes and all bots share this machine: the added latency is the relay\'s processing (pipe consumer, SRTP, second router), not any network'],
  };
}
