import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { frontUrl } from '../core/addresses.js';
import type { HttpTlsFiles } from '../core/tlsFiles.js';
import type { Logger } from '../core/logger.js';
import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { NodeRecord, Unsubscribe } from '../core/registry/Registry.js';
import { serveRegistry } from '../core/registry/serveRegistry.js';
import { startClusterHttp, type ClusterHttp } from '../geo-router/RouterHttp.js';
import type { ClusterView } from '../geo-router/ClusterView.js';
import type { ClusterAdmin } from '../geo-router/AdminRoutes.js';
import type { RoutingSettings } from '../geo-router/routingSettings.js';
import type { RegionName } from '../core/ids.js';
import { CHILD_STOP_TIMEOUT_MS, childEnv, CLUSTER_NODES, DEFAULT_REGION, nodeSpec, type ClusterNodeSpec } from './clusterSpec.js';
import { OCTOMESH_BIN } from './paths.js';

export interface LocalClusterOptions {
  host: string;
  port: number;
  staticDir: string;
  log: Logger;
  /** The operator's environment, handed on to every child. */
  env?: NodeJS.ProcessEnv;
  nodes?: readonly ClusterNodeSpec[];
  /** How long the children may take to register before start() gives up. */
  startTimeoutMs?: number;
  /** Bearer token for admin routes from other hosts (loopback needs none). */
  adminToken?: string;
  routing?: RoutingSettings;
  /** Where clients of unknown location go (and rooms nobody hosts, when pinned nowhere). */
  defaultRegion?: RegionName;
  /** HTTPS for the front (config http.tls); the children read the same setting from the env. */
  tls?: HttpTlsFiles;
}

interface Child {
  spec: ClusterNodeSpec;
  proc: ChildProcess;
  exited: Promise<void>;
}

/**
 * `octomesh start`: one process per region node, as on separate hosts, sharing the registry
 * this process owns (children reach it over IPC), and the cluster's HTTP front on :8080.
 * A child that dies is deregistered at once and not restarted: the cluster shows what an
 * outage looks like rather than hiding it.
 */
/** How long children may take to stop on the Ctrl-C that reached them too, before a SIGTERM. */
const SIGINT_GRACE_MS = 500;

export class LocalCluster implements ClusterAdmin {
  readonly #opts: LocalClusterOptions;
  readonly #log: Logger;
  /** The regions the cluster runs now: the initial ones, plus added, minus removed. */
  #specs: ClusterNodeSpec[];
  #relaySecret = '';
  readonly #registry = new LocalRegistry();
  readonly #children: Child[] = [];
  #nodes: NodeRecord[] = [];
  #http: ClusterHttp | undefined;
  #unwatch: Unsubscribe | undefined;
  #ready = false;
  #startFailed: ((err: Error) => void) | undefined;
  #stopping: Promise<boolean> | undefined;
  /** Nodes that ended a stop() other than with exit code 0 (SIGKILLed, or failed on the way). */
  readonly #unclean: string[] = [];

  constructor(opts: LocalClusterOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#specs = [...(opts.nodes ?? CLUSTER_NODES)];
  }

