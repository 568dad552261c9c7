import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OCTOMESH_BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { createLogger } from '../../core/logger.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { WorkerPool } from '../../region-node/WorkerPool.js';
import { eventually, joinRoom } from '../helpers/node.js';

// Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the CLI process,
// its region-node children and their mediasoup workers all get it at once. A service manager
// (or the `octomesh start` parent) then sends SIGTERM as well. Whatever arrives during a clean
// stop, the exit code is 0 and no worker is reported dead or replaced.

interface Proc {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `octomesh ARGS` as the leader of its own process group, like a shell's foreground job. */
function runInOwnGroup(args: string[], env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, [OCTOMESH_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', OCTOMESH_LOG_PRETTY: 'false', OCTOMESH_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/** Ctrl-C to the group, then SIGTERM to the leader at once, as the `octomesh start` parent sends its children. */
async function ctrlCThenTerm(p: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = p.proc.pid!;
  process.kill(-pid, 'SIGINT');
  process.kill(pid, 'SIGTERM');
  return exitOrKill(p);
}

/** The exit, or SIGKILL to the group (and a failure) after 20 s. */
async function exitOrKill(p: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = p.proc.pid!;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 20_000)));
  const exit = await Promise.race([p.exited, hung]);
  clearTimeout(timer);
  if (exit === 'hung') {
    process.kill(-pid, 'SIGKILL');
    assert.fail(`still running 20 s after SIGINT + SIGTERM:\n${p.output()}`);
  }
  return exit;
}

/** Pids of this process's mediasoup-worker children, from /proc. */
function workerChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces, so split after its closing parenthesis.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('mediasoup-worke')) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const WORKER_DEATH = /worker died|replacing it|replace mediasoup worker/;

describe('clean shutdown on Ctrl-C', () => {
  it('a lone region node draining on SIGTERM exits 0 when Ctrl-C follows, its workers not reported dead', async () => {
    const port = await freePort();
    const p = runInOwnGroup(['region-node', '--http-port', String(port), '--relay-port', '0', '--rtc-port', '0', '--workers', '2'], {});
    await eventually(() => healthy(`http://127.0.0.1:${port}/healthz`), `region node ready (output: ${p.output()})`, 20_000);
    // Someone in a room: the drain SIGTERM starts waits for it, so the Ctrl-C lands mid-drain.
    const { client } = await joinRoom({ wsUrl: `ws://127.0.0.1:${port}/ws` } as RegionNode, 'still-talking', 'A');
    try {
      const pid = p.proc.pid!;
      process.kill(pid, 'SIGTERM');
      await eventually(() => /"msg":"draining"/.test(p.output()), 'draining', 10_000);
      process.kill(-pid, 'SIGINT');
      const exit = await exitOrKill(p);
      assert.deepEqual(exit, { code: 0, signal: null }, p.output());
      assert.doesNotMatch(p.output(), WORKER_DEATH);
      assert.match(p.output(), /region node closed/);
    } finally {
      client.close();
    }
  });

  it('`octomesh start` and every region node it runs exit 0 after Ctrl-C and the SIGTERM that follows', async () => {
    const port = await freePort();
    const p = runInOwnGroup(['start'], { OCTOMESH_HTTP_PORT: String(port) });
    await eventually(async () => (await healthy(`http://127.0.0.1:${port}/healthz`)) && /local cluster ready/.test(p.output()), `cluster ready (output: ${p.output()})`, 30_000);
    const exit = await ctrlCThenTerm(p);
    const out = p.output();
    assert.deepEqual(exit, { code: 0, signal: null }, out);
    assert.doesNotMatch(out, WORKER_DEATH);
    // The parent logs how each child ended.
    const ends = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; node?: string })
      .filter((l) => /^region node stopped/.test(l.msg ?? ''));
    assert.deepEqual(ends.map((l) => l.node).sort(), ['ap-northeast-1', 'eu-west-1', 'us-east-1'], out);
    for (const l of ends) assert.equal(l.msg, 'region node stopped (exit code 0)', out);
  });

  it('a worker that stops on a signal is replaced while the node runs, and not once the node is stopping', async () => {
    const stopping = new AbortController();
    const pool = await WorkerPool.create({ size: 2, rtcPort: 0, listenIp: '127.0.0.1', announcedAddress: '', logLevel: 'error', workerBin: '' }, createLogger({ level: 'silent', pretty: false }), stopping.signal);
    try {
      const replaced = new Promise<number>((resolve) => pool.once('workerReplaced', (index) => resolve(index)));
      const first = pool.slots[0]!.worker;
      process.kill(first.pid, 'SIGINT');
      assert.equal(await replaced, 0);
      assert.notEqual(pool.slots[0]!.worker.pid, first.pid);

      stopping.abort();
      const second = pool.slots[1]!.worker;
      const gone = new Promise<void>((resolve) => second.once('died', () => resolve()));
      let again = false;
      pool.once('workerReplaced', () => (again = true));
      process.kill(second.pid, 'SIGINT');
      await gone;
      // The pool decides within one loop turn of the exit (its 'died' listener ran before ours),
      // and a replacement spawns its process synchronously when decided: after two turns, a
      // replacement would be there to see.
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(workerChildren(), [pool.slots[0]!.worker.pid]);
      assert.equal(again, false);
      assert.equal(pool.slots[1]!.worker, second, 'no new worker in its slot');
    } finally {
      pool.close();
    }
  });
});
