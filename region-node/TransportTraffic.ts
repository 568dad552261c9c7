import type { types } from 'mediasoup';

/**
 * Bytes through the browsers' transports on this node, as a total that only grows: live
 * transports are read at each scrape, and a transport that closes keeps what was last read of it
 * (what it carried since that read is lost, at most one scrape interval's worth).
 */
export class TransportTraffic {
  #foldedIn = 0;
  #foldedOut = 0;
  readonly #live = new Map<string, { in: number; out: number }>();

  /** Counts the transports a room's router makes from now on. */
  watch(router: types.Router): void {
    router.observer.on('newtransport', (transport) => {
      transport.observer.once('close', () => {
        const last = this.#live.get(transport.id);
        this.#live.delete(transport.id);
        if (last) {
          this.#foldedIn += last.in;
          this.#foldedOut += last.out;
        }
      });
    });
  }

  /** Reads `transports` (the peers' ones) and returns the totals. */
  async totals(transports: Iterable<types.Transport>): Promise<{ bytesIn: number; bytesOut: number }> {
    const reads: Promise<void>[] = [];
    for (const transport of transports) {
      reads.push(
        (transport.getStats() as Promise<{ bytesReceived: number; bytesSent: number }[]>).then(
          ([s]) => {
            if (s && !transport.closed) this.#live.set(transport.id, { in: s.bytesReceived, out: s.bytesSent });
          },
          () => undefined,
        ),
      );
    }
    await Promise.all(reads);
    let bytesIn = this.#foldedIn;
    let bytesOut = this.#foldedOut;
    for (const v of this.#live.values()) {
      bytesIn += v.in;
      bytesOut += v.out;
    }
    return { bytesIn, bytesOut };
  }
}
