import Consul from 'consul';

// The `consul` npm client (2.0.1), typed as its JavaScript behaves. Every call also takes
// `ctx` (an EventEmitter: `cancel` aborts the request, `includeResponse` makes the answer
// `[response, body]`, which is how X-Consul-Index is read), `index`, `wait` and `timeout`;
// its bundled typings leave these out, so the calls used here are declared again.

export type Opts = Record<string, unknown>;

export interface SessionInfo {
  ID: string;
  Name: string;
}

export interface ConsulApi {
  agent: {
    self(o?: Opts): Promise<{ Config?: { NodeName?: string } }>;
    service: { register(o: Opts): Promise<void>; deregister(o: Opts): Promise<void> };
    check: { pass(o: Opts): Promise<void> };
  };
  health: { service(o: Opts): Promise<unknown> };
  kv: { get(o: Opts): Promise<unknown>; set(o: Opts): Promise<boolean>; del(o: Opts): Promise<boolean> };
  session: {
    create(o: Opts): Promise<{ ID: string }>;
    destroy(o: Opts): Promise<boolean>;
    info(o: Opts): Promise<unknown>;
    node(o: Opts): Promise<SessionInfo[]>;
  };
  /** Destroys the client's keep-alive HTTP agent (its sockets, idle or not). */
  destroy(): void;
}

/** Throws a TypeError for an address that is not an http(s) URL, before any request. */
export function consulClient(address: string, token: string | undefined, timeoutMs: number): ConsulApi {
  const base = new URL(address);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`consul address must be http(s): ${address}`);
  const options = {
    baseUrl: `${base.origin}${base.pathname.replace(/\/$/, '')}/v1`,
    timeout: timeoutMs,
    ...(token ? { defaults: { token } } : {}),
  };
  return new Consul(options as ConstructorParameters<typeof Consul>[0]) as unknown as ConsulApi;
}
