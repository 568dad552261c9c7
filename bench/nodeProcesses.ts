import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep } from './harness.js';
import { MESH_SPECS_ENV, type MeshCommand, type MeshReport, type NodeProcessSpec } from './meshHost.js';

// Region nodes as separate processes, as on separate hosts: each has its own event loop, so a
// storm of clients measures the nodes, not three nodes and the bots sharing one JS thread.

export type { NodeProcessSpec };

const MESH_HOST = fileURLToPath(new URL('./meshHost.js', import.meta.url));

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

/**
 * Starts one region node process per spec (one worker, plain transports on, ephemeral ports).
 * They are the children of a small host process that owns their registry, not of this one:
 * the registry's traffic (room presence, watches) must not queue behind a thousand bots, as
 * it would not in a real mesh (the cluster parent, or Consul, serves it).
 */
export async function startNodeProcesses(specs: readonly NodeProcessSpec[]): Promise<NodeProcesses> {
  const host = fork(MESH_HOST, [], {
    execArgv: [],
    env: { ...process.env, [MESH_SPECS_ENV]: JSON.stringify(specs) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => host.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (host.exitCode === null && host.signalCode === null) {
      host.send({ kind: 'close' } satisfies MeshCommand, () => undefined);
      const killer = setTimeout(() => host.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  let started: { nodeId: string; wsUrl: string; pid: number }[];
  try {
    started = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench region node processes did not register within 40 s')), 40_000);
      host.on('message', (m: MeshReport) => {
        if (m.kind === 'ready') {
          clearTimeout(timer);
          resolve(m.nodes);
        } else if (m.kind === 'failed') {
          clearTimeout(timer);
          reject(new Error(m.error));
        }
      });
      void exited.then(() => reject(new Error('the bench mesh host exited before its nodes were up')));
    });
  } catch (err) {
    await close();
    throw err;
  }
  const nodes = specs.map((spec) => {
    const { wsUrl, pid } = started.find((n) => n.nodeId === spec.nodeId)!;
    let workerPid: number | undefined;
    return {
      nodeId: spec.nodeId,
      region: spec.region,
      wsUrl,
      pid,
      async cpuMs() {
        workerPid ??= await workerPidOf(wsUrl);
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
