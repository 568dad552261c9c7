import type { Sighting } from './adaptivePolicy.js';
import { ConsumerViews, type ViewSender, type ViewState } from './ConsumerViews.js';

// Adaptive stream in the page: watches the element each video consumer is drawn in (its size,
// whether it is in the viewport, whether the tab is visible, the device pixel ratio) and hands
// what it sees to ConsumerViews, which decides what the server is told (setConsumerView,
// pauseConsumer, resumeConsumer). One ResizeObserver and one IntersectionObserver for all tiles.

export type { ViewState } from './ConsumerViews.js';

/** Owned by OctomeshClient; consumers are added and removed with its sessions. */
export class AdaptiveStream {
  readonly #views: ConsumerViews;
  readonly #elements = new Map<string, HTMLElement>();
  readonly #consumerOf = new Map<Element, string>();
  /** Last IntersectionObserver verdict per element (null: none yet). */
  readonly #intersecting = new Map<Element, boolean>();
  #resize: ResizeObserver | null = null;
  #intersection: IntersectionObserver | null = null;
  #dprQuery: MediaQueryList | null = null;
  #listening = false;
  readonly #onPageChange = (): void => this.#views.changedAll();
  readonly #onDprChange = (): void => {
    this.#watchDpr(); // a query matches one ratio: follow the new one
    this.#views.changedAll();
  };

  constructor() {
    this.#views = new ConsumerViews((id) => this.#look(id));
  }

  setSender(send: ViewSender | null): void {
    this.#views.setSender(send);
  }

  add(consumerId: string, kind: 'audio' | 'video'): void {
    this.#views.add(consumerId, kind);
  }

  /** Call after the app heard of the consumer: see ConsumerViews.start. */
  start(consumerId: string): void {
    this.#views.start(consumerId);
  }

  attach(consumerId: string, element: HTMLElement): void {
    const state = this.#views.state(consumerId);
    if (!state) throw new TypeError(`attachVideo: no consumer ${consumerId}`);
    if (state.kind !== 'video') throw new TypeError(`attachVideo: consumer ${consumerId} is ${state.kind}`);
    if (this.#elements.get(consumerId) === element) return;
    this.#unobserve(consumerId);
    this.#ensureObservers();
    this.#elements.set(consumerId, element);
    this.#consumerOf.set(element, consumerId);
    this.#views.attached(consumerId);
    this.#resize!.observe(element);
    this.#intersection!.observe(element);
  }

  detach(consumerId: string): void {
    if (!this.#elements.has(consumerId)) return;
    this.#unobserve(consumerId);
    this.#views.detached(consumerId);
  }

  remove(consumerId: string): void {
    this.#unobserve(consumerId);
    this.#views.remove(consumerId);
  }

  state(consumerId: string): ViewState | null {
    return this.#views.state(consumerId);
  }

  /** Forgets every consumer and element (the session is gone); the observers stay for the next one. */
  clear(): void {
    for (const id of [...this.#elements.keys()]) this.#unobserve(id);
    this.#views.clear();
    this.#views.setSender(null);
  }

  /** Idempotent. */
  close(): void {
    this.clear();
    this.#resize?.disconnect();
    this.#intersection?.disconnect();
    this.#resize = this.#intersection = null;
    if (this.#listening) {
      document.removeEventListener('visibilitychange', this.#onPageChange);
      this.#dprQuery?.removeEventListener('change', this.#onDprChange);
      this.#dprQuery = null;
      this.#listening = false;
    }
  }

  #look(consumerId: string): Sighting | null {
    const el = this.#elements.get(consumerId);
    if (!el) return null;
    return {
      intersecting: this.#intersecting.get(el) ?? null,
      pageVisible: document.visibilityState !== 'hidden',
      // clientWidth is 0 for an element that is not rendered (display: none, not in the document).
      cssWidth: el.clientWidth,
      cssHeight: el.clientHeight,
      devicePixelRatio: window.devicePixelRatio,
    };
  }

  #unobserve(consumerId: string): void {
    const el = this.#elements.get(consumerId);
    if (!el) return;
    this.#elements.delete(consumerId);
    this.#consumerOf.delete(el);
    this.#intersecting.delete(el);
    this.#resize?.unobserve(el);
    this.#intersection?.unobserve(el);
  }

  #ensureObservers(): void {
    this.#resize ??= new ResizeObserver((entries) => {
      for (const entry of entries) {
        const id = this.#consumerOf.get(entry.target);
        if (id) this.#views.changed(id);
      }
    });
    // Threshold 0: any pixel of the tile on screen counts as shown (a half-scrolled tile is watched).
    this.#intersection ??= new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = this.#consumerOf.get(entry.target);
        if (!id) continue;
        this.#intersecting.set(entry.target, entry.isIntersecting);
        this.#views.sighted(id);
      }
    });
    if (!this.#listening) {
      this.#listening = true;
      document.addEventListener('visibilitychange', this.#onPageChange);
      this.#watchDpr();
    }
  }

  #watchDpr(): void {
    this.#dprQuery?.removeEventListener('change', this.#onDprChange);
    if (typeof matchMedia !== 'function') return;
    this.#dprQuery = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    this.#dprQuery.addEventListener('change', this.#onDprChange);
  }
}
