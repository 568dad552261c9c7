import { createRequire } from 'node:module';
import os from 'node:os';
import type { types } from 'mediasoup';
import type { HttpResponse, WebSocket } from 'uWebSockets.js';
import { advertisedAddresses, pageUrlFor, urlHost, type Advertised } from '../core/addresses.js';
import { HttpListener, routeTable } from '../core/HttpListener.js';
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
import { StaticFiles } from './StaticFiles.js';
import { WorkerPool, type WorkerObjects } from './WorkerPool.js';
import { CpuMeter, LOAD_REPORT_MS } from './CpuLoad.js';
import { MEDIA_CODECS } from './mediaCodecs.js';
import { LocalRegistry } from '../core/registry/LocalRegistry.js';
import type { NodeRecord, Registry } from '../core/registry/Registry.js';

import { Cascade } from '../relay/Cascade.js';
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

// uWebSockets.js ships as CommonJS with a native addon; load it through require so the
// native binary (not the package's pure-JS fallback) is what runs.
const uWS = createRequire(import.meta.url)('uWebSockets.js') as typeof import('uWebSockets.js');

interface SocketData {
  session: Session | undefined;
  ip: string;
  /** Set by open(): after close, a send on the uWS socket would throw. */
  markClosed: () => void;
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
  readonly #sockets = new Set<WebSocket<SocketData>>();
  readonly #static: StaticFiles;
  readonly #capsRouterCaps: types.RtpCapabilities;
  readonly #transfer = { foldedIn: 0, foldedOut: 0, live: new Map<string, { in: number; out: number }>() };
  #http: HttpListener | undefined;
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
    this.#static = new StaticFiles(config.http.staticDir);
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
      transferTotals: () => this.#transferTotals(),
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
      await node.#listen();
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

  webRtcServerFor(room: Room): types.WebRtcServer {
    return this.#pool.slots[room.workerIndex]!.webRtcServer;
  }

