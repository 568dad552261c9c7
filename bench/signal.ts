import WebSocket from 'ws';

/** A minimal signaling client (JSON over the node's WebSocket) for bench bots. */
export class BenchSignal {
  readonly ws: WebSocket;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (d: any) => void; reject: (e: Error) => void }>();
  readonly #listeners: ((name: string, data: any) => void)[] = [];
  #dropAfter = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if ('notification' in msg) {
        for (const l of this.#listeners) l(msg.notification, msg.data);
        return;
      }
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.data);
      else p.reject(new Error(`${msg.error?.code}: ${msg.error?.message}`));
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error('socket closed'));
      this.#pending.clear();
    });
  }

  static connect(url: string): Promise<BenchSignal> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new BenchSignal(ws)));
      ws.once('error', reject);
    });
  }

  request(method: string, data: unknown = {}, timeoutMs = 10_000): Promise<any> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (d) => (clearTimeout(timer), resolve(d)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, method, data }));
      if (this.#dropAfter > 0 && --this.#dropAfter === 0) this.drop();
    });
  }

  /** Vanishes right after sending the n-th request from now: a client gone with a request in flight. */
  dropAfterRequests(n: number): void {
    this.#dropAfter = Math.max(0, Math.floor(n));
  }

  /** Gone without a close frame, as when a network or a browser dies: the server sees the TCP connection end. */
  drop(): void {
    this.ws.terminate();
  }

  onNotification(fn: (name: string, data: any) => void): void {
    this.#listeners.push(fn);
  }

  close(): void {
    this.ws.close();
  }
}
