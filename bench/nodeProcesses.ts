import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { NodeRecord } from '../core/registry/Registry.js';
import { serveRegistry } from '../core/registry/serveRegistry.js';
import { OCTOMESH_BIN } from '../cli/paths.js';
import { eventually, sleep } from './harness.js';

// Region nodes as separate processes, as on separate hosts: each has its own event loop, so a
// storm of clients measures the node, not three nodes and the bots sharing one JS thread.
// They share a registry this process owns (over IPC, as in `octomesh start`).

export interface NodeProcessSpec {
  nodeId: string;
  region: string;
  latitude: number;
  longitude: number;
}

export interface NodeProcess {
  readonly nodeId: string;
  readonly region: string;
  readonly wsUrl: string;
  readonly pid: number;
  /** CPU (user + system) of the node's JS process and of its mediasoup worker, in ms. */
  cpuMs(): Promise<{ node: number; worker: number }>;
}

export interface NodeProcesses {
  readonly nodes: NodeProcess[];
  close(): Promise<void>;
}

// Bench limits: the defaults protect a public node from one client; here one machine plays
// hundreds of clients, and pipes are released sooner so scenarios can end.
const BENCH_CONFIG = {
  limits: { maxPeersPerRoom: 5000, messagesPerSecond: 1000, messageBurst: 5000 },
  relay: { pipeGraceSec: 1 },
};

/** Starts one region node process per spec (one worker, plain transports on, ephemeral ports). */
export async function startNodeProcesses(specs: readonly NodeProcessSpec[]): Promise<NodeProcesses> {
  const registry = new LocalRegistry();
  const dir = mkdtempSync(path.join(tmpdir(), 'octomesh-bench-'));
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(BENCH_CONFIG));
  const procs: ChildProcess[] = [];
  let records: NodeRecord[] = [];
  const unwatch = registry.watchNodes((nodes) => (records = nodes));
  const close = async (): Promise<void> => {
    // SIGINT: stop at once (SIGTERM would drain).
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGINT');
            setTimeout(() => p.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    unwatch();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const spec of specs) {
      const proc = fork(OCTOMESH_BIN, ['region-node'], {
        // To profile the nodes: BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
        execArgv: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
        env: {
          PATH: process.env.PATH ?? '',
          OCTOMESH_CONFIG: configFile,
          OCTOMESH_REGION: spec.region,
          OCTOMESH_NODE_ID: spec.nodeId,
          OCTOMESH_LATITUDE: String(spec.latitude),
          OCTOMESH_LONGITUDE: String(spec.longitude),
          OCTOMESH_HTTP_PORT: '0',
          OCTOMESH_RTC_PORT: '0',
          OCTOMESH_WORKERS: '1',
          OCTOMESH_RELAY_PORT: '0',
          OCTOMESH_RELAY_SECRET: 'bench-secret',
          OCTOMESH_PLAIN_TRANSPORTS: 'true',
          OCTOMESH_DISCOVERY: 'local',
          OCTOMESH_STATIC_DIR: '',
          OCTOMESH_LOG_LEVEL: 'warn',
          OCTOMESH_LOG_PRETTY: 'false',
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      serveRegistry(proc, registry);
      procs.push(proc);
    }
    await eventually(() => specs.every((s) => records.some((r) => r.id === s.nodeId)), 'bench region node processes registered', 30_000);
  } catch (err) {
    await close();
    throw err;
  }
  const nodes = specs.map((spec, i) => {
    const record = records.find((r) => r.id === spec.nodeId)!;
    const pid = procs[i]!.pid!;
    let workerPid: number | undefined;
    return {
      nodeId: spec.nodeId,
      region: spec.region,
      wsUrl: record.wsUrl,
      pid,
      async cpuMs() {
        workerPid ??= await workerPidOf(record.wsUrl);
        return { node: procCpuMs(pid), worker: workerPid ? procCpuMs(workerPid) : NaN };
      },
    };
  });
  return { nodes, close };
}

/** The node's first worker's pid, from its /healthz. */
async function workerPidOf(wsUrl: string): Promise<number | undefined> {
  const url = wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/healthz');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const body = (await (await fetch(url)).json()) as { workers?: { pid: number }[] };
      return body.workers?.[0]?.pid;
    } catch {
      await sleep(100);
    }
  }
  return undefined;
}

const CLOCK_TICKS_PER_SEC = 100; // Linux USER_HZ

/** utime + stime of a live process from /proc, in ms (NaN when it is gone). */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return NaN;
  }
}
