// Demand on a relay link changes as fast as browsers scroll and resize tiles; what crosses the
// link (and what the origin does about it: pause/resume requests to its worker) must not.
// A Coalescer keeps the latest value per key and flushes it at most once per interval per
// key: the first change goes at once (a resume is not delayed), later changes within the
// interval are folded into one trailing flush carrying the latest value, so the last value is
// never lost and a flood costs at most one flush per interval.

export interface CoalescerOptions<K, V> {
  intervalMs: number;
  flush(key: K, value: V): void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

interface Entry<V> {
  value: V;
  /** What the last flush carried (undefined: nothing flushed yet). */
  flushed: V | undefined;
  hasFlushed: boolean;
  lastAt: number;
  timer: unknown;
}

export class Coalescer<K, V> {
  readonly #o: Required<CoalescerOptions<K, V>>;
  readonly #entries = new Map<K, Entry<V>>();
  #closed = false;

  constructor(o: CoalescerOptions<K, V>) {
    this.#o = {
      now: () => performance.now(),
      setTimer: (fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      },
      clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
      ...o,
    };
  }

  /** The latest value set for `key` (flushed or not). */
  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: K, value: V): void {
    if (this.#closed) return;
    let e = this.#entries.get(key);
    if (!e) {
      e = { value, flushed: undefined, hasFlushed: false, lastAt: -Infinity, timer: undefined };
      this.#entries.set(key, e);
    }
    e.value = value;
    if (e.timer !== undefined) return; // the trailing flush will carry it
    if (e.hasFlushed && e.flushed === value) return;
    const wait = e.lastAt + this.#o.intervalMs - this.#o.now();
    if (wait <= 0) this.#flush(key, e);
    else e.timer = this.#o.setTimer(() => this.#flush(key, e), wait);
  }

  /** Flushes the latest value now, even if unchanged (the other end forgot it). */
  resend(key: K): void {
    const e = this.#entries.get(key);
    if (!e || this.#closed) return;
    this.#flush(key, e, true);
  }

  delete(key: K): void {
    const e = this.#entries.get(key);
    if (e?.timer !== undefined) this.#o.clearTimer(e.timer);
    this.#entries.delete(key);
  }

  /** Synchronous, idempotent: pending flushes are dropped. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#entries.keys()]) this.delete(key);
  }

  #flush(key: K, e: Entry<V>, force = false): void {
    if (e.timer !== undefined) this.#o.clearTimer(e.timer);
    e.timer = undefined;
    if (this.#closed || this.#entries.get(key) !== e) return;
    // A value that came back to what was flushed within the interval needs no message.
    if (!force && e.hasFlushed && e.flushed === e.value) return;
    e.flushed = e.value;
    e.hasFlushed = true;
    e.lastAt = this.#o.now();
    this.#o.flush(key, e.value);
  }
}