  /** Resolves once every child has registered; on any failure stops everything, then rejects. */
  async start(): Promise<void> {
    const specs = (): ClusterNodeSpec[] => this.#specs;
    const view: ClusterView = {
      nodes: () => this.#nodes,
      ready: () => this.#allRegistered(),
      get regions() {
        return specs().map((s) => ({ name: s.region, latitude: s.latitude, longitude: s.longitude }));
      },
      defaultRegion: this.#opts.defaultRegion ?? DEFAULT_REGION,
      roomNodes: (room) => this.#registry.roomNodes(room),
    };
    // Listen first: a busy :8080 should fail before three node processes are started.
    this.#http = await startClusterHttp({
      host: this.#opts.host,
      port: this.#opts.port,
      staticDir: this.#opts.staticDir,
      view,
      log: this.#log,
      admin: this,
      adminToken: this.#opts.adminToken ?? '',
      ...(this.#opts.routing ? { routing: this.#opts.routing } : {}),
      ...(this.#opts.tls ? { tls: this.#opts.tls } : {}),
    });
    this.#log.info({ url: this.url }, 'local cluster listening');

    const ready = new Promise<void>((resolve, reject) => {
      this.#startFailed = reject;
      this.#unwatch = this.#registry.watchNodes((nodes) => {
        this.#nodes = nodes;
        if (!this.#ready && this.#allRegistered()) {
          this.#ready = true;
          resolve();
        }
      });
    });
    // One secret per cluster run: only this run's nodes can join each other's relay mesh.
    this.#relaySecret = randomBytes(32).toString('hex');
    for (const spec of this.#specs) this.#fork(spec, this.#relaySecret);

    const timeoutMs = this.#opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = this.#specs.filter((s) => !this.#nodes.some((n) => n.id === s.nodeId)).map((s) => s.nodeId);
        reject(new Error(`region node(s) ${missing.join(', ')} did not register within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      await Promise.race([ready, timeout]);
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      this.#startFailed = undefined;
    }
    this.#log.info({ nodes: this.#specs.map((s) => s.nodeId) }, 'local cluster ready');
  }

  /** The page people open: the front's address (a wildcard shown as this host's address). */
  get url(): string {
    if (!this.#http) return '';
    return frontUrl(this.#opts.host, this.#http.port, this.#http.secure, os.networkInterfaces(), os.hostname());
  }

  /** SIGHUP: the front re-reads its certificate, and each running child is told to do the same. */
  reloadTls(reason = 'SIGHUP'): void {
    this.#http?.reloadTls(reason);
    for (const c of this.#children) if (isRunning(c.proc)) c.proc.kill('SIGHUP');
  }

  hasRegion(name: string): boolean {
    return this.#specs.some((s) => s.region === name);
  }

  /** Starts a region node for a new region; resolves with its record once it has registered. */
  async addRegion(region: { name: string; latitude: number; longitude: number }): Promise<NodeRecord> {
    if (this.#stopping) throw new Error('the cluster is stopping');
    if (this.hasRegion(region.name)) throw new Error(`region ${region.name} exists`);
    // The lowest slot no running region uses: its ports are free again once a region is removed.
    let slot = 0;
    while (this.#specs.some((s) => s.slot === slot)) slot++;
    const spec = nodeSpec(region.name, region.latitude, region.longitude, slot);
    this.#specs.push(spec);
    this.#fork(spec, this.#relaySecret);
    const child = this.#children.find((c) => c.spec === spec)!;
    return new Promise<NodeRecord>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${spec.nodeId} did not register within 30 s`)), 30_000);
      const unwatch = this.#registry.watchNodes((nodes) => {
        const record = nodes.find((n) => n.id === spec.nodeId);
        if (record) finish(undefined, record);
      });
      void child.exited.then(() => finish(new Error(`${spec.nodeId} exited before it registered`)));
      let done = false;
      const finish = (err?: Error, record?: NodeRecord): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unwatch();
        if (err) {
          this.#specs = this.#specs.filter((s) => s !== spec);
          child.proc.kill('SIGKILL');
          reject(err);
        } else resolve(record!);
      };
    });
  }

  /** Drains the region's node (SIGTERM: no new joins, calls may finish) and waits for it to exit. */
  async removeRegion(name: string): Promise<void> {
    const children = this.#children.filter((c) => c.spec.region === name);
    this.#specs = this.#specs.filter((s) => s.region !== name);
    for (const c of children) if (isRunning(c.proc)) c.proc.kill('SIGTERM');
    const killer = setTimeout(() => children.forEach((c) => isRunning(c.proc) && c.proc.kill('SIGKILL')), CHILD_STOP_TIMEOUT_MS);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(killer);
  }

  /**
   * SIGTERM to every child, SIGKILL to those still there after 10 s; then closes the front.
   * True when every node it stopped exited with code 0.
   */
  stop(signal?: NodeJS.Signals): Promise<boolean> {
    return (this.#stopping ??= this.#stop(signal));
  }

  /** Resolves when every child has exited (after stop(), or when all have died). */
  allExited(): Promise<void> {
    return Promise.all(this.#children.map((c) => c.exited)).then(() => undefined);
  }

  async #stop(signal?: NodeJS.Signals): Promise<boolean> {
    this.#startFailed?.(new Error('local cluster stopped during start-up'));
    if (signal === 'SIGINT') {
      // A terminal's Ctrl-C reaches the whole process group: the children stop by themselves in
      // a few ms. A SIGTERM sent meanwhile can land on a child that already finished, while Node
      // tears its signal handlers down, and kill it (seen in CI: "killed by SIGTERM" after a
      // clean stop). Only children still there after the grace (a SIGINT to this process
      // alone) get the SIGTERM.
      await Promise.race([this.allExited(), new Promise((r) => setTimeout(r, SIGINT_GRACE_MS))]);
    }
    const alive = this.#children.filter((c) => isRunning(c.proc));
    if (alive.length > 0) this.#log.info({ nodes: alive.map((c) => c.spec.nodeId) }, 'stopping region nodes');
    for (const c of alive) c.proc.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const c of this.#children.filter((c) => isRunning(c.proc))) {
        this.#log.warn({ node: c.spec.nodeId, pid: c.proc.pid }, `still running ${CHILD_STOP_TIMEOUT_MS / 1000} s after SIGTERM; SIGKILL`);
        c.proc.kill('SIGKILL');
      }
    }, CHILD_STOP_TIMEOUT_MS);
    await this.allExited();
    clearTimeout(killer);
    this.#unwatch?.();
    this.#http?.close();
    this.#registry.close();
    if (this.#unclean.length > 0) this.#log.error({ nodes: this.#unclean }, 'local cluster stopped; not every region node stopped cleanly');
    else this.#log.info('local cluster stopped');
    return this.#unclean.length === 0;
  }

  #fork(spec: ClusterNodeSpec, relaySecret: string): void {
    const proc = fork(OCTOMESH_BIN, ['region-node'], {
      execPath: process.execPath,
      // Not the parent's flags: an --inspect port, for one, cannot be shared by four processes.
      execArgv: [],
      env: childEnv(spec, relaySecret, this.#opts.env ?? process.env),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // Before our own exit handler, so a dead child is out of the registry by the time we log.
    serveRegistry(proc, this.#registry);
    const exited = new Promise<void>((resolve) => {
      let gone = false;
      const onGone = (how: string): void => {
        if (gone) return;
        gone = true;
        this.#onChildGone(spec, proc, how);
        resolve();
      };
      proc.once('exit', (code, signal) => onGone(signal ? `killed by ${signal}` : `exit code ${code}`));
      // fork() itself failed (no process): 'exit' may never come.
      proc.once('error', (err) => {
        if (proc.pid === undefined) onGone(`could not start: ${err.message}`);
        else this.#log.warn({ err, node: spec.nodeId }, 'IPC with region node failed');
      });
    });
    this.#children.push({ spec, proc, exited });
    this.#log.info({ node: spec.nodeId, pid: proc.pid, http: spec.httpPort }, 'region node process started');
  }

  #onChildGone(spec: ClusterNodeSpec, proc: ChildProcess, how: string): void {
    const fields = { node: spec.nodeId, region: spec.region, pid: proc.pid };
    if (this.#stopping && how !== 'exit code 0') {
      this.#unclean.push(spec.nodeId);
      this.#log.warn(fields, `region node stopped (${how})`);
    } else if (this.#stopping || !this.#specs.includes(spec)) {
      this.#log.info(fields, `region node stopped (${how})`);
    } else if (!this.#ready) {
      this.#log.error(fields, `region node failed to start (${how})`);
      this.#startFailed?.(new Error(`region node ${spec.nodeId} (${spec.region}) failed to start: ${how}`));
    } else {
      // Its registry session ended with it (serveRegistry): routing stops sending people there.
      this.#log.warn(fields, `region node died (${how}); deregistered, not restarted`);
    }
  }

  #allRegistered(): boolean {
    return this.#specs.every((s) => this.#nodes.some((n) => n.id === s.nodeId));
  }
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined;
}
