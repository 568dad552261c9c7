import WebSocket from 'ws';
import type { Method, NotificationName } from './protocol.js';

// The one signaling client that runs in Node (the browser has client/sdk/Signaling.ts): the
// bench's bots and the tests use it over a real WebSocket to a real region node. Requests name
// a protocol method (core/protocol.ts) and get the response's data, or an Error carrying the
// wire error's code; `call` sends anything at all and returns the whole response, for tests of
// bad input.

export interface Response {
  id: number | string | null;
  ok: boolean;
  data?: any;
  error?: { code: string; message: string };
}

export interface Notification {
  notification: NotificationName;
  data: any;
}

/** Long enough for a join on a loaded machine (a bench's join storm). */
const REQUEST_TIMEOUT_MS = 10_000;

export interface SignalClientOptions extends WebSocket.ClientOptions {
  /** Keep every notification in `notifications` (tests); bots with many notifications use onNotification. Default true. */
  record?: boolean;
}

/** A Node-side signaling client for tests and bots: a real WebSocket to a real region node. */
export class SignalClient {
  readonly ws: WebSocket;
  /** Every notification and response so far (unless connected with `record: false`). */
  readonly notifications: Notification[] = [];
  readonly responses: Response[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #record: boolean;
  #nextId = 1;
  readonly #pending = new Map<number | string, { resolve: (r: Response) => void; reject: (e: Error) => void }>();
  readonly #waiters: { match: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];
  readonly #listeners: ((name: NotificationName, data: any) => void)[] = [];
  #dropAfter = 0;

  private constructor(ws: WebSocket, record: boolean) {
    this.ws = ws;
    this.#record = record;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (raw, isBinary) => {
      if (isBinary) throw new Error('server sent a binary frame');
      const msg = JSON.parse(raw.toString());
      if ('notification' in msg) this.#onNotification(msg);
      else this.#onResponse(msg);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error('socket closed'));
      this.#pending.clear();
    });
  }

  /** `options`: e.g. `{ ca }` for a wss:// node with a test certificate, `record: false` for a bot. */
  static connect(url: string, options: SignalClientOptions = {}): Promise<SignalClient> {
    const { record = true, ...wsOptions } = options;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, wsOptions);
      ws.once('open', () => resolve(new SignalClient(ws, record)));
      ws.once('error', reject);
    });
  }

  /** Sends anything and resolves with the whole response, ok or not (tests of bad input). */
  call(method: string, data: unknown = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
    const id = this.#nextId++;
    const answer = this.#wait(id, timeoutMs, method);
    this.ws.send(JSON.stringify({ id, method, data }));
    if (this.#dropAfter > 0 && --this.#dropAfter === 0) this.drop();
    return answer;
  }

  /** A protocol request: resolves with the response's data; rejects with an Error whose `code` is the wire error's. */
  async request(method: Method, data: object = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<any> {
    const r = await this.call(method, data, timeoutMs);
    if (!r.ok) throw Object.assign(new Error(`${method}: ${r.error?.code}: ${r.error?.message}`), { code: r.error?.code });
    return r.data;
  }

  sendRaw(payload: string | Buffer, binary = false): void {
    this.ws.send(payload, { binary });
  }

  /** The next response with id null (errors for frames that had no usable id). */
  nextAnonymous(timeoutMs = 3000): Promise<Response> {
    const seen = this.responses.length;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = (): void => {
        const r = this.responses.slice(seen).find((x) => x.id === null);
        if (r) return resolve(r);
        if (Date.now() - started > timeoutMs) return reject(new Error('no anonymous response'));
        setTimeout(tick, 10);
      };
      tick();
    });
  }

  /** The first notification `name` (already received, or to come) that `match`es. */
  waitFor(name: NotificationName, match: (data: any) => boolean = () => true, timeoutMs = 5000): Promise<Notification> {
    const already = this.notifications.find((n) => n.notification === name && match(n.data));
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${name}`)), timeoutMs);
      this.#waiters.push({
        match: (n) => n.notification === name && match(n.data),
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
      });
    });
  }

  onNotification(fn: (name: NotificationName, data: any) => void): void {
    this.#listeners.push(fn);
  }

  /** Vanishes right after sending the n-th request from now: a client gone with a request in flight. */
  dropAfterRequests(n: number): void {
    this.#dropAfter = Math.max(0, Math.floor(n));
  }

  /** Gone without a close frame, as when a network or a browser dies: the server sees the TCP connection end. */
  drop(): void {
    this.ws.terminate();
  }

  close(): void {
    this.ws.close();
  }

  #onNotification(msg: Notification): void {
    if (this.#record) this.notifications.push(msg);
    for (const l of this.#listeners) l(msg.notification, msg.data);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.match(msg)) {
        this.#waiters.splice(i, 1);
        w.resolve(msg);
      }
    }
  }

  #onResponse(msg: Response): void {
    if (this.#record) this.responses.push(msg);
    const p = msg.id !== null ? this.#pending.get(msg.id) : undefined;
    if (!p) return;
    this.#pending.delete(msg.id!);
    p.resolve(msg);
  }

  #wait(id: number | string, timeoutMs: number, method: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }
}
