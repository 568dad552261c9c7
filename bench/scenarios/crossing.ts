import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { addSubscribers, Publisher, Sink, type Subscriber } from '../bots.js';
import { eventually, sleep, startBenchNode } from '../harness.js';
import { round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

const ROOM = 'bench-crossing';

/** Packets the origin producers received at A, and packets A's link to B sent. */
async function counters(a: RegionNode, pub: Publisher): Promise<{ produced: number; crossed: number }> {
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
  const registry = new LocalRegistry();
  let a: RegionNode | undefined;
  let b: RegionNode | undefined;
  let pub: Publisher | undefined;
  let sink: Sink | undefined;
  const subs: Subscriber[] = [];
  const steps: ScenarioResult['steps'] = [];
  try {
    a = await startBenchNode({ nodeId: 'bench-a', registry });
    b = await startBenchNode({ nodeId: 'bench-b', region: 'us-east', registry });
    sink = await Sink.create();
    pub = await Publisher.create(a, ROOM, 'origin');
    pub.start();
    for (const n of ns) {
      subs.push(...(await addSubscribers(b, ROOM, sink, n - subs.length, `far${subs.length}-`)));
      const s = sink;
      pub.start();
      await eventually(() => subs.every((x) => x.consumers.size === 2 && [...x.consumers.keys()].every((ssrc) => (s.ssrcs.get(ssrc)?.total ?? 0) > 0)), `media reaches ${n} watchers on B`, 30_000);
      pub.stop();
      await sleep(500); // drain: nothing in flight
      const before = await counters(a, pub);
      const totals0 = new Map(subs.flatMap((x) => [...x.consumers.keys()]).map((ssrc) => [ssrc, s.ssrcs.get(ssrc)?.total ?? 0]));
      pub.start();
      await sleep(sendMs);
      pub.stop();
      await sleep(800);
      const after = await counters(a, pub);
      const produced = after.produced - before.produced;
      const crossed = after.crossed - before.crossed;
      const delivered = [...totals0].reduce((acc, [ssrc, t0]) => acc + ((s.ssrcs.get(ssrc)?.total ?? 0) - t0), 0);
      const links = a.rooms().get(ROOM as never)?.cascade?.links().length ?? 0;
      const step = { watchers: n, producedAtA: produced, crossedAtoB: crossed, crossingRatio: produced > 0 ? round(crossed / produced, 3) : null, deliveredOnB: delivered, deliveredPerProduced: produced > 0 ? round(delivered / produced, 3) : null, links };
      steps.push(step);
      ctx.log(`crossing: ${n} watchers on B: producer got ${produced} packets at A, ${crossed} crossed A->B (ratio ${step.crossingRatio}), ${delivered} delivered on B (${step.deliveredPerProduced} per produced packet)`);
    }
  } finally {
    pub?.close();
    for (const s of subs) s.close();
    sink?.close();
    a?.close();
    b?.close();
    registry.close();
  }
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
