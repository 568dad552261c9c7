import type { IncomingMessage } from 'node:http';
import type { NodeId, RoomId } from '../ids.js';
import type { Logger } from '../logger.js';
import { consulClient, type ConsulApi, type Opts } from './consulClient.js';
import { checkIdOf, metaOf, parseNodes, presentNodes, roomKey, roomPrefix, SERVICE_NAME, sessionNameOf } from './consulCodec.js';
import { BlockingLoop, backoffDelay, type BlockingLoopOptions, type BlockingRead, type RequestContext } from './consulWatch.js';
import type { NodeRecord, Registry, Unsubscribe } from './Registry.js';

// The production registry: Consul's service catalog with health (each region node is a service
// instance with a TTL check it keeps passing), KV with sessions (room presence dies with its
// node), and blocking queries (the watches). Consul API used: agent/service/register +
// deregister, agent/check/pass, agent/self, session/create + destroy + info + node,
// health/service?passing, kv get (recurse) / put (acquire) / delete.

export interface ConsulRegistryOptions {
  /** Agent address, e.g. http://127.0.0.1:8500 (config `discovery.consulAddress`). */
  address: string;
  /** ACL token (CONSUL_HTTP_TOKEN), sent as X-Consul-Token. */
  token?: string;
  log?: Logger;
  /**
   * TTL of the service check; a node that stops reporting turns critical after it (default 5 s:
   * two missed 2 s load reports). Measured between hosts at 10 s: a host cut off from the network
   * stayed in routing for the whole 10 s.
   */
  checkTtlSec?: number;
  /** Consul removes an instance critical for this long (its own duration syntax). */
  deregisterCriticalAfter?: string;
  /** Time-out of a non-blocking request. */
  requestTimeoutMs?: number;
  loop?: Partial<BlockingLoopOptions>;
}

export const DEFAULT_CHECK_TTL_SEC = 5;
/** Past our sessions' 1 ms lock-delay (Consul counts it from the invalidation). */
const LOCK_DELAY_RETRY_MS = 10;
const DEFAULT_LOOP: BlockingLoopOptions = { waitSec: 30, backoffBaseMs: 250, backoffMaxMs: 30_000, burst: 3, perSec: 1 };

export class ConsulRegistry implements Registry {
  readonly #api: ConsulApi;
  readonly #log: Logger | undefined;
  readonly #ttlSec: number;
  readonly #deregisterAfter: string;
  readonly #loopOpts: BlockingLoopOptions;
  readonly #loops = new Set<BlockingLoop<unknown>>();
  /** Requests and deregistrations close() lets finish before it drops the connections. */
  readonly #pending = new Set<Promise<unknown>>();
  readonly #sleepers = new Set<() => void>();
  readonly #rooms = new Set<RoomId>();
  #self: NodeRecord | undefined;
  #registeredMeta = '';
  #session: string | undefined;
  #sessionLoop: BlockingLoop<unknown> | undefined;
  #recovering: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastPass = 0;
  #beating = false;
  #writes: Promise<unknown> = Promise.resolve();
  #agentNode: string | undefined;
  #closed = false;

  constructor(options: ConsulRegistryOptions) {
    this.#api = consulClient(options.address, options.token, options.requestTimeoutMs ?? 10_000);
    this.#log = options.log;
    this.#ttlSec = options.checkTtlSec ?? DEFAULT_CHECK_TTL_SEC;
    this.#deregisterAfter = options.deregisterCriticalAfter ?? '1m';
    this.#loopOpts = { ...DEFAULT_LOOP, ...options.loop };
  }

