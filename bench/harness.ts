import { loadConfig, type Config, type DeepPartial } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import type { Registry } from '../core/registry/Registry.js';
import { RegionNode } from '../region-node/RegionNode.js';

/**
 * What a bench node changes from the defaults: they protect a public node from one client; here
 * one machine plays hundreds of clients, and pipes are released sooner so scenarios can end.
 */
export const BENCH_NODE_CONFIG = {
  limits: { maxPeersPerRoom: 5000, messagesPerSecond: 1000, messageBurst: 5000 },
  relay: { pipeGraceSec: 1 },
} as const;

/** A real region node in this process on ephemeral ports: one worker, plain transports on, silent. */
export async function startBenchNode(opts: { nodeId: string; region?: string; registry: Registry; overrides?: DeepPartial<Config> }): Promise<RegionNode> {
  const config = loadConfig({
    env: {},
    overrides: {
      nodeId: opts.nodeId,
      region: opts.region ?? 'eu-west',
      http: { port: 0 },
      media: { workers: 1, rtcPort: 0, plainTransports: true },
      relay: { port: 0, secret: 'bench-secret', ...BENCH_NODE_CONFIG.relay },
      limits: BENCH_NODE_CONFIG.limits,
      log: { level: 'silent', pretty: 'false' },
      ...opts.overrides,
    } as DeepPartial<Config>,
  });
  return RegionNode.start(config, createLogger({ level: 'silent', pretty: false }), { registry: opts.registry });
}

/** ru_utime + ru_stime of a node's first mediasoup worker, in ms. */
export async function workerCpuMs(node: RegionNode): Promise<number> {
  const u = await node.pool.slots[0]!.worker.getResourceUsage();
  return u.ru_utime + u.ru_stime;
}

/** CPU of this process (bots, sink, the in-process node's JS), in ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export { eventually, sleep } from '../core/wait.js';

/** Measures a window: wall ms, worker CPU ms of each node, this process's CPU ms. */
export async function cpuWindow(nodes: readonly RegionNode[], run: () => Promise<void>): Promise<{ wallMs: number; workerMs: number[]; processMs: number }> {
  const w0 = await Promise.all(nodes.map(workerCpuMs));
  const p0 = processCpuMs();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const p1 = processCpuMs();
  const w1 = await Promise.all(nodes.map(workerCpuMs));
  return { wallMs, workerMs: w1.map((v, i) => v - w0[i]!), processMs: p1 - p0 };
}
