import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OCTOMESH_BIN } from '../cli/paths.js';
import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { NodeRecord } from '../core/registry/Registry.js';
import { serveRegistry } from '../core/registry/serveRegistry.js';
import { BENCH_NODE_CONFIG, eventually } from './harness.js';

// A bench mesh's host process (forked by nodeProcesses.ts): owns the registry and forks one
// region node process per spec, as `octomesh start` does, then waits for `close`.

export interface NodeProcessSpec {
  nodeId: string;
  region: string;
  latitude: number;
  longitude: number;
}

export const MESH_SPECS_ENV = 'OCTOMESH_BENCH_MESH_SPECS';

export type MeshCommand = { kind: 'close' };
export type MeshReport = { kind: 'ready'; nodes: { nodeId: string; wsUrl: string; pid: number }[] } | { kind: 'failed'; error: string };

async function hostMesh(specs: NodeProcessSpec[]): Promise<void> {
  const registry = new LocalRegistry();
  const dir = mkdtempSync(path.join(tmpdir(), 'octomesh-bench-'));
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(BENCH_NODE_CONFIG));
  const procs: ChildProcess[] = [];
  let records: NodeRecord[] = [];
  const unwatch = registry.watchNodes((nodes) => (records = nodes));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
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
    })());
  process.on('message', (m: MeshCommand) => {
    if (m.kind === 'close') void close().then(() => process.exit(0));
  });
  // The bench died: do not leave nodes behind.
  process.once('disconnect', () => void close().then(() => process.exit(0)));
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
    process.send!({ kind: 'failed', error: (err as Error).message } satisfies MeshReport);
    await close();
    process.exit(1);
  }
  const nodes = specs.map((spec, i) => ({ nodeId: spec.nodeId, wsUrl: records.find((r) => r.id === spec.nodeId)!.wsUrl, pid: procs[i]!.pid! }));
  process.send!({ kind: 'ready', nodes } satisfies MeshReport);
}

// Run as the forked host only (imported for its types elsewhere).
if (process.env[MESH_SPECS_ENV] && typeof process.send === 'function' && process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  void hostMesh(JSON.parse(process.env[MESH_SPECS_ENV]) as NodeProcessSpec[]);
}