  /** Concurrent joins of a new room share one creation, so a room never gets two routers. */
  getOrCreateRoom(name: string): Promise<Room> {
    if (this.#closed) return Promise.reject(new InvalidStateError('node is shutting down'));
    const parsed = RoomName.safeParse(name);
    if (!parsed.success) return Promise.reject(new BadRequestError('bad room name'));
    const id = asRoomId(parsed.data);
    const pending = this.#rooms.get(id);
    if (pending) return pending;
    const created = Room.create(id, this.#pool, this.#log, { maxPeers: this.config.limits.maxPeersPerRoom, lastN: this.config.rooms.lastN }).then(
      async (room) => {
        this.#openRooms.set(id, room);
        this.#watchTransfer(room);
        room.attachCascade(this.#makeCascade(room));
        room.once('@close', () => {
          if (this.#openRooms.get(id) === room) this.#openRooms.delete(id);
          if (this.#rooms.get(id) === created) this.#rooms.delete(id);
          this.registry.removeRoomPresence(id, this.nodeId).catch((err: Error) => this.#log.warn({ err, room: id }, 'cannot remove room presence'));
        });
        // Presence first, then the watch: the other nodes hosting the room dial us or we them.
        await this.registry.addRoomPresence(id, this.nodeId).catch((err: Error) => this.#log.error({ err, room: id }, 'cannot register room presence'));
        room.cascade?.start();
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

  #makeCascade(room: Room): Cascade {
    const media = this.config.media;
    return new Cascade({
      room: room.id,
      self: this.nodeId,
      registry: this.registry,
      dialer: this.#dialer,
      log: this.#log.child({ room: room.id }),
      link: {
        localRegion: this.region,
        router: room.router,
        listenIp: media.listenIp,
        mediaAddress: this.#advertised.pipeAddress,
        pipeGraceMs: this.config.relay.pipeGraceSec * 1000,
        snapshot: () => ({
          activeSpeaker: room.activeSpeaker,
          peers: [...room.peers.values()].map((p) => p.info),
          producers: [...room.peers.values()].flatMap((p) =>
            [...p.producers.values()].filter((pr) => !pr.closed).map((pr) => ({ producerId: pr.id, peerId: p.id, kind: pr.kind, source: String(pr.appData.source ?? pr.kind), paused: pr.paused, layerHeights: (pr.appData.layerHeights as number[] | undefined) ?? [] })),
          ),
        }),
        localProducer: (producerId) => {
          for (const p of room.peers.values()) {
            const pr = p.producers.get(producerId);
            if (pr) return pr;
          }
          return undefined;
        },
      },
    });
  }

  #acceptLink(roomName: string, remote: string, stream: Parameters<Cascade['accept']>[1]): string | null {
    const room = this.#openRooms.get(asRoomId(roomName));
    if (!room?.cascade || room.closed) return `room ${roomName.slice(0, 128)} is not on ${this.nodeId}`;
    room.cascade.accept(asNodeId(remote), stream);
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
      out.push({ room: room.id, links: await Promise.all((room.cascade?.links() ?? []).map((l) => l.stats())) });
    }
    return out;
  }

  async objectCounts(): Promise<NodeObjects> {
    const c = this.#counts();
    const relay = { links: 0, linksUp: 0, incomingPipes: 0, outgoingPipes: 0 };
    for (const room of this.#openRooms.values()) {
      for (const link of room.cascade?.links() ?? []) {
        relay.links++;
        if (link.up) relay.linksUp++;
        relay.incomingPipes += link.incomingPipes().length;
        relay.outgoingPipes += link.outgoingPipes().length;
      }
    }
    return { nodeId: this.nodeId, ...c, roomEntries: this.#rooms.size, sockets: this.#sockets.size, ...relay, workers: await this.#pool.objectCounts() };
  }

  health(): HealthReport {
    return {
      ok: !this.#closed && this.#pool.slots.some((s) => !s.worker.closed),
      region: this.region,
      nodeId: this.nodeId,
      draining: this.#draining,
      ...this.#counts(),
      workers: this.#pool.slots.map((s) => ({ index: s.index, pid: s.worker.pid, routers: s.routers, alive: !s.worker.closed })),
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
    for (const ws of this.#sockets) ws.end(1001, 'node shutting down');
    this.#relay?.close();
    this.#dialer.close();
    this.#pool.close();
    this.registry.deregisterNode(this.nodeId).catch(() => undefined);
    this.#log.info('region node closed');
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

  #watchTransfer(room: Room): void {
    const t = this.#transfer;
    room.router.observer.on('newtransport', (transport) => {
      transport.observer.once('close', () => {
        const last = t.live.get(transport.id);
        t.live.delete(transport.id);
        if (last) {
          t.foldedIn += last.in;
          t.foldedOut += last.out;
        }
      });
    });
  }

  async #transferTotals(): Promise<{ bytesIn: number; bytesOut: number }> {
    const t = this.#transfer;
    const reads: Promise<void>[] = [];
    for (const room of this.#openRooms.values()) {
      for (const peer of room.peers.values()) {
        for (const transport of peer.transports.values()) {
          reads.push(
            (transport.getStats() as Promise<{ bytesReceived: number; bytesSent: number }[]>).then(
              ([s]) => {
                if (s && !transport.closed) t.live.set(transport.id, { in: s.bytesReceived, out: s.bytesSent });
              },
              () => undefined,
            ),
          );
        }
      }
    }
    await Promise.all(reads);
    let bytesIn = t.foldedIn;
    let bytesOut = t.foldedOut;
    for (const v of t.live.values()) {
      bytesIn += v.in;
      bytesOut += v.out;
    }
    return { bytesIn, bytesOut };
  }

  async #listen(): Promise<void> {
    // Recorded once, replayed onto each app a certificate reload makes (core/HttpListener.ts).
    const { app, replay } = routeTable();
    const limits = this.config.limits;

    app.ws<SocketData>('/ws', {
      compression: uWS.DISABLED,
      maxPayloadLength: limits.maxMessageBytes,
      idleTimeout: limits.idleTimeoutSec,
      maxBackpressure: 4 * 1024 * 1024,
      closeOnBackpressureLimit: 1,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
        res.upgrade<SocketData>(
          { session: undefined, ip, markClosed: () => undefined },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws: WebSocket<SocketData>) => {
        const data = ws.getUserData();
        let open = true;
        const session = new Session(
          this,
          {
            send: (text) => {
              if (!open) return false;
              return ws.send(text, false) !== 2;
            },
            close: (code, reason) => {
              if (!open) return;
              open = false;
              ws.end(code, reason);
            },
          },
          this.#log.child({ ip: data.ip }),
        );
        data.session = session;
        data.markClosed = () => {
          open = false;
        };
        this.#sockets.add(ws);
      },
      message: (ws, message, isBinary) => {
        ws.getUserData().session?.onMessage(message, isBinary);
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        data.markClosed();
        this.#sockets.delete(ws);
        this.#log.debug({ code }, 'socket closed');
        data.session?.onClose();
      },
    });

    app.get('/healthz', (res) => {
      const h = this.health();
      json(res, h.ok ? '200 OK' : '503 Service Unavailable', h);
    });

    app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      this.metrics.metrics().then(
        (text) => {
          if (aborted) return;
          res.cork(() => res.writeHeader('content-type', this.metrics.contentType).end(text));
        },
        (err: Error) => {
          this.#log.error({ err }, 'metrics failed');
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        },
      );
    });

    // Until the geo-router exists, a region node answers routing for itself.
    app.get('/api/route', (res, req) => {
      const room = req.getQuery('room') ?? '';
      if (!RoomName.safeParse(room).success) {
        json(res, '400 Bad Request', { error: { code: 'bad_request', message: 'room: letters, digits, _ . ~ - only (1-128)' } });
        return;
      }
      json(res, '200 OK', { region: this.region, nodeId: this.nodeId, wsUrl: this.wsUrl });
    });

    app.get('/ping', (res) => json(res, '200 OK', { region: this.region, nodeId: this.nodeId, now: Date.now() }));

    app.get('/*', (res, req) => {
      const file = this.#static.get(req.getUrl());
      if (!file) {
        res.cork(() => res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('not found'));
        return;
      }
      res.cork(() => res.writeHeader('content-type', file.type).writeHeader('cache-control', 'no-cache').end(file.body));
    });

    app.any('/*', (res) => {
      res.cork(() => res.writeStatus('405 Method Not Allowed').end());
    });

    const { host, port, tls } = this.config.http;
    this.#http = await HttpListener.listen({ host, port, tls, routes: replay, log: this.#log });
    this.#port = this.#http.port;
    this.#log.info({ url: this.pageUrl, ws: this.wsUrl, relay: this.relayAddress, region: this.region, node: this.nodeId }, 'region node listening');
  }
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body));
  });
}
