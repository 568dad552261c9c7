import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { eventually } from './node.js';
import { spawnWatched } from './process.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Runs `octomesh start` (what `npm start` runs) as its own process, and waits until it answers. */
export async function startCluster(env: Record<string, string> = {}): Promise<{ proc: ChildProcess; base: string; stop: () => Promise<void>; output: () => string }> {
  const base = 'http://127.0.0.1:8080';
  const cluster = spawnWatched(process.execPath, [path.join(ROOT, 'bin', 'octomesh.js'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, OCTOMESH_LOG_PRETTY: 'false', OCTOMESH_LOG_LEVEL: 'warn', ...env },
  }, { signal: 'SIGINT', graceMs: 5000 });
  try {
    await eventually(async () => {
      if (cluster.proc.exitCode !== null) throw new Error(`octomesh start exited with ${cluster.proc.exitCode}`);
      return fetch(`${base}/healthz`).then((r) => r.ok, () => false); // not listening yet
    }, 'octomesh start answers /healthz in 20 s', 20_000);
  } catch (err) {
    cluster.proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}:\n${cluster.output()}`);
  }
  return { ...cluster, base };
}
