import type { types } from 'mediasoup-client';
import { JITTER_POLICY, nextJitterTarget, type JitterPolicy, type ReceiverCounters, type RepairWatch } from './jitterPolicy.js';

// Applies jitterPolicy to relayed receivers (video and audio): polls each one's inbound-rtp
// counters once a second and sets RTCRtpReceiver.jitterBufferTarget (Chromium >= 114) while the
// relay is repairing losses. Where the browser lacks jitterBufferTarget (Firefox) it does nothing.
// Audio too: the pipe repairs lost audio as well (NACK), and without a target the browser
// conceals what arrives one relay RTT late (measured: ~1.2 % of samples at 1 % loss).

export const POLL_MS = 1_000;

interface Watched {
  consumer: types.Consumer;
  relayRttMs: number;
  policy: JitterPolicy;
  watch: RepairWatch | null;
  applied: number | null;
  polling: boolean;
}

type ReceiverWithTarget = RTCRtpReceiver & { jitterBufferTarget: number | null };

export function supportsJitterBufferTarget(): boolean {
  return typeof RTCRtpReceiver !== 'undefined' && 'jitterBufferTarget' in RTCRtpReceiver.prototype;
}

/** Owned by OctomeshClient: one per client, cleared when a session is torn down. */
export class RelayJitter {
  readonly #watched = new Map<string, Watched>();
  readonly #onTarget: (consumerId: string, targetMs: number | null) => void;
  readonly #supported = supportsJitterBufferTarget();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `onTarget` hears each change of a consumer's applied target (for the UI and the lab). */
  constructor(onTarget: (consumerId: string, targetMs: number | null) => void) {
    this.#onTarget = onTarget;
  }

  /** A relayed consumer (relayRttMs from newConsumer; 0 while the node has not measured it). */
  add(consumer: types.Consumer, relayRttMs: number, policy: JitterPolicy = JITTER_POLICY): void {
    if (!this.#supported || !consumer.rtpReceiver) return;
    this.#watched.set(consumer.id, { consumer, relayRttMs, policy, watch: null, applied: null, polling: false });
    this.#timer ??= setInterval(() => this.#pollAll(), POLL_MS);
  }

  setRelayRtt(consumerId: string, relayRttMs: number): void {
    const w = this.#watched.get(consumerId);
    if (w) w.relayRttMs = relayRttMs;
  }

  remove(consumerId: string): void {
    this.#watched.delete(consumerId);
    if (this.#watched.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Forgets every receiver (left as they are: their transport is closing). Idempotent. */
  clear(): void {
    this.#watched.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #pollAll(): void {
    for (const [id, w] of this.#watched) {
      if (w.polling) continue; // a slow getStats must not pile up
      w.polling = true;
      this.#poll(id, w).finally(() => (w.polling = false));
    }
  }

  async #poll(id: string, w: Watched): Promise<void> {
    let counters: ReceiverCounters | undefined;
    try {
      (await w.consumer.getStats()).forEach((s: { type: string } & Partial<ReceiverCounters>) => {
        if (s.type === 'inbound-rtp') counters = { nackCount: s.nackCount ?? 0, packetsLost: s.packetsLost ?? 0, packetsDiscarded: s.packetsDiscarded ?? 0 };
      });
    } catch {
      return; // the consumer is closing
    }
    if (!counters || this.#watched.get(id) !== w || w.consumer.closed) return;
    const { watch, targetMs } = nextJitterTarget(w.watch, counters, w.relayRttMs, performance.now(), w.policy);
    w.watch = watch;
    if (targetMs === w.applied) return;
    try {
      (w.consumer.rtpReceiver as ReceiverWithTarget).jitterBufferTarget = targetMs;
    } catch {
      return; // out of the browser's range: leave the browser's own choice
    }
    w.applied = targetMs;
    this.#onTarget(id, targetMs);
  }
}