  async registerNode(record: NodeRecord): Promise<void> {
    if (this.#closed) throw new Error('registry is closed');
    // Sessions and TTL checks belong to the agent this process talks to: one node per registry.
    if (this.#self && this.#self.id !== record.id) throw new Error(`this registry already registers ${this.#self.id}`);
    this.#self = structuredClone(record);
    await this.#serial(() => this.#register());
    // The agent syncs a new check to the servers shortly after answering, and until then they
    // refuse a session on it ("Missing check"): retry in the background rather than fail.
    if (!this.#session && !this.#recovering) await this.#createSession().catch((err: Error) => void this.#recover(`session create failed: ${err.message}`));
    if (!this.#heartbeat) {
      // RegionNode reports load every 2 s; this keeps the check alive for any other caller.
      this.#heartbeat = setInterval(() => this.#beat(), (this.#ttlSec * 1000) / 3);
      this.#heartbeat.unref();
    }
  }

  async updateNode(id: NodeId, patch: Partial<Pick<NodeRecord, 'load' | 'draining'>>): Promise<void> {
    if (this.#closed || this.#self?.id !== id) return;
    Object.assign(this.#self, structuredClone(patch));
    await this.#serial(async () => {
      if (!this.#self) return;
      // Load lives in the service meta (health/service answers it at once); the check output
      // alone reaches the servers only every check_update_interval (5 min by default).
      if (JSON.stringify(metaOf(this.#self)) !== this.#registeredMeta) await this.#register();
      await this.#pass();
    });
  }

  deregisterNode(id: NodeId): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('registry is closed'));
    if (this.#self?.id !== id) return Promise.resolve();
    this.#self = undefined;
    this.#rooms.clear();
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#stopSessionWatch();
    const session = this.#session;
    this.#session = undefined;
    // Through the write queue, so that an update in flight cannot re-register after us.
    return this.#track(
      this.#serial(async () => {
        const results = await Promise.allSettled([
          // Destroying the session deletes its presence keys now (Behavior delete).
          session ? this.#api.session.destroy({ id: session }) : undefined,
          this.#api.agent.service.deregister({ id }),
        ]);
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
      }),
    );
  }

  async nodes(): Promise<NodeRecord[]> {
    return parseNodes(await this.#track(this.#api.health.service({ service: SERVICE_NAME, passing: true })));
  }

  watchNodes(cb: (nodes: NodeRecord[]) => void): Unsubscribe {
    return this.#watch((o) => this.#api.health.service({ service: SERVICE_NAME, passing: true, ...o }), parseNodes, cb, 'nodes');
  }

  async addRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    if (this.#closed) throw new Error('registry is closed');
    if (this.#self?.id !== node) throw new Error(`node ${node} is not registered through this agent`);
    this.#rooms.add(room);
    // A recovery under way re-acquires every room in #rooms, this one included.
    if (this.#recovering) return this.#recovering;
    if (this.#session && (await this.#acquire(room))) return;
    // A key whose holder's session just ended stays un-acquirable for that session's lock-delay
    // (ours is 1 ms): a restarted node destroys its predecessor's session and may ask for the
    // same room within that millisecond (seen on a fast run of the restart test). Once more after it.
    if (this.#session) {
      await new Promise((r) => setTimeout(r, LOCK_DELAY_RETRY_MS));
      if (this.#session && (await this.#acquire(room))) return;
    }
    // Refused: most likely our session was invalidated and the session watch has not said so yet.
    if (!(await this.#sessionAlive())) return this.#recover('presence refused: session gone');
    throw new Error(`presence key ${roomKey(room, node)} is held by another session`);
  }

  async removeRoomPresence(room: RoomId, node: NodeId): Promise<void> {
    if (this.#self?.id !== node || !this.#rooms.delete(room) || this.#closed) return;
    await this.#track(this.#api.kv.del({ key: roomKey(room, node) }));
  }

  async roomNodes(room: RoomId): Promise<NodeId[]> {
    return presentNodes(room, await this.#track(this.#api.kv.get({ key: roomPrefix(room), recurse: true })));
  }

  watchRoom(room: RoomId, cb: (nodes: NodeId[]) => void): Unsubscribe {
    return this.#watch((o) => this.#api.kv.get({ key: roomPrefix(room), recurse: true, ...o }), (body) => presentNodes(room, body), cb, `room ${room}`);
  }

  /**
   * Synchronous, idempotent, never throws. Stops every watch, timer and retry; requests already
   * sent (a deregistration above all) finish before the HTTP agent's sockets are destroyed.
   * It does not deregister: call deregisterNode first (RegionNode.close does).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#stopSessionWatch();
    for (const loop of this.#loops) loop.stop();
    this.#loops.clear();
    for (const wake of this.#sleepers) wake();
    void (async () => {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
      this.#api.destroy();
    })();
  }

  async #register(): Promise<void> {
    const self = this.#self;
    if (!self) return;
    const meta = metaOf(self);
    await this.#track(
      this.#api.agent.service.register({
        name: SERVICE_NAME,
        id: self.id,
        tags: [self.region],
        meta,
        check: {
          checkid: checkIdOf(self.id),
          name: 'octomesh load report',
          ttl: `${this.#ttlSec}s`,
          // Without it a re-registration would reset the check to critical, and Consul would
          // invalidate our session and delete every room presence key.
          status: 'passing',
          deregistercriticalserviceafter: this.#deregisterAfter,
        },
      }),
    );
    this.#registeredMeta = JSON.stringify(meta);
    this.#lastPass = Date.now();
  }

  async #pass(): Promise<void> {
    const self = this.#self;
    if (!self) return;
    try {
      await this.#track(this.#api.agent.check.pass({ id: checkIdOf(self.id), note: JSON.stringify({ load: self.load, draining: self.draining }) }));
    } catch (err) {
      // The agent answered but has no such check: it lost our registration (restarted without
      // its data dir, or reaped us after a long stall). Registering again restores it.
      if (!(err as { isResponse?: boolean }).isResponse) throw err;
      this.#log?.warn({ err }, 'consul check pass refused; registering again');
      await this.#register();
    }
    this.#lastPass = Date.now();
  }

  #beat(): void {
    if (this.#beating || Date.now() - this.#lastPass < (this.#ttlSec * 1000) / 3 - 100) return;
    this.#beating = true;
    this.#serial(() => this.#pass())
      .catch((err: Error) => this.#log?.warn({ err }, 'consul check pass failed'))
      .finally(() => (this.#beating = false));
  }

  async #createSession(): Promise<void> {
    const self = this.#self;
    if (!self) return;
    const name = sessionNameOf(self.id);
    const { ID } = await this.#track(
      this.#api.session.create({
        name,
        // Invalidated when this node's agent leaves (serfHealth) or its TTL check goes critical.
        checks: ['serfHealth', checkIdOf(self.id)],
        behavior: 'delete',
        // Nobody else acquires our keys; a lock-delay would only keep our re-acquired rooms
        // invisible after a recovery (15 s by default). Consul wants it above 0.
        lockdelay: '1ms',
      }),
    );
    if (this.#closed || this.#self !== self) {
      await this.#track(this.#api.session.destroy({ id: ID })).catch(() => undefined);
      return;
    }
    this.#session = ID;
    this.#watchSession(ID);
    await this.#destroyStaleSessions(name, ID).catch((err: Error) => this.#log?.warn({ err }, 'cannot clean up stale consul sessions'));
  }

  /** A previous process of this node that died less than a TTL ago still holds its keys. */
  async #destroyStaleSessions(name: string, current: string): Promise<void> {
    this.#agentNode ??= (await this.#track(this.#api.agent.self())).Config?.NodeName;
    if (!this.#agentNode) return;
    const sessions = await this.#track(this.#api.session.node({ node: this.#agentNode }));
    for (const s of sessions ?? []) {
      if (s.Name === name && s.ID !== current) await this.#track(this.#api.session.destroy({ id: s.ID }));
    }
  }

  #watchSession(id: string): void {
    this.#stopSessionWatch();
    const loop = new BlockingLoop<unknown>(
      (index, wait, ctx) => this.#read((o) => this.#api.session.info({ id, ...o }), index, wait, ctx),
      (info) => {
        if (info || this.#session !== id) return;
        this.#session = undefined;
        this.#stopSessionWatch();
        void this.#recover('session invalidated');
      },
      (err, failures, delayMs) => this.#log?.warn({ err: err.message, failures, delayMs }, 'consul session watch failed; retrying'),
      this.#loopOpts,
    );
    this.#sessionLoop = loop;
    this.#loops.add(loop);
  }

  #stopSessionWatch(): void {
    if (!this.#sessionLoop) return;
    this.#sessionLoop.stop();
    this.#loops.delete(this.#sessionLoop);
    this.#sessionLoop = undefined;
  }

  async #sessionAlive(): Promise<boolean> {
    const id = this.#session;
    if (!id) return false;
    const info = await this.#track(this.#api.session.info({ id }));
    if (info) return true;
    if (this.#session === id) {
      this.#session = undefined;
      this.#stopSessionWatch();
    }
    return false;
  }

  /** New session, then every room again; shared by concurrent callers, retried until it works. */
  #recover(reason: string): Promise<void> {
    this.#recovering ??= (async () => {
      this.#log?.warn({ reason, rooms: this.#rooms.size }, 'consul session lost; recreating it and re-acquiring room presence');
      for (let failures = 1; !this.#closed && this.#self; failures++) {
        try {
          // A critical check would make Consul refuse the new session.
          await this.#serial(() => this.#pass());
          if (!this.#session) await this.#createSession();
          for (const room of [...this.#rooms]) {
            if (await this.#acquire(room)) continue;
            if (!(await this.#sessionAlive())) throw new Error('session invalidated again');
            throw new Error(`presence in ${room} refused: held by another session, or under lock-delay`);
          }
          this.#log?.info({ rooms: this.#rooms.size }, 'consul room presence restored');
          return;
        } catch (err) {
          const delayMs = backoffDelay(failures, this.#loopOpts.backoffBaseMs, this.#loopOpts.backoffMaxMs);
          this.#log?.warn({ err: (err as Error).message, failures, delayMs }, 'consul presence recovery failed; retrying');
          await this.#sleep(delayMs);
        }
      }
    })().finally(() => (this.#recovering = undefined));
    return this.#recovering;
  }

  async #acquire(room: RoomId): Promise<boolean> {
    const self = this.#self;
    const session = this.#session;
    if (!self || !session) return false;
    const key = roomKey(room, self.id);
    let ok: boolean;
    try {
      ok = await this.#track(this.#api.kv.set({ key, value: JSON.stringify({ node: self.id, region: self.region }), acquire: session }));
    } catch (err) {
      // Consul answers an acquire under a session it no longer has with a 500 "invalid session".
      if ((err as { isResponse?: boolean }).isResponse && /session/i.test((err as Error).message)) return false;
      throw err;
    }
    // The room closed while we were acquiring: its removal may have reached Consul first.
    if (ok && !this.#rooms.has(room)) await this.#track(this.#api.kv.del({ key }));
    return ok === true;
  }

  #watch<T>(read: (extras: Opts) => Promise<unknown>, parse: (body: unknown) => T, cb: (value: T) => void, what: string): Unsubscribe {
    if (this.#closed) return () => undefined;
    // A blocking query may return without a change (a timed-out wait, an idempotent write).
    let last: string | undefined;
    const loop = new BlockingLoop<unknown>(
      (index, wait, ctx) => this.#read(read, index, wait, ctx),
      (body) => {
        const value = parse(body);
        const key = JSON.stringify(value);
        if (key === last) return;
        last = key;
        try {
          cb(value);
        } catch (err) {
          this.#log?.error({ err }, `registry ${what} watch callback threw`);
        }
      },
      (err, failures, delayMs) => this.#log?.warn({ err: err.message, failures, delayMs }, `consul ${what} watch failed; retrying`),
      this.#loopOpts,
    );
    this.#loops.add(loop);
    return () => {
      loop.stop();
      this.#loops.delete(loop);
    };
  }

  async #read(call: (extras: Opts) => Promise<unknown>, index: bigint, wait: string, ctx: RequestContext): Promise<BlockingRead<unknown>> {
    const waitMs = this.#loopOpts.waitSec * 1000;
    // Consul may hold a request up to wait + wait/16; past that (and a margin) it is lost.
    const extras: Opts = { ctx, timeout: Math.ceil(waitMs + waitMs / 16 + 5000) };
    if (index > 0n) Object.assign(extras, { index: index.toString(), wait });
    const [res, body] = (await call(extras)) as [IncomingMessage, unknown];
    const header = res.headers['x-consul-index'];
    return { index: Array.isArray(header) ? header[0] : header, value: body };
  }

  /** Agent writes in order: a slow re-registration cannot overtake a later one. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn, fn);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const drop = (): void => void this.#pending.delete(p);
    p.then(drop, drop);
    return p;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}
