import type { types } from 'mediasoup-client';
import { activeEncodings } from './dynacastPolicy.js';

// Dynacast at the sender: the node tells a publisher (producerDemand) the highest spatial layer
// anyone on any node watches of each producer; encodings above it are switched off with
// RTCRtpSender.setParameters (encodings[i].active = false), and back on when asked. -1: nobody
// watches any layer, every encoding is off.
//
// setParameters on the producer's rtpSender, not mediasoup-client's producer.setMaxSpatialLayer:
// both set `active` the same way, and both switched Chromium 156's encodings off and on in the
// e2e test (outbound-rtp `active: false`, bytes stop; -1 too; back on in ~0.3 s either way), but
// the latter also renegotiates (createOffer and two descriptions, queued behind every other
// operation of the transport) and swallows errors.

export interface DynacastState {
  producerId: string;
  /** The last demand heard for this producer (null: none yet, every encoding as produced). */
  demand: number | null;
  /** encodings[i].active as the sender has them now (null: no sender). */
  active: boolean[] | null;
}

const RETRY_MS = 500;

interface Entry {
  readonly producer: types.Producer;
  applying: boolean;
  /** The demand the sender's encodings were last set for. */
  applied: number | null;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/** Owned by OctomeshClient, cleared with each session (a new session's producers start with every encoding on). */
export class Dynacast {
  /** Heard per producer id; kept for a producer not registered yet (the demand can beat produce()'s return). */
  readonly #demand = new Map<string, number>();
  readonly #entries = new Map<string, Entry>();

  setDemand(producerId: string, maxSpatialLayer: number): void {
    if (!Number.isInteger(maxSpatialLayer) || maxSpatialLayer < -1) return;
    this.#demand.set(producerId, maxSpatialLayer);
    const e = this.#entries.get(producerId);
    if (e) void this.#apply(e);
  }

  add(producer: types.Producer): void {
    const e: Entry = { producer, applying: false, applied: null, retry: undefined };
    this.#entries.set(producer.id, e);
    if (this.#demand.has(producer.id)) void this.#apply(e);
  }

  remove(producerId: string): void {
    const e = this.#entries.get(producerId);
    if (e) clearTimeout(e.retry);
    this.#entries.delete(producerId);
    this.#demand.delete(producerId);
  }

  /** Idempotent. */
  clear(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id);
    this.#demand.clear();
  }

  state(producerId: string): DynacastState | null {
    const e = this.#entries.get(producerId);
    if (!e) return null;
    const sender = e.producer.closed ? null : e.producer.rtpSender;
    const encodings = sender?.getParameters().encodings;
    return { producerId, demand: this.#demand.get(producerId) ?? null, active: encodings ? encodings.map((enc) => enc.active !== false) : null };
  }

  /** One setParameters at a time per sender; ends on the latest demand. */
  async #apply(e: Entry): Promise<void> {
    if (e.applying) return;
    e.applying = true;
    try {
      for (;;) {
        const want = this.#demand.get(e.producer.id);
        const sender = e.producer.closed ? null : e.producer.rtpSender;
        if (want === undefined || want === e.applied || !sender || this.#entries.get(e.producer.id) !== e) return;
        // getParameters right before setParameters: its transactionId must be the latest.
        const params = sender.getParameters();
        const active = activeEncodings(params.encodings.length, want);
        if (params.encodings.some((enc, i) => (enc.active !== false) !== active[i])) {
          params.encodings.forEach((enc, i) => { enc.active = active[i]!; });
          await sender.setParameters(params);
        }
        e.applied = want;
      }
    } catch (err) {
      // A renegotiation in flight can refuse it (a stale transaction); try again shortly.
      console.warn('octomesh: dynacast setParameters failed', err);
      clearTimeout(e.retry);
      e.retry = setTimeout(() => void this.#apply(e), RETRY_MS);
    } finally {
      e.applying = false;
    }
  }
}
