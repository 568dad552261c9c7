import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// An in-process stand-in for one Consul agent (and its servers), speaking just the HTTP API
// endpoints ConsulRegistry calls, with the semantics Consul documents for them:
// - X-Consul-Index on reads; `?index=N&wait=D` holds a read until its index passes N or D ends
//   (index 0 or absent: answer at once); an index below 1 is answered as 1;
// - KV list index = max(ModifyIndex of the entries, tombstones under the prefix), else the
//   whole KV table's index, so reaping tombstones can make it go backwards, as in Consul;
// - TTL checks turn critical when not passed in time, and a service critical for
//   DeregisterCriticalServiceAfter is removed;
// - sessions refuse critical or unknown checks, are invalidated when one of their checks goes
//   critical or away, and then delete (Behavior delete) or release their keys, which stay
//   un-acquirable for the session's LockDelay.
// Not modelled: ACLs, datacenters, consistency modes, agent anti-entropy delays, namespaces.

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
}

interface Check {
  CheckID: string;
  Name: string;
  ServiceID: string;
  ServiceName: string;
  Status: 'passing' | 'warning' | 'critical';
  Output: string;
  ttlMs: number;
  deregisterAfterMs: number;
  syncedAt: number;
  ttlTimer?: NodeJS.Timeout;
  reapTimer?: NodeJS.Timeout;
  ModifyIndex: number;
}
interface Service {
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  ModifyIndex: number;
}
interface Session {
  ID: string;
  Name: string;
  Node: string;
  Checks: string[];
  Behavior: 'release' | 'delete';
  LockDelayMs: number;
  CreateIndex: number;
}
interface KvEntry {
  Key: string;
  Value: string;
  Flags: number;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}
interface Waiter {
  ready(): boolean;
  answer(): void;
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

export class FakeConsul {
  readonly nodeName = 'fake-agent';
  readonly requests: LoggedRequest[] = [];
  /** Answer blocking reads at once whatever their index (a misbehaving proxy). */
  noBlocking = false;
  /** How long a newly registered check stays unknown to session/create (agent-to-server sync). */
  syncLagMs = 0;
  #server: Server;
  #url = '';
  #index = 1;
  #kvTableIndex = 1;
  #healthIndex = 1;
  #sessionIndex = 1;
  #serfHealth: 'passing' | 'critical' = 'passing';
  readonly #services = new Map<string, Service>();
  readonly #checks = new Map<string, Check>();
  readonly #sessions = new Map<string, Session>();
  readonly #kv = new Map<string, KvEntry>();
  readonly #tombstones = new Map<string, number>();
  readonly #lockDelays = new Map<string, number>();
  readonly #waiters = new Set<Waiter>();
  #faults: { count: number; status: number; match: (r: LoggedRequest) => boolean }[] = [];

  private constructor() {
    this.#server = createServer((req, res) => this.#onRequest(req, res));
  }

  /** On loopback and a free port unless told (the lab runs one on its front host's address). */
  static async start(listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<FakeConsul> {
    const fake = new FakeConsul();
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(listen.port, listen.host, resolve);
    });
    fake.#url = `http://${listen.host}:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  get url(): string {
    return this.#url;
  }

