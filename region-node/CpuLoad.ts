import type { Logger } from '../core/logger.js';

// The CPU figure a node publishes as load.cpu, which the geo-router's least-loaded step sorts by.
//
// What it measures: the busiest of (a) the node's mediasoup workers, as the mean of each
// worker's share of one core, and (b) the node's own process, as its share of one core. Both
// are single-threaded where it matters: a worker forwards all of its routers' media on one
// thread, and the node's JS thread runs signaling for every room. So a node is as full as the
// fraction of its workers' capacity in use, unless its signaling thread is the one running out.
// Not "summed over the host's cores": a node on a large shared host would then look idle while
// its own workers are saturated, and two nodes on one host would share a number neither owns.

/** Cumulative CPU time at one moment: the node process's, and each live worker's by pid. */
export interface CpuSample {
  /** Monotonic clock, ms. */
  atMs: number;
  /** user + system of the node's process (process.cpuUsage), ms. */
  processMs: number;
  /** user + system of each worker (getrusage via getResourceUsage), ms, by worker pid. */
  workers: ReadonlyMap<number, number>;
}

/**
 * 0..1 between two samples, to two decimals. A worker is counted only when both samples have
 * it (a replaced worker's counters start from zero under a new pid); a share above one core
 * (threads besides the main one, clock granularity) counts as one.
 */
export function cpuLoad(prev: CpuSample, next: CpuSample): number {
  const elapsed = next.atMs - prev.atMs;
  if (!(elapsed > 0)) return 0;
  const share = (usedMs: number): number => Math.min(1, Math.max(0, usedMs / elapsed));
  const workers: number[] = [];
  for (const [pid, ms] of next.workers) {
    const before = prev.workers.get(pid);
    if (before !== undefined) workers.push(share(ms - before));
  }
  const workerMean = workers.length > 0 ? workers.reduce((a, b) => a + b, 0) / workers.length : 0;
  return Math.round(Math.max(workerMean, share(next.processMs - prev.processMs)) * 100) / 100;
}

/** How often a node reports its load to the registry, and so the period its CPU figure covers. */
export const LOAD_REPORT_MS = 2000;

export interface WorkerCpu {
  pid: number;
  userSec: number;
  systemSec: number;
}

/** Samples the node and its workers; each read() gives the load since the previous one. */
export class CpuMeter {
  readonly #readWorkers: () => Promise<WorkerCpu[]>;
  readonly #now: () => number;
  #last: CpuSample | undefined;
  #load = 0;

  constructor(readWorkers: () => Promise<WorkerCpu[]>, now: () => number = () => performance.now()) {
    this.#readWorkers = readWorkers;
    this.#now = now;
  }

  /** The load of the last completed period (0 before the second read). */
  get load(): number {
    return this.#load;
  }

  async read(): Promise<number> {
    const workers = await this.#readWorkers();
    const own = process.cpuUsage();
    const sample: CpuSample = {
      atMs: this.#now(),
      processMs: (own.user + own.system) / 1000,
      workers: new Map(workers.map((w) => [w.pid, (w.userSec + w.systemSec) * 1000])),
    };
    if (this.#last) this.#load = cpuLoad(this.#last, sample);
    this.#last = sample;
    return this.#load;
  }

  /**
   * Every `ms`: a read, then `report` (the registry update). A round still running when the next
   * is due skips it rather than overlapping. The timer does not hold the process open.
   */
  every(ms: number, report: () => Promise<void>, log: Logger): NodeJS.Timeout {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.read()
        .catch((err: Error) => log.warn({ err }, 'cannot read CPU use'))
        .then(report)
        .catch(() => undefined)
        .finally(() => (running = false));
    }, ms);
    return timer.unref();
  }
}
