import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from './node.js';
import { freePort } from './ports.js';
import { spawnWatched } from './process.js';

export const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';
/** coturn's relay ports: above Linux's ephemeral range (32768-60999), so no other socket has one. */
export const RELAY_PORTS = { min: 61000, max: 61999 };

export interface Coturn {
  port: number;
  secret: string;
  /** Everything coturn logged so far (its log goes to stdout). */
  output(): string;
  stop(): Promise<void>;
}


/**
 * Debian's coturn on loopback with the TURN REST API (use-auth-secret), as deploy/coturn's
 * example runs it, except that loopback peers are allowed: here the region node is on 127.0.0.1.
 */
export async function startCoturn(): Promise<Coturn> {
  const dir = mkdtempSync(path.join(tmpdir(), 'octomesh-coturn-'));
  const port = await freePort();
  const secret = randomBytes(24).toString('hex');
  const turn = spawnWatched(TURNSERVER, [
    '-n',
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    `--min-port=${RELAY_PORTS.min}`,
    `--max-port=${RELAY_PORTS.max}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=octomesh',
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--allow-loopback-peers',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
    `--userdb=${path.join(dir, 'turndb')}`,
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
  ], {}, { signal: 'SIGTERM', graceMs: 3000 });
  try {
    await eventually(async () => {
      if (turn.proc.exitCode !== null || turn.output().includes('spawn failed')) throw new Error(`turnserver exited:\n${turn.output()}`);
      return new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      });
    }, 'turnserver listening', 10_000);
  } catch (err) {
    turn.proc.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    secret,
    output: turn.output,
    stop: async () => {
      await turn.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
