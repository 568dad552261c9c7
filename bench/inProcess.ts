import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { RegionNode } from '../region-node/RegionNode.js';
import { Publisher, type Watcher } from './bots.js';
import { eventually, startBenchNode } from './harness.js';
import { Sink } from './sink.js';

/** What a scenario with region nodes in this process works with; `InProcess.run` closes it all. */
export interface InProcess {
  readonly nodes: RegionNode[];
  readonly sink: Sink;
  /** One per node given a `room`, in order; started: sending as soon as it is made. */
  readonly pubs: Publisher[];
  /** Watchers made so far, closed at the end (a scenario may close some earlier itself). */
  readonly watchers: Watcher[];
}

/**
 * Starts region nodes in this process (one worker each, shared registry, real gRPC between
 * them), a sink and a publisher on each node given a `room`, runs `body`, then closes every
 * bot, node and the registry, whatever `body` did.
 */
export async function inProcess<T>(specs: readonly { nodeId: string; region?: string; room?: string }[], body: (s: InProcess) => Promise<T>): Promise<T> {
  const registry = new LocalRegistry();
  const nodes: RegionNode[] = [];
  let sink: Sink | undefined;
  const pubs: Publisher[] = [];
  const watchers: Watcher[] = [];
  try {
    for (const { room: _, ...spec } of specs) nodes.push(await startBenchNode({ ...spec, registry }));
    sink = await Sink.create();
    for (const [i, spec] of specs.entries()) {
      if (spec.room === undefined) continue;
      pubs.push(await Publisher.create(nodes[i]!, spec.room, 'publisher'));
      pubs[pubs.length - 1]!.start();
    }
    return await body({ nodes, sink, pubs, watchers });
  } finally {
    for (const p of pubs) p.close();
    for (const w of watchers) w.close();
    sink?.close();
    for (const n of nodes) n.close();
    registry.close();
  }
}

/** Waits until every consumer of every watcher has had a packet at the sink. */
export function mediaReaches(sink: Sink, watchers: readonly Watcher[], what: string, consumersEach = 2, timeoutMs = 30_000): Promise<void> {
  return eventually(() => watchers.every((x) => x.consumers.size === consumersEach && [...x.consumers.keys()].every((ssrc) => (sink.ssrcs.get(ssrc)?.total ?? 0) > 0)), `media reaches ${what}`, timeoutMs);
}
