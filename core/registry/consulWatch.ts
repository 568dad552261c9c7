import { EventEmitter } from 'node:events';
import { TokenBucket } from '../TokenBucket.js';

// One Consul blocking-query loop, with the index rules of Consul's "Blocking Queries" page:
// remember X-Consul-Index, start over from 0 when it goes backwards, never block on an index
// below 1, back off on errors, and rate-limit the loop so that a result that churns (or a
// server or proxy that answers at once) degrades into polling instead of a busy loop.

/** What one read returns: the body, and X-Consul-Index as the server sent it (if it did). */
export interface BlockingRead<T> {
  index: string | undefined;
  value: T;
}

/**
 * The consul client (papi) aborts a request when its `ctx` emits `cancel`, and answers
 * `[response, body]` instead of `body` when `ctx.includeResponse` is set.
 */
export type RequestContext = EventEmitter & { includeResponse: true; canceled?: boolean };

export interface BlockingLoopOptions {
  /** Consul's `wait`: how long the server may hold one request. */
  waitSec: number;
  /** Error backoff: base * 2^(failures-1), capped, with jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Successful reads allowed in a burst, then this many per second. */
  burst: number;
  perSec: number;
}

export type BlockingFetch<T> = (index: bigint, wait: string, ctx: RequestContext) => Promise<BlockingRead<T>>;

export function parseIndex(header: string | undefined): bigint {
  if (!header || !/^\d+$/.test(header)) return 0n;
  return BigInt(header);
}

/** The index to send next, given the one we sent and the one the answer carried. */
export function nextIndex(sent: bigint, got: bigint): bigint {
  if (got < sent) return 0n; // snapshot restore, a deleted highest KV entry, ...: start over
  return got < 1n ? 1n : got; // an index of 0 would not block: 1 always does
}

/** Exponential backoff with jitter (50-100 % of the capped delay), so that many clients that
 * failed together do not retry together. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return Math.round(cap * (0.5 + Math.random() / 2));
}

export class BlockingLoop<T> {
  readonly #fetch: BlockingFetch<T>;
  readonly #onValue: (value: T) => void;
  readonly #onError: (err: Error, failures: number, delayMs: number) => void;
  readonly #opts: BlockingLoopOptions;
  #stopped = false;
  #ctx: RequestContext | undefined;
  #sleepTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(
    fetch: BlockingFetch<T>,
    onValue: (value: T) => void,
    onError: (err: Error, failures: number, delayMs: number) => void,
    opts: BlockingLoopOptions,
  ) {
    this.#fetch = fetch;
    this.#onValue = onValue;
    this.#onError = onError;
    this.#opts = opts;
    void this.#run();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Synchronous, idempotent: aborts the request in flight and any pending sleep. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#ctx) {
      this.#ctx.canceled = true;
      this.#ctx.emit('cancel');
    }
    clearTimeout(this.#sleepTimer);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const bucket = new TokenBucket(this.#opts.perSec, this.#opts.burst, Date.now());
    const wait = `${this.#opts.waitSec}s`;
    let index = 0n;
    let failures = 0;
    while (!this.#stopped) {
      const ctx = (this.#ctx = Object.assign(new EventEmitter(), { includeResponse: true as const }));
      try {
        const read = await this.#fetch(index, wait, ctx);
        if (this.#stopped) return;
        index = nextIndex(index, parseIndex(read.index));
        // Inside the try: a body that cannot be parsed is retried like a failed request.
        this.#onValue(read.value);
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        failures++;
        const delay = backoffDelay(failures, this.#opts.backoffBaseMs, this.#opts.backoffMaxMs);
        this.#onError(err as Error, failures, delay);
        // After an outage, read the current state at once: blocking on the old index would
        // hang for a whole wait if the index went backwards meanwhile (a restored snapshot).
        index = 0n;
        await this.#sleep(delay);
        continue;
      } finally {
        this.#ctx = undefined;
      }
      while (!this.#stopped && !bucket.take(Date.now())) await this.#sleep(Math.ceil(1000 / this.#opts.perSec));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(resolve, ms);
    });
  }
}
