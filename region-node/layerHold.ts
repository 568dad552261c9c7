// mediasoup's bandwidth estimation steps a simulcast consumer back up seconds after stepping it
// down. Measured in the lab (a browser's downlink limited to 600 kbit/s, two videos): in 20 s the
// server's choice for one video went 1/1 -> 2/0 -> 2/2 -> 2/1 -> 1/0 -> 0/1 -> 0/2 -> 1/1 -> 1/0 ->
// 2/2, and 375-421 kbit/s arrived with 7-11 % loss and 7-42 s of frozen video a minute. Each step up asks the publisher
// for a key frame, several times the stream's bitrate for a moment, which a link already at its
// limit drops: loss, repairs, a freeze, and the next step down. mediasoup's authors say its
// estimator is the weak part (versatica/mediasoup#1462). So after a step down that the estimate
// made (below the layer asked for, while the layer above still arrives from the publisher) the
// consumer is held at the layer it fell to, for a time that doubles when it falls again soon after
// the cap was raised; then the cap rises one layer at a time, each once the consumer has reached
// the last: how LiveKit's and Jitsi's allocators back off and step their upgrades.

/** How long a hold lasts, by how many holds in a row ended in another fall. */
export const HOLD_MS = [4_000, 8_000, 16_000, 32_000] as const;
/** A fall within this long after the cap was last raised is the same trouble: the next hold is longer. */
export const STRIKE_WINDOW_MS = 20_000;
/**
 * After a hold the cap rises one layer at a time, this long apart, and only once the consumer
 * has reached the cap: lifted at once, mediasoup went from layer 0 straight to layer 2 (a key
 * frame of the largest picture) and fell again within 2 s.
 */
export const STEP_MS = 3_000;

export interface LayerHold {
  /** 'held': after a fall; 'rising': the cap goes up a layer at a time; null: no cap. */
  readonly phase: 'held' | 'rising' | null;
  /** The highest spatial layer allowed; null: no cap. */
  readonly cap: number | null;
  /** When holdTick is next due (ms, the caller's clock). */
  readonly until: number;
  /** Index into HOLD_MS of the current or last hold; -1 before the first. */
  readonly strikes: number;
  /** When the cap was last raised. */
  readonly raisedAt: number;
}

export const NO_HOLD: LayerHold = { phase: null, cap: null, until: 0, strikes: -1, raisedAt: -Infinity };

export interface StepDown {
  now: number;
  /** The spatial layer mediasoup sent before, and the one it sends now. */
  from: number;
  to: number;
  /** The spatial layer this node asked for (preferred layers). */
  preferred: number;
  /** The layer above `to` still arrives from the publisher (its score is above 0). */
  upperAlive: boolean;
}

/** The hold after a change of layer, or null when the change is not the estimate's doing. */
export function holdAfter(h: LayerHold, e: StepDown): LayerHold | null {
  if (e.to >= e.from || e.to >= e.preferred || !e.upperAlive) return null;
  if (h.phase === 'held') return { ...h, cap: Math.min(h.cap!, e.to), until: Math.max(h.until, e.now + HOLD_MS[h.strikes]!) };
  const strikes = e.now - h.raisedAt <= STRIKE_WINDOW_MS ? Math.min(h.strikes + 1, HOLD_MS.length - 1) : 0;
  return { phase: 'held', cap: e.to, until: e.now + HOLD_MS[strikes]!, strikes, raisedAt: h.raisedAt };
}

/**
 * `until` has come: raise the cap a layer (none left above `layers`: no cap), or wait another
 * step while the consumer is still below the cap (`current`: its spatial layer, undefined when
 * it sends none).
 */
export function holdTick(h: LayerHold, now: number, layers: number, current: number | undefined): LayerHold {
  if (h.cap === null) return h;
  if (current !== undefined && current < h.cap) return { ...h, until: now + STEP_MS };
  const cap = h.cap + 1;
  if (cap >= layers - 1) return { phase: null, cap: null, until: 0, strikes: h.strikes, raisedAt: now };
  return { phase: 'rising', cap, until: now + STEP_MS, strikes: h.strikes, raisedAt: now };
}
