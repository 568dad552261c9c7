import type {
  JoinResponse,
  Method,
  NotificationName,
  Notifications,
  RequestData,
  ServerMessage,
  TransportResponse,
} from '../../core/protocol.js';

// One WebSocket to one region node: numbered requests with a timeout, responses matched by id,
// notifications handed on. It never reconnects; OctomeshClient decides what a lost socket means.

export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Opening the socket. A WebSocket (and TLS) handshake takes a few round trips: well under a
 * second at 220 ms RTT. A host cut off from the network answers nothing, and every second
 * spent here is a second of failover.
 */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Response data per method; methods not listed answer with nothing the client reads. */
export interface Responses {
  getRouterRtpCapabilities: Record<string, unknown>;
  join: JoinResponse;
  createWebRtcTransport: TransportResponse;
  produce: { producerId: string };
}
export type ResponseOf<M extends Method> = M extends keyof Responses ? Responses[M] : unknown;

export type Notification = { [N in NotificationName]: { name: N; data: Notifications[N] } }[NotificationName];

/**
 * A failed request or connection. `code` is the server's stable code (bad_request, not_found,
 * invalid_state, ...) or one of the client's own: timeout, disconnected, network, aborted.
 */
export class OctomeshError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'OctomeshError';
  }
}

interface Pending {
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Signaling {
  onNotification: (notification: Notification) => void = () => undefined;
  /** Called once when the socket closes without close() having been called. */
  onClose: (reason: string) => void = () => undefined;

  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** When the oldest ping not followed by any frame from the server went out. */
  #unansweredSince: number | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  static open(url: string): Promise<Signaling> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const fail = (code: string, message: string): void => {
        clearTimeout(timer);
        ws.onopen = ws.onerror = ws.onclose = null;
        ws.close();
        reject(new OctomeshError(code, message));
      };
      const timer = setTimeout(() => fail('timeout', `no answer from ${url}`), CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new Signaling(ws));
      };
      ws.onerror = ws.onclose = () => fail('disconnected', `cannot connect to ${url}`);
    });
  }

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onopen = ws.onerror = null;
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') this.#onMessage(event.data);
    };
    ws.onclose = (event) => this.#shutDown(`connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`, true);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Pings every `intervalMs`; when a ping has gone unanswered, with nothing else heard either,
   * for `deadAfterMs`, the socket counts as closed (onClose). A host that vanished without a FIN,
   * or was cut off from the network, leaves a WebSocket open for minutes, and browsers cannot
   * send protocol-level pings. Silence is counted from the first unanswered ping, not from the
   * last frame: a background tab whose timers are throttled to one a minute has sent nothing,
   * so its silence proves nothing.
   */
  startHeartbeat(intervalMs: number, deadAfterMs: number): void {
    clearInterval(this.#heartbeat);
    this.#unansweredSince = undefined;
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      if (this.#unansweredSince !== undefined && now - this.#unansweredSince >= deadAfterMs) {
        this.#shutDown(`the server stopped answering (nothing for ${((now - this.#unansweredSince) / 1000).toFixed(1)} s)`, true);
        return;
      }
      this.#unansweredSince ??= now;
      this.request('ping', {}, deadAfterMs).catch(() => undefined); // judged above, by silence, not per ping
    }, intervalMs);
  }

  request<M extends Method>(method: M, data: RequestData<M>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ResponseOf<M>> {
    if (this.#closed) return Promise.reject(new OctomeshError('disconnected', `${method}: not connected`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new OctomeshError('timeout', `${method}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.#ws.send(JSON.stringify({ id, method, data }));
    });
  }

  /** Deliberate close: pending requests fail with `disconnected`, onClose is not called. */
  close(): void {
    this.#shutDown('closed by client', false);
  }

  #shutDown(reason: string, unexpected: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#ws.onmessage = this.#ws.onclose = null;
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new OctomeshError('disconnected', reason));
    }
    this.#pending.clear();
    if (unexpected) this.onClose(reason);
  }

  #onMessage(text: string): void {
    this.#unansweredSince = undefined;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(text) as ServerMessage;
    } catch {
      console.warn('octomesh: ignoring a frame that is not JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('notification' in msg) {
      try {
        this.onNotification({ name: msg.notification, data: msg.data } as Notification);
      } catch (err) {
        console.error(`octomesh: handling "${msg.notification}" threw`, err);
      }
      return;
    }
    // Ids are always numbers on our side; a null id answers a frame the server could not parse.
    const pending = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
    if (!pending) {
      if (!msg.ok) console.warn('octomesh: unmatched error from server', msg.error);
      return;
    }
    this.#pending.delete(msg.id as number);
    clearTimeout(pending.timer);
    if (msg.ok) pending.resolve(msg.data);
    else pending.reject(new OctomeshError(msg.error?.code ?? 'internal', msg.error?.message ?? 'request failed'));
  }
}
