/** A layer nobody needs is switched off only after this long unneeded: a tile resized or scrolled
 *  back within it does not make the publisher's encoder stop and restart a layer. */
export const DYNACAST_HOLD_MS = 1_000;

interface Entry {
  /** What the publisher was last told (it starts sending every layer). */
  told: number;
  timer?: NodeJS.Timeout;
}

/**
 * Dynacast (LiveKit's name): tells each publisher the highest spatial layer of its video anyone
 * watches, on this node or across the relay, so it can switch the others off at the encoder. A
 * layer that becomes needed is asked for at once (it takes the encoder a key frame to come back);
 * one no longer needed is dropped after DYNACAST_HOLD_MS. The publisher may ignore the hint: what
 * crosses and what is forwarded follow demand anyway.
 */
export class Dynacast {
  readonly #entries = new Map<string, Entry>();
  readonly #tell: (producerId: string, maxSpatialLayer: number) => void;

  constructor(tell: (producerId: string, maxSpatialLayer: number) => void) {
    this.#tell = tell;
  }

  /** A new video producer with `layers` spatial layers: its publisher sends them all. */
  add(producerId: string, layers: number): void {
    this.#entries.set(producerId, { told: layers - 1 });
  }

  remove(producerId: string): void {
    const e = this.#entries.get(producerId);
    if (e?.timer) clearTimeout(e.timer);
    this.#entries.delete(producerId);
  }

  /** The highest layer needed now (-1: none). */
  update(producerId: string, needed: number): void {
    const e = this.#entries.get(producerId);
    if (!e) return;
    if (needed >= e.told) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = undefined;
      if (needed > e.told) this.#send(producerId, e, needed);
      return;
    }
    if (e.timer) clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.#entries.get(producerId) === e) this.#send(producerId, e, needed);
    }, DYNACAST_HOLD_MS);
    e.timer.unref();
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    for (const e of this.#entries.values()) if (e.timer) clearTimeout(e.timer);
    this.#entries.clear();
  }

  #send(producerId: string, e: Entry, layer: number): void {
    e.told = layer;
    this.#tell(producerId, layer);
  }
}
