import { spawn, type SpawnOptions } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** A child process whose stdout and stderr are kept, with a stop that ends in SIGKILL. */
export interface Watched {
  proc: ChildProcess;
  /** Everything it wrote so far (stdout and stderr, interleaved as they came). */
  output(): string;
  /** Sends `signal`, waits up to `graceMs` for the exit, then kills it. */
  stop(): Promise<void>;
}

/** Spawns `cmd` with its output kept; `stop` asks with `stopWith.signal`, then SIGKILLs after `graceMs`. */
export function spawnWatched(cmd: string, args: string[], opts: SpawnOptions, stopWith: { signal: NodeJS.Signals; graceMs: number }): Watched {
  let out = '';
  const proc = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  proc.once('error', (err) => (out += `\nspawn failed: ${err.message}`));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(stopWith.signal);
      let timer: NodeJS.Timeout | undefined;
      const hard = new Promise<void>((r) => (timer = setTimeout(() => r(void proc.kill('SIGKILL')), stopWith.graceMs)));
      await Promise.race([exited, hard]);
      clearTimeout(timer);
    },
  };
}
