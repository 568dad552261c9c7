import type { RegionNode } from '../../region-node/RegionNode.js';
import { addSubscribers, type RtpPublisher } from '../bots.js';
import { sleep } from '../harness.js';
import { inProcess, mediaReaches } from '../inProcess.js';
import { round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const ROOM = 'bench-crossing';

/** Packets the origin producers received at A, and packets A's link to B sent. */
async function counters(a: RegionNode, pub: RtpPublisher): Promise<{ produced: number; crossed: number }> {
  const room = a.rooms().get(ROOM as never)!;
  let produced = 0;
  for (const peer of room.peers.values())
    for (const p of peer.producers.values()) if (pub.producerIds.includes(p.id)) for (const s of await p.getStats()) produced += s.packetCount;
  const links = room.cascade?.links() ?? [];
  let crossed = 0;
  for (const l of links) crossed += (await l.stats()).packetsOut;
  return { produced, crossed };
}

/**
 * A producer on node A, N watchers on node B (shared LocalRegistry, real gRPC, real pipes).
 * Per N, with the sender paused before and after, counts packets crossing A->B per packet
 * the producers received at A: 1.00 whatever N.
 */
export async function crossing(ctx: ScenarioContext): Promise<ScenarioResult> {
  const ns = ctx.tiny ? [1, 3] : [1, 5, 20];
  const sendMs = ctx.tiny ? 1000 : ctx.quick ? 3000 : 6000;
  const steps: ScenarioResult['steps'] = [];
  await inProcess([{ nodeId: 'bench-a', room: ROOM }, { nodeId: 'bench-b', region: 'us-east' }], async ({ nodes: [a, b], sink: s, pubs: [pub], watchers: subs }) => {
    for (const n of ns) {
      subs.push(...(await addSubscribers(b!, ROOM, s, n - subs.length, `far${subs.length}-`)));
      pub!.start();
      await mediaReaches(s, subs, `${n} watchers on B`);
      pub!.stop();
      await sleep(500); // drain: nothing in flight
      const before = await counters(a!, pub!);
      const totals0 = new Map(subs.flatMap((x) => [...x.consumers.keys()]).map((ssrc) => [ssrc, s.ssrcs.get(ssrc)?.total ?? 0]));
      pub!.start();
      await sleep(sendMs);
      pub!.stop();
      await sleep(800);
      const after = await counters(a!, pub!);
      const produced = after.produced - before.produced;
      const crossed = after.crossed - before.crossed;
      const delivered = [...totals0].reduce((acc, [ssrc, t0]) => acc + ((s.ssrcs.get(ssrc)?.total ?? 0) - t0), 0);
      const links = a!.rooms().get(ROOM as never)?.cascade?.links().length ?? 0;
      const step = { watchers: n, producedAtA: produced, crossedAtoB: crossed, crossingRatio: produced > 0 ? round(crossed / produced, 3) : null, deliveredOnB: delivered, deliveredPerProduced: produced > 0 ? round(delivered / produced, 3) : null, links };
      steps.push(step);
      ctx.log(`crossing: ${n} watchers on B: producer got ${produced} packets at A, ${crossed} crossed A->B (ratio ${step.crossingRatio}), ${delivered} delivered on B (${step.deliveredPerProduced} per produced packet)`);
    }
  });
  const ratios = steps.map((s) => s.crossingRatio).filter((x): x is number => x !== null);
  const allSame = ratios.length === steps.length && ratios.every((r) => r === ratios[0]);
  return {
    name: 'crossing',
    figures: { crossingRatio: allSame ? ratios[0]! : ratios.length ? Math.max(...ratios) : null },
    parameters: { watchersOnB: ns, sendMs, streams: 'audio + video from one publisher on A', counted: 'A link stats packetsOut / A producers packetCount, sender paused around the window' },
    steps,
    notes: allSame ? [] : [`crossing ratio differed between steps: ${ratios.join(', ')} (figure is the largest)`],
  };
}