  /** The next `count` requests matching `match` get `status` and a text error body. */
  fail(count: number, status = 500, match: (r: LoggedRequest) => boolean = () => true): void {
    this.#faults.push({ count, status, match });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Client connections open now (a closed ConsulRegistry destroys its HTTP agent's). */
  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.#server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  }

  requestsTo(prefix: string, method?: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix) && (!method || r.method === method));
  }

  // --- inspection and the hand of fate ---

  service(id: string): Service | undefined {
    return this.#services.get(id);
  }

  check(id: string): Check | undefined {
    return this.#checks.get(id);
  }

  sessions(): Session[] {
    return [...this.#sessions.values()];
  }

  kvKeys(): string[] {
    return [...this.#kv.keys()].sort();
  }

  kvEntry(key: string): KvEntry | undefined {
    return this.#kv.get(key);
  }

  destroySession(id: string): void {
    this.#invalidateSession(id);
    this.#wake();
  }

  /** An agent restarted without its data dir: the service and its checks are gone. */
  dropService(id: string): void {
    this.#deregister(id);
  }

  /** A Consul server's tombstone GC: deleted keys stop counting in their prefix's index. */
  reapTombstones(): void {
    this.#tombstones.clear();
  }

  /** A restored older snapshot: every index drops by `by` (at least to 1); blocked reads wake. */
  rewind(by: number): void {
    const down = (n: number): number => Math.max(1, n - by);
    this.#index = down(this.#index);
    this.#kvTableIndex = down(this.#kvTableIndex);
    this.#healthIndex = down(this.#healthIndex);
    this.#sessionIndex = down(this.#sessionIndex);
    for (const e of this.#kv.values()) {
      e.CreateIndex = down(e.CreateIndex);
      e.ModifyIndex = down(e.ModifyIndex);
    }
    for (const [k, v] of this.#tombstones) this.#tombstones.set(k, down(v));
    for (const w of [...this.#waiters]) w.answer();
  }

  /** The node's agent failing its gossip health (serfHealth critical). */
  setSerfHealth(status: 'passing' | 'critical'): void {
    this.#serfHealth = status;
    this.#bump('health');
    if (status === 'critical') for (const s of this.sessions()) if (s.Checks.includes('serfHealth')) this.#invalidateSession(s.ID);
    this.#wake();
  }

  async close(): Promise<void> {
    for (const c of this.#checks.values()) this.#stopTimers(c);
    for (const w of [...this.#waiters]) w.answer();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // --- HTTP ---

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const logged: LoggedRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: Object.fromEntries(url.searchParams),
        body: Buffer.concat(chunks).toString(),
        headers: req.headers,
        at: Date.now(),
      };
      this.requests.push(logged);
      const fault = this.#faults.find((f) => f.count > 0 && f.match(logged));
      if (fault) {
        fault.count--;
        return this.#text(res, fault.status, 'fake consul: injected failure');
      }
      try {
        this.#route(logged, res);
      } catch (err) {
        this.#text(res, 400, (err as Error).message);
      }
    });
  }

  #route(r: LoggedRequest, res: ServerResponse): void {
    const p = r.path;
    const rest = (prefix: string): string => p.slice(prefix.length);
    if (r.method === 'GET' && p === '/v1/agent/self') return this.#json(res, 200, { Config: { NodeName: this.nodeName, Datacenter: 'dc1' } });
    if (r.method === 'PUT' && p === '/v1/agent/service/register') return this.#register(JSON.parse(r.body), res);
    if (r.method === 'PUT' && p.startsWith('/v1/agent/service/deregister/')) {
      const id = rest('/v1/agent/service/deregister/');
      if (!this.#services.has(id)) return this.#text(res, 404, `Unknown service ID "${id}"`);
      this.#deregister(id);
      return this.#json(res, 200, null);
    }
    if (r.method === 'PUT' && p.startsWith('/v1/agent/check/pass/')) {
      const c = this.#checks.get(rest('/v1/agent/check/pass/'));
      if (!c) return this.#text(res, 404, `Unknown check ID "${rest('/v1/agent/check/pass/')}"`);
      this.#setStatus(c, 'passing', r.query.note ?? '');
      this.#armTtl(c);
      return this.#json(res, 200, null);
    }
    if (r.method === 'PUT' && p === '/v1/session/create') return this.#createSession(r.body ? JSON.parse(r.body) : {}, res);
    if (r.method === 'PUT' && p.startsWith('/v1/session/destroy/')) {
      this.destroySession(rest('/v1/session/destroy/'));
      return this.#json(res, 200, true);
    }
    if (r.method === 'GET' && p.startsWith('/v1/session/info/')) {
      const id = rest('/v1/session/info/');
      return this.#blocking(r, res, () => this.#sessionIndex, () => [200, this.#sessions.has(id) ? [this.#sessionOut(this.#sessions.get(id)!)] : []]);
    }
    if (r.method === 'GET' && p.startsWith('/v1/session/node/')) {
      const node = rest('/v1/session/node/');
      return this.#blocking(r, res, () => this.#sessionIndex, () => [200, this.sessions().filter((s) => s.Node === node).map((s) => this.#sessionOut(s))]);
    }
    if (r.method === 'GET' && p.startsWith('/v1/health/service/')) {
      const name = rest('/v1/health/service/');
      return this.#blocking(r, res, () => this.#healthIndex, () => [200, this.#health(name, 'passing' in r.query)]);
    }
    if (p.startsWith('/v1/kv/')) return this.#kvRequest(r, rest('/v1/kv/'), res);
    this.#text(res, 404, `fake consul: no route ${r.method} ${p}`);
  }

  #kvRequest(r: LoggedRequest, key: string, res: ServerResponse): void {
    const recurse = 'recurse' in r.query;
    if (r.method === 'GET') {
      return this.#blocking(r, res, () => this.#kvIndex(key, recurse), () => {
        const items = recurse ? [...this.#kv.values()].filter((e) => e.Key.startsWith(key)) : this.#kv.has(key) ? [this.#kv.get(key)!] : [];
        return items.length ? [200, items.sort((a, b) => (a.Key < b.Key ? -1 : 1)).map((e) => ({ ...e }))] : [404, undefined];
      });
    }
    if (r.method === 'DELETE') {
      for (const k of recurse ? [...this.#kv.keys()].filter((k) => k.startsWith(key)) : [key]) this.#deleteKey(k);
      this.#wake();
      return this.#json(res, 200, true);
    }
    if (r.method !== 'PUT') return this.#text(res, 405, 'method not allowed');
    const value = Buffer.from(r.body).toString('base64');
    const existing = this.#kv.get(key);
    if (r.query.acquire !== undefined) {
      const sid = r.query.acquire;
      if (!this.#sessions.has(sid)) return this.#text(res, 500, `invalid session "${sid}"`);
      if ((this.#lockDelays.get(key) ?? 0) > Date.now()) return this.#json(res, 200, false);
      if (existing?.Session && existing.Session !== sid) return this.#json(res, 200, false);
      const lockIndex = (existing?.LockIndex ?? 0) + (existing?.Session === sid ? 0 : 1);
      this.#put(key, value, sid, lockIndex);
      return this.#json(res, 200, true);
    }
    if (r.query.release !== undefined) {
      if (!existing || existing.Session !== r.query.release) return this.#json(res, 200, false);
      this.#put(key, value, undefined, existing.LockIndex);
      return this.#json(res, 200, true);
    }
    this.#put(key, value, existing?.Session, existing?.LockIndex ?? 0);
    this.#json(res, 200, true);
  }

  /** Answers now if the index moved past `?index`, else when it does or `?wait` ends. */
  #blocking(r: LoggedRequest, res: ServerResponse, index: () => number, result: () => [number, unknown]): void {
    const min = Number(r.query.index ?? 0);
    const answer = (): void => {
      this.#waiters.delete(waiter);
      clearTimeout(timer);
      const [status, body] = result();
      const idx = Math.max(1, index());
      if (!res.writableEnded) this.#json(res, status, body, { 'X-Consul-Index': String(idx), 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' });
    };
    const waiter: Waiter = { ready: () => index() > min, answer };
    let timer: NodeJS.Timeout | undefined;
    if (!(min > 0) || this.noBlocking || waiter.ready()) return answer();
    const waitMs = Math.min(r.query.wait ? parseDuration(r.query.wait) : 300_000, 600_000);
    timer = setTimeout(answer, waitMs);
    this.#waiters.add(waiter);
    res.on('close', () => {
      this.#waiters.delete(waiter);
      clearTimeout(timer);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) if (w.ready()) w.answer();
  }

  #bump(table: 'kv' | 'health' | 'session'): number {
    const i = ++this.#index;
    if (table === 'kv') this.#kvTableIndex = i;
    if (table === 'health') this.#healthIndex = i;
    if (table === 'session') this.#sessionIndex = i;
    return i;
  }

  #kvIndex(key: string, recurse: boolean): number {
    let idx = 0;
    for (const e of this.#kv.values()) if (recurse ? e.Key.startsWith(key) : e.Key === key) idx = Math.max(idx, e.ModifyIndex);
    for (const [k, i] of this.#tombstones) if (recurse ? k.startsWith(key) : k === key) idx = Math.max(idx, i);
    return idx || this.#kvTableIndex;
  }

  #put(key: string, value: string, session: string | undefined, lockIndex: number): void {
    const i = this.#bump('kv');
    const old = this.#kv.get(key);
    const entry: KvEntry = { Key: key, Value: value, Flags: 0, LockIndex: lockIndex, CreateIndex: old?.CreateIndex ?? i, ModifyIndex: i };
    if (session) entry.Session = session;
    this.#kv.set(key, entry);
    this.#tombstones.delete(key);
    this.#wake();
  }

  #deleteKey(key: string): void {
    if (!this.#kv.delete(key)) return;
    this.#tombstones.set(key, this.#bump('kv'));
  }

  #register(body: Record<string, any>, res: ServerResponse): void {
    if (!body.Name) return this.#text(res, 400, 'Missing service name');
    const id: string = body.ID || body.Name;
    this.#services.set(id, { ID: id, Service: body.Name, Tags: body.Tags ?? [], Meta: body.Meta ?? {}, ModifyIndex: 0 });
    const defs: Record<string, any>[] = body.Checks ?? (body.Check ? [body.Check] : []);
    defs.forEach((d, i) => {
      if (!d.TTL) throw new Error('fake consul: only TTL checks are modelled');
      const checkId: string = d.CheckID || `service:${id}${defs.length > 1 ? `:${i + 1}` : ''}`;
      const old = this.#checks.get(checkId);
      if (old) this.#stopTimers(old);
      // As Consul's agent does: a re-registered check starts from its Status, else critical.
      const c: Check = {
        CheckID: checkId,
        Name: d.Name || `Service '${body.Name}' check`,
        ServiceID: id,
        ServiceName: body.Name,
        Status: 'critical',
        Output: '',
        ttlMs: parseDuration(d.TTL),
        deregisterAfterMs: d.DeregisterCriticalServiceAfter ? parseDuration(d.DeregisterCriticalServiceAfter) : 0,
        syncedAt: old?.syncedAt ?? Date.now() + this.syncLagMs,
        ModifyIndex: 0,
      };
      this.#checks.set(checkId, c);
      this.#setStatus(c, d.Status ?? 'critical', '', true);
      this.#armTtl(c);
    });
    this.#services.get(id)!.ModifyIndex = this.#bump('health');
    this.#wake();
    this.#json(res, 200, null);
  }

  #deregister(id: string): void {
    this.#services.delete(id);
    for (const c of [...this.#checks.values()]) {
      if (c.ServiceID !== id) continue;
      this.#stopTimers(c);
      this.#checks.delete(c.CheckID);
      for (const s of this.sessions()) if (s.Checks.includes(c.CheckID)) this.#invalidateSession(s.ID);
    }
    this.#bump('health');
    this.#wake();
  }

  #setStatus(c: Check, status: Check['Status'], output: string, force = false): void {
    if (!force && c.Status === status && c.Output === output) return;
    const wasCritical = c.Status === 'critical' && !force;
    c.Status = status;
    c.Output = output;
    c.ModifyIndex = this.#bump('health');
    clearTimeout(c.reapTimer);
    if (status === 'critical') {
      for (const s of this.sessions()) if (s.Checks.includes(c.CheckID)) this.#invalidateSession(s.ID);
      if (c.deregisterAfterMs > 0 && !wasCritical) {
        c.reapTimer = setTimeout(() => this.#deregister(c.ServiceID), c.deregisterAfterMs);
        c.reapTimer.unref();
      }
    }
    this.#wake();
  }

  #armTtl(c: Check): void {
    clearTimeout(c.ttlTimer);
    c.ttlTimer = setTimeout(() => this.#setStatus(c, 'critical', `TTL expired`), c.ttlMs);
    c.ttlTimer.unref();
  }

  #stopTimers(c: Check): void {
    clearTimeout(c.ttlTimer);
    clearTimeout(c.reapTimer);
  }

  #createSession(body: Record<string, any>, res: ServerResponse): void {
    const checks: string[] = body.Checks ?? ['serfHealth'];
    for (const id of checks) {
      const check = this.#checks.get(id);
      const status = id === 'serfHealth' ? this.#serfHealth : check && check.syncedAt <= Date.now() ? check.Status : undefined;
      if (!status) return this.#text(res, 500, `Missing check '${id}' registration`);
      if (status === 'critical') return this.#text(res, 500, `Check '${id}' is in critical state`);
    }
    const s: Session = {
      ID: randomUUID(),
      Name: body.Name ?? '',
      Node: body.Node ?? this.nodeName,
      Checks: checks,
      Behavior: body.Behavior === 'delete' ? 'delete' : 'release',
      LockDelayMs: body.LockDelay === undefined ? 15_000 : parseDuration(body.LockDelay),
      CreateIndex: 0,
    };
    s.CreateIndex = this.#bump('session');
    this.#sessions.set(s.ID, s);
    this.#wake();
    this.#json(res, 200, { ID: s.ID });
  }

  #invalidateSession(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    this.#bump('session');
    for (const e of [...this.#kv.values()]) {
      if (e.Session !== id) continue;
      if (s.LockDelayMs > 0) this.#lockDelays.set(e.Key, Date.now() + s.LockDelayMs);
      if (s.Behavior === 'delete') this.#deleteKey(e.Key);
      else this.#put(e.Key, Buffer.from(e.Value, 'base64').toString(), undefined, e.LockIndex);
    }
  }

  #sessionOut(s: Session): object {
    return { ID: s.ID, Name: s.Name, Node: s.Node, LockDelay: s.LockDelayMs * 1e6, Behavior: s.Behavior, TTL: '', NodeChecks: s.Checks.filter((c) => c === 'serfHealth'), ServiceChecks: s.Checks.filter((c) => c !== 'serfHealth').map((ID) => ({ ID })), CreateIndex: s.CreateIndex, ModifyIndex: s.CreateIndex };
  }

  #health(name: string, passingOnly: boolean): object[] {
    const serf = { Node: this.nodeName, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: this.#serfHealth, Output: '', ServiceID: '', ServiceName: '' };
    const out: object[] = [];
    for (const s of this.#services.values()) {
      if (s.Service !== name) continue;
      const checks = [serf, ...[...this.#checks.values()].filter((c) => c.ServiceID === s.ID).map((c) => ({ Node: this.nodeName, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName }))];
      if (passingOnly && checks.some((c) => c.Status !== 'passing')) continue;
      out.push({ Node: { Node: this.nodeName, Address: '127.0.0.1', Datacenter: 'dc1' }, Service: { ID: s.ID, Service: s.Service, Tags: s.Tags, Meta: s.Meta, Address: '', Port: 0, ModifyIndex: s.ModifyIndex }, Checks: checks });
    }
    return out;
  }

  #json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  #text(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  }
}
