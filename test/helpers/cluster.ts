import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './node.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Runs `octomesh start` (what `npm start` runs) as its own process, and waits until it answers. */
export async function startCluster(env: Record<string, string> = {}): Promise<{ proc: ChildProcess; base: string; stop: () => Promise<void>; output: () => string }> {
  const base = 'http://127.0.0.1:8080';
  let out = '';
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'octomesh.js'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, OCTOMESH_LOG_PRETTY: 'false', OCTOMESH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`octomesh start exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`octomesh start did not answer /healthz in 20 s:\n${out}`);
    }
    await sleep(100);
  }
  return {
    proc,
    base,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGINT');
      await Promise.race([exited, sleep(5000).then(() => proc.kill('SIGKILL'))]);
    },
  };
}
