// A tiny typed event emitter for the browser (node's 'events' must not land in the bundle).
// Event maps are type aliases of name -> argument tuple. A listener that throws is logged and
// the others still run: one broken UI handler must not stop the SDK's own bookkeeping.

export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

export class Emitter<E extends EventMap> {
  // Stored untyped: the map cannot relate each key to its own listener type.
  readonly #listeners = new Map<keyof E, Set<unknown>>();

  /** Returns a function that removes the listener. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(...args);
      } catch (err) {
        console.error(`octomesh: listener for "${String(event)}" threw`, err);
      }
    }
  }
}
