import { debounceDueAt, FIRST_SIGHTING_WAIT_MS, nextStep, wantedView, type ConsumerView, type Sighting, type Step } from './adaptivePolicy.js';

// The server's side of adaptive stream, one entry per consumer: what it has been told (paused,
// view size), what the tile wants now, and the requests that bring the one to the other, one at a
// time per consumer and debounced, so a flood of changes (a scroll, a drag, tabs flipping) sends
// a few requests and ends on the final state. No DOM here (AdaptiveStream reads the page and
// hands over Sightings), so it runs under Node with fake timers in the unit tests.

/** Sends one request for one consumer; OctomeshClient binds it to the current session. */
export type ViewSender = (consumerId: string, step: Step) => Promise<unknown>;

/**
 * free: no element was ever attached; resumed once at start, as before adaptive stream (audio,
 * and apps that draw video their own way). attached: its tile decides. detached: it had an
 * element and lost it, so nobody draws it: paused.
 */
export type ViewMode = 'free' | 'attached' | 'detached';

export interface ViewState {
  consumerId: string;
  kind: 'audio' | 'video';
  mode: ViewMode;
  /** What the server was last told (its answer awaited). */
  told: ConsumerView;
  /** What the tile wants now. */
  wanted: ConsumerView;
  /** A request in flight, or a change waiting out its debounce. */
  pending: boolean;
  /** Requests sent for this consumer so far (the initial resume included). */
  requests: number;
}

interface Entry {
  readonly consumerId: string;
  readonly kind: 'audio' | 'video';
  mode: ViewMode;
  started: boolean;
  /** An IntersectionObserver report came in since the element was attached. */
  sighted: boolean;
  /** The first-sighting wait ran out: an element never reported counts as in the viewport. */
  assumeShown: boolean;
  told: ConsumerView;
  timer: ReturnType<typeof setTimeout> | undefined;
  firstChangeAt: number | null;
  lastChangeAt: number;
  inFlight: boolean;
  requests: number;
}

export class ConsumerViews {
  readonly #entries = new Map<string, Entry>();
  readonly #look: (consumerId: string) => Sighting | null;
  readonly #now: () => number;
  #send: ViewSender | null = null;

  /** `look` reads the attached element's state now (null: no element). */
  constructor(look: (consumerId: string) => Sighting | null, now: () => number = () => Date.now()) {
    this.#look = look;
    this.#now = now;
  }

  /** Requests go through `send` from now on; null (between sessions) holds them. */
  setSender(send: ViewSender | null): void {
    this.#send = send;
  }

  /** A new consumer, paused on the server as every consumer starts; nothing is sent before start(). */
  add(consumerId: string, kind: 'audio' | 'video'): void {
    this.remove(consumerId);
    this.#entries.set(consumerId, {
      consumerId, kind, mode: 'free', started: false, sighted: false, assumeShown: false,
      told: { paused: true, view: null }, timer: undefined, firstChangeAt: null, lastChangeAt: 0, inFlight: false, requests: 0,
    });
  }

  has(consumerId: string): boolean {
    return this.#entries.has(consumerId);
  }

  /**
   * After the app heard of the consumer (and could attach its element): a free consumer is
   * resumed now; an attached one waits for its element's first report (at most
   * FIRST_SIGHTING_WAIT_MS), so a tile off screen never starts and a shown one starts at its size.
   */
  start(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (!e || e.started) return;
    e.started = true;
    if (e.mode === 'attached' && !e.sighted) this.#waitForSighting(e);
    else this.#flush(e);
  }

  attached(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (!e) return;
    e.mode = 'attached';
    e.sighted = false;
    e.assumeShown = false;
    if (e.started) this.#waitForSighting(e);
  }

  detached(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (!e || e.mode !== 'attached') return;
    e.mode = 'detached';
    this.#schedule(e);
  }

  /** The element's viewport report: the first one after attaching acts at once, later ones debounced. */
  sighted(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (!e || e.mode !== 'attached') return;
    if (e.sighted) {
      this.#schedule(e);
      return;
    }
    e.sighted = true;
    if (e.started) this.#flush(e);
  }

  /** Something that may change what a tile wants (size, page visibility, pixel ratio): debounced. */
  changed(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (e && e.mode === 'attached' && e.sighted) this.#schedule(e);
  }

  changedAll(): void {
    for (const id of this.#entries.keys()) this.changed(id);
  }

  remove(consumerId: string): void {
    const e = this.#entries.get(consumerId);
    if (!e) return;
    clearTimeout(e.timer);
    this.#entries.delete(consumerId);
  }

  /** Forgets every consumer (their session is gone). Idempotent. */
  clear(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }

  state(consumerId: string): ViewState | null {
    const e = this.#entries.get(consumerId);
    if (!e) return null;
    return {
      consumerId, kind: e.kind, mode: e.mode, told: copy(e.told), wanted: this.#wanted(e),
      pending: e.inFlight || e.timer !== undefined, requests: e.requests,
    };
  }

  #wanted(e: Entry): ConsumerView {
    if (e.mode === 'free') return { paused: false, view: e.told.view };
    if (e.mode === 'detached') return { paused: true, view: e.told.view };
    const sighting = this.#look(e.consumerId);
    return sighting ? wantedView(sighting, e.assumeShown) : { paused: true, view: e.told.view };
  }

  #waitForSighting(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      e.assumeShown = true;
      e.sighted = true;
      this.#flush(e);
    }, FIRST_SIGHTING_WAIT_MS);
  }

  #schedule(e: Entry): void {
    const now = this.#now();
    e.firstChangeAt ??= now;
    e.lastChangeAt = now;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      this.#flush(e);
    }, Math.max(0, debounceDueAt(e.firstChangeAt, e.lastChangeAt) - now));
  }

  /** Sends the next step, if any; when it is answered, the next one (never two at once). */
  #flush(e: Entry): void {
    if (!e.started || e.inFlight || !this.#send || this.#entries.get(e.consumerId) !== e) return;
    clearTimeout(e.timer);
    e.timer = undefined;
    e.firstChangeAt = null;
    const step = nextStep(e.told, this.#wanted(e));
    if (!step) return;
    e.inFlight = true;
    e.requests++;
    this.#send(e.consumerId, step)
      .catch((err: unknown) => {
        // Taken as done all the same: a refusal (a server without adaptive stream, a consumer
        // closing meanwhile) must not turn into a retry loop. The next change tries again.
        if (this.#entries.get(e.consumerId) === e) console.warn(`octomesh: ${step.method} failed`, err);
      })
      .finally(() => {
        e.inFlight = false;
        if (step.method === 'setConsumerView') e.told.view = step.view;
        else e.told.paused = step.method === 'pauseConsumer';
        // Changes still arriving wait for their timer; otherwise go on to the final state now.
        if (e.timer === undefined) this.#flush(e);
      });
  }
}

function copy(v: ConsumerView): ConsumerView {
  return { paused: v.paused, view: v.view ? { ...v.view } : null };
}
