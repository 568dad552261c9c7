import { createWorker, workerBin as defaultWorkerBin, type types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { Logger } from '../core/logger.js';
import { MediaObjectTracker, type MediaObjectCounts, type WorkerDumpCounts } from './MediaObjects.js';
import { residentBytes } from './processMemory.js';
import { workerCryptoBackend, type SrtpCrypto } from './workerCrypto.js';

export interface WorkerPoolOptions {
  size: number;
  /** Worker slot i listens for WebRTC on rtcPort + i (UDP and TCP). 0 = ephemeral ports. */
  rtcPort: number;
  listenIp: string;
  announcedAddress: string;
  logLevel: types.WorkerLogLevel;
  /** Empty: mediasoup's own (MEDIASOUP_WORKER_BIN, else the one our postinstall built). */
  workerBin: string;
}

export interface WorkerSlot {
  readonly index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** Routers currently on this worker; the pool balances new rooms by this count. */
  routers: number;
  readonly objects: MediaObjectTracker;
}

/** One worker's objects and memory, for leak checks (bench soak) and diagnostics. */
export interface WorkerObjects {
  index: number;
  pid: number;
  /** Resident memory now (/proc VmRSS); null off Linux. */
  rssBytes: number | null;
  /** getrusage high-water mark. */
  maxRssBytes: number | null;
  live: MediaObjectCounts;
  worker: WorkerDumpCounts | null;
  created: MediaObjectCounts;
}

export type WorkerPoolEvents = {
  /** A worker died and was replaced; its routers are gone (each router emits workerclose). */
  workerReplaced: [index: number, error: Error];
  workerReplaceFailed: [index: number, error: Error];
};

/**
 * One mediasoup worker per slot, each with a WebRtcServer on a fixed port (like Jitsi's
 * 10000/udp) so that a firewall needs one UDP and one TCP port per worker and not a range.
 * A worker that dies is replaced on the same port; rooms on it are told by their routers.
 */
export class WorkerPool extends EnhancedEventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  /** The binary every slot runs, and its SRTP crypto (read from the binary: see workerCrypto.ts). */
  readonly workerBin: string;
  readonly srtpCrypto: SrtpCrypto;
  readonly #slots: WorkerSlot[] = [];
  #closed = false;
  /** Set when the node begins to stop: from then on a worker that exits is not replaced. */
  #stopping = false;

  private constructor(options: WorkerPoolOptions, log: Logger) {
    super(log);
    this.#options = options;
    this.#log = log;
    this.workerBin = options.workerBin || defaultWorkerBin;
    this.srtpCrypto = workerCryptoBackend(this.workerBin);
  }

  /** `stopping`: aborted when the node begins to stop, from any time on (see stopping()). */
  static async create(options: WorkerPoolOptions, log: Logger, stopping?: AbortSignal): Promise<WorkerPool> {
    const pool = new WorkerPool(options, log);
    // Debian's libsrtp2 (NSS) is the postinstall's fallback: it works, at a higher cost per SRTP
    // packet than the capacity figures assume, so an operator should see which one runs.
    const crypto = { workerBin: pool.workerBin, srtpCrypto: pool.srtpCrypto };
    if (pool.srtpCrypto === 'openssl') log.info(crypto, 'mediasoup worker SRTP crypto: openssl');
    else log.warn(crypto, `mediasoup worker SRTP crypto: ${pool.srtpCrypto} (not libsrtp over OpenSSL: SRTP costs more per packet; see docs/mediasoup-worker.md)`);
    if (stopping?.aborted) pool.stopping();
    else stopping?.addEventListener('abort', () => pool.stopping(), { once: true });
    try {
      for (let i = 0; i < options.size; i++) pool.#slots.push(await pool.#startSlot(i));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get slots(): readonly WorkerSlot[] {
    return this.#slots;
  }

  /** The least-loaded live worker for a new room. */
  pick(): WorkerSlot {
    let best: WorkerSlot | undefined;
    for (const slot of this.#slots) {
      if (slot.worker.closed) continue;
      if (!best || slot.routers < best.routers) best = slot;
    }
    if (!best) throw new Error('no live mediasoup worker');
    return best;
  }

  async #startSlot(index: number): Promise<WorkerSlot> {
    const o = this.#options;
    const worker = await createWorker({
      logLevel: o.logLevel,
      ...(o.workerBin ? { workerBin: o.workerBin } : {}),
    });
    // Before anything is made on it, so that the tracker sees every object.
    const objects = new MediaObjectTracker(worker);
    // mediasoup 3.27 closes its workers on the process's SIGTERM/SIGINT by itself, which would
    // kill every call the moment a drain begins. The node owns shutdown: it drains on SIGTERM
    // and closes the pool when done.
    const onSignal = (worker as unknown as { onSignal?: (...a: unknown[]) => void }).onSignal;
    if (onSignal) {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
    }
    let webRtcServer: types.WebRtcServer;
    try {
      const port = o.rtcPort ? o.rtcPort + index : undefined;
      const announcedAddress = o.announcedAddress || undefined;
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ip: o.listenIp, ...(announcedAddress ? { announcedAddress } : {}), ...(port ? { port } : {}) },
          { protocol: 'tcp', ip: o.listenIp, ...(announcedAddress ? { announcedAddress } : {}), ...(port ? { port } : {}) },
        ],
      });
    } catch (err) {
      worker.close();
      throw err;
    }
    const slot: WorkerSlot = { index, worker, webRtcServer, routers: 0, objects };
    worker.on('died', (error) => this.#onDied(slot, error));
    this.#log.info({ worker: index, workerPid: worker.pid }, 'mediasoup worker started');
    return slot;
  }

  /**
   * The node is stopping (drain begun, or closing). A terminal's Ctrl-C reaches the workers as
   * well as the node (one process group) and they close themselves, often before the node
   * closes the pool: such an exit is part of the stop, not a death to log and repair. A worker
   * started now would only be closed again a moment later.
   */
  stopping(): void {
    this.#stopping = true;
  }

  #onDied(slot: WorkerSlot, error: Error): void {
    if (this.#closed) return;
    // Exit code 0: the worker closed itself on SIGINT/SIGTERM (a crash exits otherwise). When the
    // node got the same signal (Ctrl-C to the group), its handler can run just after this event,
    // even though the signal came first (it and the worker's SIGCHLD may reach different threads).
    // A signal already pending is handled within one loop turn: decide then.
    const selfClosed = /\bcode:0\b/.test(error.message);
    if (selfClosed && !this.#stopping) setImmediate(() => this.#afterExit(slot, error, selfClosed));
    else this.#afterExit(slot, error, selfClosed);
  }

  #afterExit(slot: WorkerSlot, error: Error, selfClosed: boolean): void {
    if (this.#closed) return;
    if (this.#stopping) {
      const level = selfClosed ? 'info' : 'warn';
      this.#log[level]({ worker: slot.index, workerPid: slot.worker.pid, exit: error.message }, 'mediasoup worker exited while the node stops; not replaced');
      slot.routers = 0;
      return;
    }
    this.#log.error({ worker: slot.index, workerPid: slot.worker.pid, err: error }, 'mediasoup worker died, replacing it');
    slot.routers = 0;
    this.#startSlot(slot.index).then(
      (fresh) => {
        if (this.#closed || this.#stopping) {
          fresh.worker.close();
          return;
        }
        this.#slots[slot.index] = fresh;
        this.safeEmit('workerReplaced', slot.index, error);
      },
      (err: Error) => {
        this.#log.error({ worker: slot.index, err }, 'could not replace mediasoup worker');
        this.safeEmit('workerReplaceFailed', slot.index, err);
      },
    );
  }

  async resourceUsage(): Promise<{ index: number; pid: number; userSec: number; systemSec: number }[]> {
    const out = [];
    for (const slot of this.#slots) {
      if (slot.worker.closed) continue;
      try {
        const ru = await slot.worker.getResourceUsage();
        out.push({ index: slot.index, pid: slot.worker.pid, userSec: ru.ru_utime / 1000, systemSec: ru.ru_stime / 1000 });
      } catch {
        // The worker died between the check and the call; the replacement reports next time.
      }
    }
    return out;
  }

  async objectCounts(): Promise<WorkerObjects[]> {
    return Promise.all(
      this.#slots.map(async (slot) => {
        const w = slot.worker;
        const [dump, ru] = await Promise.all([slot.objects.dump().catch(() => null), w.getResourceUsage().catch(() => null)]);
        return { index: slot.index, pid: w.pid, rssBytes: residentBytes(w.pid), maxRssBytes: ru ? ru.ru_maxrss * 1024 : null, live: slot.objects.live(), worker: dump, created: slot.objects.created() };
      }),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopping = true;
    for (const slot of this.#slots) slot.worker.close();
  }
}
