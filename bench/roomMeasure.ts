import type { RegionNode } from '../region-node/RegionNode.js';
import type { Sink } from './bots.js';
import { eventually, sleep } from './harness.js';
import { RoomBot, type RoomBotOptions } from './roomBot.js';
import { round } from './stats.js';

/** Bytes each node's links sent so far, by directed pair "i>j" (indexes into `nodes`). */
export async function linkBytesOut(nodes: readonly RegionNode[], room: string): Promise<Map<string, number>> {
  const index = new Map(nodes.map((n, i) => [n.config.nodeId as string, i]));
  const out = new Map<string, number>();
  await Promise.all(
    nodes.map(async (n, i) => {
      for (const l of n.rooms().get(room as never)?.cascade?.links() ?? []) {
        const st = await l.stats();
        const j = index.get(st.remoteNode);
        if (j !== undefined) out.set(`${i}>${j}`, (out.get(`${i}>${j}`) ?? 0) + st.bytesOut);
      }
    }),
  );
  return out;
}

/**
 * The spatial layer every video consumer of the room's participants is on, as mediasoup reports
 * it (index 3: paused or no layer): what the downlink is made of.
 */
export function consumerLayers(nodes: readonly RegionNode[], room: string): number[] {
  const counts = [0, 0, 0, 0];
  for (const n of nodes)
    for (const peer of n.rooms().get(room as never)?.peers.values() ?? [])
      for (const c of peer.consumers.values()) {
        if (c.kind !== 'video') continue;
        const l = c.paused || c.producerPaused ? undefined : c.currentLayers?.spatialLayer;
        counts[l === undefined || l < 0 || l > 2 ? 3 : l]!++;
      }
  return counts;
}

/** Pair-wise difference of two counter maps (missing = 0). */
export function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}

/** Bytes over a wall-clock window as kbit/s at nominal speed (the bots run `timeScale` times slower). */
export const nominalKbps = (bytes: number, ms: number, timeScale: number): number => (ms > 0 ? ((bytes * 8) / ms) * timeScale : NaN);

export interface FarWatcherResult {
  /** How the watcher asked for layer 0: setConsumerView, or setConsumerPreferredLayers when that failed. */
  layer0By: string;
  crossKbpsLayer0: number | null;
  layer0Kbps: number | null;
  receivedKbpsLayer0: number | null;
  /** The far consumer's spatial layer at the window's end, as mediasoup reports it (-1: none). */
  watcherLayer: number;
  crossKbpsPaused: number | null;
  notes: string[];
}

/**
 * One simulcast publisher on A (video only) that honours producerDemand or ignores it (then what
 * crosses shows the relay's own choice of layers), one watcher on B. Step 1: the watcher asks for
 * layer 0; bytes crossing A->B over the window vs the layer-0 bytes the publisher sent. Step 2:
 * the watcher pauses its consumer; after the pipe grace, what still crosses.
 */
export async function farWatcher(opts: {
  a: RegionNode;
  b: RegionNode;
  room: string;
  sink: Sink;
  timeScale: number;
  windowMs: number;
  /** How long a layer switch or a pipe pause may take before the window opens. */
  settleMs: number;
  /** true: setConsumerView 256x144 first (adaptive); false: setConsumerPreferredLayers 0 (today's SDK call). */
  viewBySize: boolean;
  /** The publisher stops the layers producerDemand says nobody needs (dynacast). */
  honourDemand: boolean;
}): Promise<FarWatcherResult> {
  const { a, b, room, sink, timeScale, windowMs, settleMs } = opts;
  const bots: RoomBot[] = [];
  const notes: string[] = [];
  const o: RoomBotOptions = { honourDemand: opts.honourDemand, timeScale };
  try {
    // Video only: the link's counters then count this publisher's video and nothing else.
    const pub = await RoomBot.join(a, room, 'far-pub', sink, { ...o, audio: false });
    bots.push(pub);
    pub.start();
    const watcher = await RoomBot.join(b, room, 'far-watcher', sink, { ...o, publish: false });
    bots.push(watcher);
    await eventually(() => watcher.consumers.size > 0, 'the far watcher has its consumer', 20_000);
    await watcher.resumeAll();
    const video = (): { consumerId: string; ssrc: number } | undefined => [...watcher.consumers.values()].find((c) => c.kind === 'video');
    await eventually(() => (sink.ssrcs.get(video()?.ssrc ?? -1)?.bytes ?? 0) > 0, 'video reaches the far watcher', 20_000);
    const consumerId = video()!.consumerId;
    let layer0By = 'setConsumerView 256x144';
    const ok = opts.viewBySize && (await watcher.signal.request('setConsumerView', { consumerId, width: 256, height: 144 }).then(() => true, (e: Error) => (notes.push(`setConsumerView: ${e.message}`), false)));
    if (!ok) {
      layer0By = 'setConsumerPreferredLayers 0';
      await watcher.signal.request('setConsumerPreferredLayers', { consumerId, spatialLayer: 0 });
    }
    await sleep(settleMs);
    const layerNow = (): number => consumerLayers([b], room).slice(0, 3).findIndex((n) => n > 0);
    const settled = await eventually(() => layerNow() === 0, 'layer 0', 10_000).then(
      () => true,
      () => false,
    );
    if (!settled) notes.push(`the far consumer was not on layer 0 ${(settleMs + 10_000) / 1000} s after the request (layer ${layerNow()}; -1: none)`);
    const window = async (): Promise<{ cross: number; layer0: number; received: number; ms: number }> => {
      const t0 = performance.now();
      const l0 = await linkBytesOut([a, b], room);
      const s0 = pub.sentBytes[0]!;
      const r0 = sink.ssrcs.get(video()!.ssrc)?.bytes ?? 0;
      await sleep(windowMs);
      const l1 = await linkBytesOut([a, b], room);
      return { cross: (l1.get('0>1') ?? 0) - (l0.get('0>1') ?? 0), layer0: pub.sentBytes[0]! - s0, received: (sink.ssrcs.get(video()!.ssrc)?.bytes ?? 0) - r0, ms: performance.now() - t0 };
    };
    const w1 = await window();
    const watcherLayer = layerNow();
    for (const c of watcher.consumers.values()) await watcher.signal.request('pauseConsumer', { consumerId: c.consumerId });
    await sleep(settleMs + b.config.relay.pipeGraceSec * 1000);
    const w2 = await window();
    const k = (bytes: number, w: { ms: number }): number => nominalKbps(bytes, w.ms, timeScale);
    return {
      layer0By,
      crossKbpsLayer0: round(k(w1.cross, w1), 1),
      layer0Kbps: round(k(w1.layer0, w1), 1),
      receivedKbpsLayer0: round(k(w1.received, w1), 1),
      watcherLayer,
      crossKbpsPaused: round(k(w2.cross, w2), 1),
      notes,
    };
  } finally {
    for (const bot of bots) bot.close();
  }
}
