import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../core/logger.js';
import { ConsulRegistry, type ConsulRegistryOptions } from '../../core/registry/ConsulRegistry.js';

// Shared by the Consul tests (fake and live): records, registries with short waits, a logger
// whose lines can be counted, and polling.

/** A pino logger that keeps its lines (JSON objects) for assertions. */
export function capturingLogger(level: 'debug' | 'info' | 'warn' = 'warn'): { log: Logger; lines: { msg: string; level: number }[] } {
  const lines: { msg: string; level: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

/** Short waits and quick backoff, so that tests see blocking and retries within seconds. */
export function quickRegistry(address: string, options: Partial<ConsulRegistryOptions> = {}): ConsulRegistry {
  return new ConsulRegistry({
    address,
    requestTimeoutMs: 3000,
    ...options,
    loop: { waitSec: 2, backoffBaseMs: 100, backoffMaxMs: 1000, burst: 3, perSec: 5, ...options.loop },
  });
}

export { eventually, sleep } from './node.js';
export { testRecord } from './records.js';
