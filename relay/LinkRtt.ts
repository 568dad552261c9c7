// The round-trip time of a Link's path, measured over its own gRPC stream: each end sends a
// ping every PING_EVERY_MS carrying its own monotonic clock, the other end echoes it at once
// (pong). Region nodes use it to tell browsers how long a packet lost between nodes takes to
// come back (the far node's pipe producer NACKs, the origin resends across the same path), so
// that their jitter buffers can wait for the repair (client/sdk/jitterPolicy.ts).

export const PING_EVERY_MS = 2_000;
/** Samples the filter keeps: with PING_EVERY_MS, the last 10 s. */
export const RTT_WINDOW = 5;

/**
 * The path RTT from recent samples: their minimum. The stream is TCP, so on a lossy path a ping
 * that waited for a TCP retransmission comes back an RTO late (200 ms and more); the minimum of
 * the window is the path's propagation RTT, which is what a media retransmission (UDP) costs.
 * A path that really got slower shows up once the window has rolled (10 s).
 */
export function filteredRttMs(samples: readonly number[]): number {
  const ok = samples.filter((s) => Number.isFinite(s) && s >= 0);
  return ok.length ? Math.min(...ok) : 0;
}

export interface LinkRttHooks {
  sendPing(sentMs: number): void;
  sendPong(sentMs: number): void;
  /** The filtered RTT changed (first sample included). */
  changed(rttMs: number): void;
  now?: () => number;
}

/** Owned by one Link: started when the link is up, closed with it. */
export class LinkRtt {
  readonly #h: LinkRttHooks;
  readonly #now: () => number;
  readonly #samples: number[] = [];
  #rttMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(hooks: LinkRttHooks) {
    this.#h = hooks;
    this.#now = hooks.now ?? (() => performance.now());
  }

  /** Milliseconds; 0 until the first pong. */
  get rttMs(): number {
    return this.#rttMs;
  }

  start(): void {
    if (this.#closed || this.#timer) return;
    const ping = (): void => this.#h.sendPing(this.#now());
    ping();
    this.#timer = setInterval(ping, PING_EVERY_MS);
    this.#timer.unref();
  }

  onPing(sentMs: number): void {
    if (!this.#closed) this.#h.sendPong(sentMs);
  }

  onPong(sentMs: number): void {
    if (this.#closed) return;
    const sample = this.#now() - sentMs;
    // Not one of ours (a clock from another process, a replayed message): ignore it.
    if (!Number.isFinite(sample) || sample < 0 || sample > 60_000) return;
    this.#samples.push(sample);
    if (this.#samples.length > RTT_WINDOW) this.#samples.shift();
    const rtt = Math.round(filteredRttMs(this.#samples) * 10) / 10;
    if (rtt === this.#rttMs) return;
    this.#rttMs = rtt;
    this.#h.changed(rtt);
  }

  /** Synchronous, idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
