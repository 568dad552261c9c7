import WebSocket from 'ws';

export interface Response {
  id: number | string | null;
  ok: boolean;
  data?: any;
  error?: { code: string; message: string };
}

export interface Notification {
  notification: string;
  data: any;
}

/** A Node-side signaling client for tests and bots: a real WebSocket to a real region node. */
export class SignalClient {
  readonly ws: WebSocket;
  readonly notifications: Notification[] = [];
  readonly responses: Response[] = [];
  #nextId = 1;
  readonly #pending = new Map<number | string, (r: Response) => void>();
  readonly #waiters: { match: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (raw, isBinary) => {
      if (isBinary) throw new Error('server sent a binary frame');
      const msg = JSON.parse(raw.toString());
      if ('notification' in msg) {
        this.notifications.push(msg);
        for (let i = this.#waiters.length - 1; i >= 0; i--) {
          const w = this.#waiters[i]!;
          if (w.match(msg)) {
            this.#waiters.splice(i, 1);
            w.resolve(msg);
          }
        }
        return;
      }
      this.responses.push(msg);
      const cb = msg.id !== null ? this.#pending.get(msg.id) : undefined;
      if (cb) {
        this.#pending.delete(msg.id);
        cb(msg);
      }
    });
    ws.on('error', () => undefined);
  }

  /** `options`: e.g. `{ ca }` for a wss:// node with a test certificate. */
  static connect(url: string, options?: WebSocket.ClientOptions): Promise<SignalClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(new SignalClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends a request and resolves with the whole response (ok or not). */
  call(method: string, data: unknown = {}, timeoutMs = 5000): Promise<Response> {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ id, method, data }));
    return this.#wait(id, timeoutMs, method);
  }

  /** Sends a request and resolves with its data; rejects on an error response. */
  async request(method: string, data: unknown = {}): Promise<any> {
    const r = await this.call(method, data);
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

  waitFor(name: string, match: (data: any) => boolean = () => true, timeoutMs = 5000): Promise<Notification> {
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

  close(): void {
    this.ws.close();
  }

  #wait(id: number | string, timeoutMs: number, method: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

/** Opus and VP8 parameters a browser would send for produce (no simulcast). */
export function audioRtpParameters(ssrc: number): unknown {
  return {
    mid: '0',
    codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: 'test', reducedSize: true },
  };
}

export function videoRtpParameters(ssrc: number): unknown {
  return {
    mid: '1',
    codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: 'test', reducedSize: true },
  };
}
