import os from 'node:os';
import type { types } from 'mediasoup';
import { advertisedAddresses, pageUrlFor, urlHost, type Advertised } from '../core/addresses.js';
import { readTlsFiles } from '../core/tlsFiles.js';
import type { Config } from '../core/config.js';
import { workerCount } from '../core/config.js';
import { asNodeId, asRegionName, asRoomId, type NodeId, type RegionName, type RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { createMetricsRegistry, type Registry as MetricsRegistry } from '../core/metrics.js';
import { RoomName, type IceServer } from '../core/protocol.js';
import { BadRequestError, InvalidStateError } from '../core/errors.js';
import { withoutDroppedExtensions } from './mediaCodecs.js';
import { registerNodeMetrics } from './NodeMetrics.js';
import { Room } from './Room.js';
import { Session, type SessionHost } from './Session.js';
import { NodeHttp, type NodeHttpHost } from './NodeHttp.js';
import { TransportTraffic } from './TransportTraffic.js';
import { WorkerPool, type WorkerObjects } from './WorkerPool.js';
import type { SrtpCrypto } from './workerCrypto.js';
import { CpuMeter, LOAD_REPORT_MS } from './CpuLoad.js';
import { MEDIA_CODECS } from './mediaCodecs.js';
import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { NodeRecord, Registry } from '../core/registry/Registry.js';

import { RelayDialer } from '../relay/RelayDialer.js';
import { RelayServer } from '../relay/RelayServer.js';
import { relayCredentials, type RelayCredentials } from '../relay/RelayTls.js';
import { RoomAccess } from './RoomAccess.js';
import { iceServersFor } from './TurnCredentials.js';
import type { LinkStats } from '../relay/Link.js';

export interface RegionNodeDeps {
  /** The catalog this node registers in; a private LocalRegistry when absent (a lone node). */
  registry?: Registry;
  /**
   * Aborted when the process begins to stop (a signal), possibly while the node still starts: a
   * terminal's Ctrl-C reaches the workers too, and their exits from then on are expected.
   */
  stopping?: AbortSignal;
}

export interface HealthReport {
  ok: boolean;
  region: string;
  nodeId: string;
  draining: boolean;
  rooms: number;
  peers: number;
  producers: number;
  consumers: number;
  workers: { index: number; pid: number; routers: number; alive: boolean }[];
  /** The workers' SRTP crypto library: 'nss' is the slower fallback build (see workerCrypto.ts). */
  crypto: { srtp: SrtpCrypto };
}

/** What a node holds, for leak checks: its own maps, its links and pipes, its workers' objects. */
export interface NodeObjects {
  nodeId: string;
  rooms: number;
  /** Room creations in flight or done: equals `rooms` when nothing is being made. */
  roomEntries: number;
  peers: number;
  producers: number;
  consumers: number;
  sockets: number;
  links: number;
  linksUp: number;
  incomingPipes: number;
  outgoingPipes: number;
  workers: WorkerObjects[];
}

/**
 * The regional process: one uWS app on one port (HTTP + WebSocket), a mediasoup worker pool,
 * and the rooms on this node.
 */
export class RegionNode implements SessionHost {
  readonly config: Config;
  readonly region: RegionName;
  readonly nodeId: NodeId;
  readonly metrics: MetricsRegistry;
  readonly registry: Registry;
  readonly #log: Logger;
  readonly #pool: WorkerPool;
  readonly #rooms = new Map<RoomId, Promise<Room>>();
  readonly #openRooms = new Map<RoomId, Room>();
  readonly #capsRouterCaps: types.RtpCapabilities;
  readonly #traffic = new TransportTraffic();
  #http: NodeHttp | undefined;
  readonly #advertised: Advertised;
  #relay: RelayServer | undefined;
  readonly #dialer: RelayDialer;
  readonly #relayCredentials: RelayCredentials | undefined;
  readonly #access: RoomAccess;
  #port = 0;
  #draining = false;
  #closed = false;
  #loadTimer: NodeJS.Timeout | undefined;
  readonly #cpu: CpuMeter;

  private constructor(config: Config, log: Logger, pool: WorkerPool, caps: types.RtpCapabilities, registry: Registry, creds: RelayCredentials | undefined, access: RoomAccess, advertised: Advertised) {
    this.#access = access;
    this.#advertised = advertised;
    this.config = config;
    this.registry = registry;
    this.region = asRegionName(config.region);
    this.nodeId = asNodeId(config.nodeId);
    this.#log = log;
    this.#pool = pool;
    this.#capsRouterCaps = caps;
    this.#relayCredentials = creds;
    this.#dialer = new RelayDialer({
      secret: config.relay.secret,
      selfNode: config.nodeId,
      ...(this.#relayCredentials ? { credentials: this.#relayCredentials.client, channelOptions: this.#relayCredentials.channelOptions } : {}),
    });
    this.#cpu = new CpuMeter(() => pool.resourceUsage());
    this.metrics = createMetricsRegistry({ region: config.region, node: config.nodeId });
    registerNodeMetrics(this.metrics, {
      counts: () => this.#counts(),
      transferTotals: () => this.#traffic.totals([...this.#openRooms.values()].flatMap((r) => [...r.peers.values()].flatMap((p) => [...p.transports.values()]))),
      workerUsage: () => this.#pool.resourceUsage(),
      linkStats: () => this.linkStats(),
    });
  }

  static async start(config: Config, log: Logger, deps: RegionNodeDeps = {}): Promise<RegionNode> {
    // Unreadable certificate files are a configuration error: found before anything starts.
    const creds = relayCredentials(config.relay.tls);
    if (config.http.tls.cert) readTlsFiles(config.http.tls);
    // What other hosts are told: never a wildcard, never loopback for a node that listens beyond it.
    const advertised = advertisedAddresses(config, os.networkInterfaces());
    if (advertised.derived) {
      const d = advertised.derived;
      log.info({ address: d.address, interface: d.interface, for: d.keys }, `listening on a wildcard address: advertising ${d.address} (this host's only one); set ${d.keys.join(', ')} to override`);
    }
    // Consul shares the record with every host; a loopback address in it reaches nobody there.
    if (config.discovery.backend === 'consul' && advertised.loopback.length > 0) {
      log.warn({ keys: advertised.loopback }, `${advertised.loopback.join(', ')} on loopback: nodes and browsers on other hosts cannot reach this node there`);
    }
    const access = await RoomAccess.create(config.auth);
    if (access.open) log.info('rooms are open: no auth.jwtSecret, jwtPublicKeyFile or jwtJwksUrl is set');
    const pool = await WorkerPool.create(
      {
        size: workerCount(config),
        rtcPort: config.media.rtcPort,
        listenIp: config.media.listenIp,
        announcedAddress: advertised.announcedAddress,
        logLevel: config.media.workerLogLevel,
        workerBin: config.media.workerBin,
      },
      log,
      deps.stopping,
    );
    // Router capabilities depend only on the codec list, so one throwaway router answers
    // getRouterRtpCapabilities before a client has picked a room.
    let caps: types.RtpCapabilities;
    try {
      const router = await pool.pick().worker.createRouter({ mediaCodecs: MEDIA_CODECS });
      caps = withoutDroppedExtensions(router.rtpCapabilities);
      router.close();
    } catch (err) {
      pool.close();
      throw err;
    }
    const node = new RegionNode(config, log, pool, caps, deps.registry ?? new LocalRegistry(), creds, access, advertised);
    try {
      node.#http = await NodeHttp.listen(config.http, config.limits, node.#httpHost(), log);
      node.#port = node.#http.port;
      log.info({ url: node.pageUrl, ws: node.wsUrl, relay: node.relayAddress, region: node.region, node: node.nodeId }, 'region node listening');
      node.#relay = await RelayServer.start(
        {
          host: config.relay.host,
          port: config.relay.port,
          secret: config.relay.secret,
          ...(node.#relayCredentials ? { credentials: node.#relayCredentials.server } : {}),
        },
        { acceptLink: (room, remote, stream) => node.#acceptLink(room, remote, stream) },
        log,
      );
      await node.registry.registerNode(node.record());
      // Load reports feed the router's "least loaded" choice (Consul: with the TTL check); the
      // CPU figure is the use over the period between two reports.
      await node.#cpu.read();
      node.#loadTimer = node.#cpu.every(LOAD_REPORT_MS, () => (node.#closed ? Promise.resolve() : node.registry.updateNode(node.nodeId, { load: node.record().load })), log);
    } catch (err) {
      node.close();
      throw err;
    }
    return node;
  }

  get port(): number {
    return this.#port;
  }

  get relayAddress(): string {
    if (this.config.relay.publicAddress) return this.config.relay.publicAddress;
    return `${urlHost(this.#advertised.relayHost)}:${this.#relay?.port ?? this.config.relay.port}`;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Relay link calls this node refused, by gRPC status name (counts only grow). */
  relayRefusals(): Readonly<Record<string, number>> {
    return this.#relay?.refusals() ?? {};
  }

  get lastN(): number {
    return this.config.rooms.lastN;
  }

  get wsUrl(): string {
    if (this.config.http.publicWsUrl) return this.config.http.publicWsUrl;
    return `${this.#http?.secure ? 'wss' : 'ws'}://${urlHost(this.#advertised.httpHost)}:${this.#port}/ws`;
  }

  /** The page people open to join through this node. */
  get pageUrl(): string {
    return pageUrlFor(this.wsUrl);
  }

  /** Serves the certificate files' current contents to new connections (SIGHUP). */
  reloadTls(reason = 'SIGHUP'): boolean {
    return this.#http?.reload(reason) ?? false;
  }

  get limits(): SessionHost['limits'] {
    return this.config.limits;
  }

  get transportOptions(): SessionHost['transportOptions'] {
    const m = this.config.media;
    return {
      initialAvailableOutgoingBitrate: m.initialOutgoingBitrate,
      maxIncomingBitrate: m.maxIncomingBitrate,
      peerDisconnectTimeoutSec: m.peerDisconnectTimeoutSec,
      plainTransports: m.plainTransports,
      listenIp: m.listenIp,
      announcedAddress: this.#advertised.announcedAddress,
    };
  }

  get pool(): WorkerPool {
    return this.#pool;
  }

  rooms(): ReadonlyMap<RoomId, Room> {
    return this.#openRooms;
  }

  checkAccess(room: string, token: string | undefined): Promise<{ name?: string }> {
    return this.#access.check(room, token);
  }

  iceServers(peerId: string): IceServer[] {
    return iceServersFor(this.config.turn, peerId, Date.now());
  }

  routerRtpCapabilities(): types.RtpCapabilities {
    return this.#capsRouterCaps;
  }


  /** Concurrent joins of a new room share one creation, so a room never gets two routers. */
  getOrCreateRoom(name: string): Promise<Room> {
    if (this.#closed) return Promise.reject(new InvalidStateError('node is shutting down'));
    const parsed = RoomName.safeParse(name);
    if (!parsed.success) return Promise.reject(new BadRequestError('bad room name'));
    const id = asRoomId(parsed.data);
    const pending = this.#rooms.get(id);
    if (pending) return pending;
    const relay = {
      self: this.nodeId,
      region: this.region,
      registry: this.registry,
      dialer: this.#dialer,
      listenIp: this.config.media.listenIp,
      mediaAddress: this.#advertised.pipeAddress,
      pipeGraceMs: this.config.relay.pipeGraceSec * 1000,
    };
    const created = Room.create(id, this.#pool, this.#log, { maxPeers: this.config.limits.maxPeersPerRoom, lastN: this.config.rooms.lastN, relay }).then(
      async (room) => {
        this.#openRooms.set(id, room);
        this.#traffic.watch(room.router);
        room.once('@close', () => {
          if (this.#openRooms.get(id) === room) this.#openRooms.delete(id);
          if (this.#rooms.get(id) === created) this.#rooms.delete(id);
          this.registry.removeRoomPresence(id, this.nodeId).catch((err: Error) => this.#log.warn({ err, room: id }, 'cannot remove room presence'));
        });
        // Presence first, then the watch: the other nodes hosting the room dial us or we them.
        await this.registry.addRoomPresence(id, this.nodeId).catch((err: Error) => this.#log.error({ err, room: id }, 'cannot register room presence'));
        room.startCascade();
        return room;
      },
      (err: unknown) => {
        this.#rooms.delete(id);
        throw err;
      },
    );
    this.#rooms.set(id, created);
    return created;
  }

  /** This node as the catalog lists it. */
  record(): NodeRecord {
    const c = this.#counts();
    return {
      id: this.nodeId,
      region: this.region,
      latitude: this.config.latitude,
      longitude: this.config.longitude,
      wsUrl: this.wsUrl,
      relayAddress: this.relayAddress,
      mediaAddress: this.#advertised.pipeAddress,
      load: { peers: c.peers, rooms: c.rooms, consumers: c.consumers, cpu: this.#cpu.load },
      draining: this.#draining,
      pid: process.pid,
    };
  }

  #acceptLink(roomName: string, remote: string, stream: Parameters<Room['acceptLink']>[1]): string | null {
    const room = this.#openRooms.get(asRoomId(roomName));
    if (!room || room.closed) return `room ${roomName.slice(0, 128)} is not on ${this.nodeId}`;
    room.acceptLink(asNodeId(remote), stream);
    return null;
  }

  /** Stops the relay server alone (its links break; the rest of the node runs on): what a
   *  relay crash looks like to the other nodes. */
  stopRelay(): void {
    this.#relay?.close();
  }

  /** Stats of every relay link on this node, by room. */
  async linkStats(): Promise<{ room: string; links: LinkStats[] }[]> {
    const out = [];
    for (const room of this.#openRooms.values()) {
      out.push({ room: room.id, links: await Promise.all(room.cascade.links().map((l) => l.stats())) });
    }
    return out;
  }

  async objectCounts(): Promise<NodeObjects> {
    const c = this.#counts();
    const relay = { links: 0, linksUp: 0, incomingPipes: 0, outgoingPipes: 0 };
    for (const room of this.#openRooms.values()) {
      for (const link of room.cascade.links()) {
        relay.links++;
        if (link.up) relay.linksUp++;
        relay.incomingPipes += link.incomingPipes().length;
        relay.outgoingPipes += link.outgoingPipes().length;
      }
    }
    return { nodeId: this.nodeId, ...c, roomEntries: this.#rooms.size, sockets: this.#http?.sockets ?? 0, ...relay, workers: await this.#pool.objectCounts() };
  }

  health(): HealthReport {
    return {
      ok: !this.#closed && this.#pool.slots.some((s) => !s.worker.closed),
      region: this.region,
      nodeId: this.nodeId,
      draining: this.#draining,
      ...this.#counts(),
      workers: this.#pool.slots.map((s) => ({ index: s.index, pid: s.worker.pid, routers: s.routers, alive: !s.worker.closed })),
      crypto: { srtp: this.#pool.srtpCrypto },
    };
  }

  /** Stop taking joins; resolves when every room has emptied or `timeoutMs` has passed. */
  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    // Before any await: the signal that began the drain may have reached the workers too.
    this.#pool.stopping();
    await this.registry.updateNode(this.nodeId, { draining: true }).catch(() => undefined);
    this.#log.info({ rooms: this.#openRooms.size, timeoutMs }, 'draining');
    const deadline = Date.now() + timeoutMs;
    while (this.#openRooms.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#loadTimer);
    for (const room of this.#openRooms.values()) room.close();
    this.#http?.close();
    this.#relay?.close();
    this.#dialer.close();
    this.#pool.close();
    this.registry.deregisterNode(this.nodeId).catch(() => undefined);
    this.#log.info('region node closed');
  }

  /** What the HTTP/WebSocket server needs of the node. */
  #httpHost(): NodeHttpHost {
    return {
      region: this.region,
      nodeId: this.nodeId,
      metrics: this.metrics,
      health: () => this.health(),
      openSession: (socket, ip) => new Session(this, socket, this.#log.child({ ip })),
    };
  }

  #counts(): { rooms: number; peers: number; producers: number; consumers: number } {
    const sum = { rooms: this.#openRooms.size, peers: 0, producers: 0, consumers: 0 };
    for (const room of this.#openRooms.values()) {
      const c = room.counts();
      sum.peers += c.peers;
      sum.producers += c.producers;
      sum.consumers += c.consumers;
    }
    return sum;
  }

}
