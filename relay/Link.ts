import type { types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { NodeId, RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { IncomingPipes } from './IncomingPipes.js';
import { LinkRtt } from './LinkRtt.js';
import { OutgoingPipe } from './OutgoingPipe.js';
import type { HelloMsg, LinkMessage, LinkStream, PeerInfoMsg, ProducerInfoMsg } from './proto.js';

export interface LinkOptions {
  room: RoomId;
  localNode: NodeId;
  localRegion: string;
  remoteNode: NodeId;
  router: types.Router;
  listenIp: string;
  /** The IP the remote node sends our pipe's media to. */
  mediaAddress: string;
  pipeGraceMs: number;
  /** This node's side of the room, sent in Hello. */
  snapshot(): { peers: PeerInfoMsg[]; producers: ProducerInfoMsg[]; activeSpeaker: string | null };
  /** A local producer the remote node may ask for (never a pipe producer: no re-relaying). */
  localProducer(producerId: string): types.Producer | undefined;
  log: Logger;
}

export type LinkEvents = {
  /** Hello arrived, the pipe is connected: remote peers and producers are known. */
  up: [];
  remotePeerJoined: [PeerInfoMsg];
  remotePeerLeft: [peerId: string];
  remoteProducerAdded: [ProducerInfoMsg];
  remoteProducerClosed: [producerId: string];
  remoteActiveSpeaker: [peerId: string];
  remoteChat: [{ peerId: string; displayName: string; text: string; ts: number }];
  /**
   * Origin side: what the remote node needs of a local producer changed (a layer mask, see
   * Demand): the mask it asked for; every layer while a new pipe has no Demand yet (an older
   * node never sends one); 0 when it needs nothing or the pipe closed.
   */
  remoteDemand: [producerId: string, layers: number];
  /** The path's round-trip time changed (ms; see LinkRtt). */
  rtt: [rttMs: number];
  /** Internal: the link closed itself (stream ended or failed, pipe transport gone). */
  '@close': [reason: string];
};

export interface LinkStats {
  remoteNode: string;
  state: 'connecting' | 'up' | 'closed';
  incomingPipes: number;
  outgoingPipes: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** The path's round-trip time (ms) measured over the link's stream; 0 until measured. */
  rttMs: number;
  /** Demand messages sent (far side, coalesced) and received (origin side). */
  demandsSent: number;
  demandsReceived: number;
}

/**
 * One remote node's share of one room: a PipeTransport pair (ours here, theirs there, SRTP),
 * the gRPC stream that carries the room's events, the remote peers and producers, the pipe
 * producers that bring remote media here (IncomingPipes, counted by how many local consumers
 * use them) and the pipes that send local media there (OutgoingPipe). A producer crosses the
 * link at most once, whatever the number of watchers on the far side, and only as much of it
 * as they need: each side tells the other its watchers' demand (a layer mask per producer);
 * the origin pauses a pipe nobody watches and filters a simulcast pipe to the layers asked for.
 */
export class Link extends EnhancedEventEmitter<LinkEvents> {
  readonly remoteNode: NodeId;
  readonly #o: LinkOptions;
  readonly #stream: LinkStream;
  /** Ours once made; the remote Hello may arrive before. */
  readonly #transportReady: Promise<types.PipeTransport>;
  #transport: types.PipeTransport | undefined;
  readonly #remotePeers = new Map<string, PeerInfoMsg>();
  readonly #remoteProducers = new Map<string, ProducerInfoMsg>();
  readonly #incoming: IncomingPipes;
  readonly #outgoing = new Map<string, OutgoingPipe>();
  #state: LinkStats['state'] = 'connecting';
  /** Messages that follow the remote Hello while our pipe is still connecting. */
  #early: LinkMessage[] | undefined;
  /** What the room said after the snapshot, until our Hello is on the stream: sent after it, in order. */
  #outbox: LinkMessage[] | undefined = [];
  readonly #demands = { sent: 0, received: 0 };
  readonly #rtt = new LinkRtt({
    sendPing: (sentMs) => this.#send({ ping: { sentMs } }),
    sendPong: (sentMs) => this.#send({ pong: { sentMs } }),
    changed: (ms) => this.safeEmit('rtt', ms),
  });

  /**
   * Takes the room's snapshot now, then makes our PipeTransport and sends Hello with it.
   * The owner must register the link in the same synchronous step (before anything awaits),
   * so that every room event after the snapshot is told to this link: said before Hello is
   * out, it waits in the outbox and follows Hello. A snapshot taken later than registration,
   * or registration after an await, loses what happens in between (issue #11 item 8).
   */
  constructor(o: LinkOptions, stream: LinkStream) {
    super(o.log);
    this.#o = o;
    this.remoteNode = o.remoteNode;
    this.#stream = stream;
    this.#incoming = new IncomingPipes({
      remoteNode: o.remoteNode,
      pipeGraceMs: o.pipeGraceMs,
      log: o.log,
      send: (msg) => {
        if ('demand' in msg) this.#demands.sent++;
        this.#send(msg);
      },
      transport: () => this.#transport!,
      remoteProducer: (id) => this.#remoteProducers.get(id),
    });
    stream.on('data', (msg: LinkMessage) => this.#onMessage(msg));
    stream.on('error', (err: Error) => this.#closeFor(`stream error: ${err.message}`));
    stream.on('end', () => this.#closeFor('stream ended'));
    stream.on('close', () => this.#closeFor('stream closed'));
    // A server-side stream whose call is cancelled (peer gone, server shut down) says so here.
    stream.on('cancelled', () => this.#closeFor('stream cancelled'));
    if (stream.destroyed) queueMicrotask(() => this.#closeFor('stream already closed'));
    const snap = o.snapshot();
    this.#transportReady = o.router.createPipeTransport({
      listenInfo: { protocol: 'udp', ip: o.listenIp, ...(o.mediaAddress !== o.listenIp ? { announcedAddress: o.mediaAddress } : {}) },
      enableSrtp: true,
      // RTX on the pipe: a packet lost between nodes is asked for again (NACK) by the far
      // node and resent by the origin; without it a pipe forwards no NACK at all.
      enableRtx: true,
    });
    this.#transportReady.then(
      (transport) => {
        if (this.closed) {
          transport.close();
          return;
        }
        this.#transport = transport;
        transport.on('routerclose', () => this.#closeFor('router closed'));
        transport.observer.once('close', () => this.#closeFor('pipe transport closed'));
        const srtp = transport.srtpParameters!;
        const outbox = this.#outbox ?? [];
        this.#outbox = undefined;
        this.#send({
          hello: {
            room: o.room,
            nodeId: o.localNode,
            region: o.localRegion,
            ip: o.mediaAddress,
            port: transport.tuple.localPort,
            srtpCryptoSuite: srtp.cryptoSuite,
            srtpKeyBase64: srtp.keyBase64,
            peers: snap.peers,
            producers: snap.producers,
            activeSpeaker: snap.activeSpeaker ?? '',
          },
        });
        for (const msg of outbox) this.#send(msg);
      },
      (err: Error) => this.#closeFor(`cannot create pipe transport: ${err.message}`),
    );
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  /** The path's round-trip time in ms (0 until the first pong, a few ms after the link is up). */
  get rttMs(): number {
    return this.#rtt.rttMs;
  }

  remotePeers(): PeerInfoMsg[] {
    return [...this.#remotePeers.values()];
  }

  remoteProducers(): ProducerInfoMsg[] {
    return [...this.#remoteProducers.values()];
  }

  /**
   * Far side: the spatial layers this node's watchers need of a remote producer (bit i = layer
   * i; 0 = no resumed watcher). Sent to the origin when it changes, at most once per
   * DEMAND_INTERVAL_MS per producer (the latest value wins), and again whenever a new pipe for
   * the producer is offered. Not a mask (negative, fractional, above 2^32): ignored.
   */
  setDemand(producerId: string, layers: number): void {
    if (this.closed) return;
    if (!Number.isInteger(layers) || layers < 0 || layers > 0xffffffff) {
      this.#o.log.debug({ producer: producerId, layers }, 'setDemand: not a layer mask, ignored');
      return;
    }
    this.#incoming.setDemand(producerId, layers);
  }

  /** Origin side: the mask the remote node asked for a piped producer (undefined: not piped, or no Demand yet). */
  remoteDemand(producerId: string): number | undefined {
    return this.#outgoing.get(producerId)?.demand;
  }

  /** Producer ids this node sends to the remote node (one pipe consumer each). */
  outgoingPipes(): string[] {
    return [...this.#outgoing.keys()];
  }

  incomingPipes(): string[] {
    return this.#incoming.ids();
  }

  /** Ours, once made (undefined while the link is being set up). */
  get pipeTransport(): types.PipeTransport | undefined {
    return this.#transport;
  }

  // ---- what the local room tells the remote node ----
  announcePeerJoined(peer: PeerInfoMsg): void { this.#send({ peerJoined: peer }); }
  announcePeerLeft(peerId: string): void { this.#send({ peerLeft: { peerId } }); }
  announceProducer(p: ProducerInfoMsg): void { this.#send({ producerAdded: p }); }
  announceProducerClosed(producerId: string): void { this.#send({ producerClosed: { producerId } }); }
  announceProducerPaused(producerId: string, paused: boolean): void {
    this.#send(paused ? { producerPaused: { producerId } } : { producerResumed: { producerId } });
  }
  announceActiveSpeaker(peerId: string): void { this.#send({ activeSpeaker: { peerId } }); }
  announceChat(chat: { peerId: string; displayName: string; text: string; ts: number }): void { this.#send({ chat }); }

  /**
   * The local pipe producer for a remote producer, asking the origin for it on first use.
   * Concurrent calls share one request; the caller must `retain` it while it has consumers.
   */
  pipe(producerId: string): Promise<types.Producer> {
    return this.#incoming.pipe(producerId);
  }

  retain(producerId: string): void {
    this.#incoming.retain(producerId);
  }

  /** A local consumer of the pipe producer is gone; the last one starts the grace period. */
  release(producerId: string): void {
    this.#incoming.release(producerId);
  }

  async stats(): Promise<LinkStats> {
    const [inc, ...outs] = await Promise.all([this.#incoming.stats(), ...[...this.#outgoing.values()].map((p) => p.stats())]);
    const out = outs.reduce((sum, s) => ({ bytes: sum.bytes + s.bytes, packets: sum.packets + s.packets }), { bytes: 0, packets: 0 });
    return {
      remoteNode: this.remoteNode,
      state: this.#state,
      incomingPipes: this.#incoming.size,
      outgoingPipes: this.#outgoing.size,
      bytesIn: inc!.bytes,
      bytesOut: out.bytes,
      packetsIn: inc!.packets,
      packetsOut: out.packets,
      rttMs: this.#rtt.rttMs,
      demandsSent: this.#demands.sent,
      demandsReceived: this.#demands.received,
    };
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    this.#closeFor('closed');
  }

  #closeFor(reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#rtt.close();
    // Children first: local consumers of remote media see their producers close (and the
    // browsers get producerClosed); then the pipes that fed the remote node; then the stream.
    this.#incoming.close();
    for (const p of [...this.#outgoing.values()]) p.close(); // each leaves the map, telling its demand is gone
    this.#outgoing.clear();
    const peers = [...this.#remotePeers.keys()];
    this.#remotePeers.clear();
    this.#remoteProducers.clear();
    this.#outbox = undefined;
    this.#transport?.close(); // not made yet: closed when it comes
    try {
      if ('cancel' in this.#stream) this.#stream.cancel();
      else this.#stream.end();
    } catch {
      // The stream is already gone.
    }
    this.#o.log.info({ remote: this.remoteNode, reason }, 'link closed');
    for (const peerId of peers) this.safeEmit('remotePeerLeft', peerId);
    this.safeEmit('@close', reason);
  }

  #send(msg: LinkMessage): void {
    if (this.#state === 'closed') return;
    if (this.#outbox) {
      this.#outbox.push(msg);
      return;
    }
    try {
      this.#stream.write(msg);
    } catch (err) {
      this.#closeFor(`write failed: ${(err as Error).message}`);
    }
  }

  #onMessage(msg: LinkMessage): void {
    try {
      this.#dispatch(msg);
    } catch (err) {
      this.#o.log.warn({ err, remote: this.remoteNode }, 'bad link message');
    }
  }

  #dispatch(msg: LinkMessage): void {
    if (this.#state === 'closed') return;
    if ('hello' in msg && msg.hello) return this.#onHello(msg.hello);
    // Answered whatever our state: the other end only pings once it is up, so after its Hello.
    if ('ping' in msg && msg.ping) return this.#rtt.onPing(msg.ping.sentMs);
    if ('pong' in msg && msg.pong) return this.#rtt.onPong(msg.pong.sentMs);
    if (this.#state !== 'up') {
      if (!this.#early) throw new Error('message before hello');
      this.#early.push(msg);
      return;
    }
    if ('peerJoined' in msg && msg.peerJoined) {
      this.#remotePeers.set(msg.peerJoined.peerId, msg.peerJoined);
      this.safeEmit('remotePeerJoined', msg.peerJoined);
    } else if ('peerLeft' in msg && msg.peerLeft) {
      if (this.#remotePeers.delete(msg.peerLeft.peerId)) this.safeEmit('remotePeerLeft', msg.peerLeft.peerId);
    } else if ('producerAdded' in msg && msg.producerAdded) {
      this.#remoteProducers.set(msg.producerAdded.producerId, msg.producerAdded);
      this.safeEmit('remoteProducerAdded', msg.producerAdded);
    } else if ('producerClosed' in msg && msg.producerClosed) {
      const id = msg.producerClosed.producerId;
      this.#remoteProducers.delete(id);
      this.#incoming.onProducerClosed(id);
      this.safeEmit('remoteProducerClosed', id);
    } else if ('producerPaused' in msg && msg.producerPaused) {
      this.#setRemotePaused(msg.producerPaused.producerId, true);
    } else if ('producerResumed' in msg && msg.producerResumed) {
      this.#setRemotePaused(msg.producerResumed.producerId, false);
    } else if ('pipeRequest' in msg && msg.pipeRequest) {
      this.#onPipeRequest(msg.pipeRequest.producerId);
    } else if ('pipeOffer' in msg && msg.pipeOffer) {
      this.#incoming.onOffer(msg.pipeOffer);
    } else if ('pipeClose' in msg && msg.pipeClose) {
      this.#outgoing.get(msg.pipeClose.producerId)?.close();
    } else if ('demand' in msg && msg.demand) {
      this.#demands.received++;
      const pipe = this.#outgoing.get(msg.demand.producerId);
      // Not piped (closed meanwhile, or never asked for): the next pipe's offer makes the far
      // node send its demand again.
      if (!pipe) this.#o.log.debug({ producer: msg.demand.producerId, remote: this.remoteNode }, 'demand for a producer not piped, ignored');
      else if (!pipe.setDemand(msg.demand.layers)) this.#o.log.debug({ producer: pipe.producerId, layers: msg.demand.layers }, 'bad demand, ignored');
    } else if ('pipeError' in msg && msg.pipeError) {
      this.#incoming.onPipeError(msg.pipeError.producerId, msg.pipeError.message);
    } else if ('activeSpeaker' in msg && msg.activeSpeaker) {
      this.safeEmit('remoteActiveSpeaker', msg.activeSpeaker.peerId);
    } else if ('chat' in msg && msg.chat) {
      this.safeEmit('remoteChat', msg.chat);
    }
  }

  #onHello(hello: HelloMsg): void {
    if (this.#state !== 'connecting' || this.#early) throw new Error('second hello');
    this.#early = [];
    if (hello.nodeId !== this.remoteNode || hello.room !== this.#o.room) {
      this.#closeFor(`hello from ${hello.nodeId}/${hello.room}, expected ${this.remoteNode}/${this.#o.room}`);
      return;
    }
    this.#transportReady
      .then((transport) =>
        transport.connect({
          ip: hello.ip,
          port: hello.port,
          srtpParameters: { cryptoSuite: hello.srtpCryptoSuite as types.SrtpCryptoSuite, keyBase64: hello.srtpKeyBase64 },
        }),
      )
      .then(
        () => {
          if (this.closed) return;
          this.#state = 'up';
          for (const p of hello.peers) this.#remotePeers.set(p.peerId, p);
          for (const p of hello.producers) this.#remoteProducers.set(p.producerId, p);
          this.safeEmit('up');
          this.#rtt.start();
          for (const p of hello.peers) this.safeEmit('remotePeerJoined', p);
          for (const p of hello.producers) this.safeEmit('remoteProducerAdded', p);
          if (hello.activeSpeaker) this.safeEmit('remoteActiveSpeaker', hello.activeSpeaker);
          const early = this.#early ?? [];
          this.#early = undefined;
          for (const m of early) this.#onMessage(m);
        },
        (err: Error) => this.#closeFor(`pipe connect failed: ${err.message}`),
      );
  }

  #setRemotePaused(producerId: string, paused: boolean): void {
    const info = this.#remoteProducers.get(producerId);
    if (info) info.paused = paused;
    const p = this.#incoming.producer(producerId);
    // Pausing the pipe producer makes mediasoup tell its consumers (producerpause/resume).
    if (p && !p.closed) (paused ? p.pause() : p.resume()).catch(() => undefined);
  }

  #onPipeRequest(producerId: string): void {
    const producer = this.#o.localProducer(producerId);
    if (!producer || producer.closed) {
      this.#send({ pipeError: { producerId, message: 'no such local producer' } });
      return;
    }
    // The far side lost its pipe producer and asks again: start over.
    this.#outgoing.get(producerId)?.close();
    // Pipe requests and offers are handled only once the link is up, so our transport exists.
    OutgoingPipe.open({
      transport: this.#transport!,
      router: this.#o.router,
      producer,
      listenIp: this.#o.listenIp,
      log: this.#o.log,
      onDemand: (layers) => this.safeEmit('remoteDemand', producerId, layers),
    }).then(
      (pipe) => {
        if (this.closed) return pipe.close();
        this.#outgoing.get(producerId)?.close(); // a second request answered first
        this.#outgoing.set(producerId, pipe);
        pipe.once('@close', () => {
          if (this.#outgoing.get(producerId) !== pipe) return;
          this.#outgoing.delete(producerId);
          if (pipe.wanted !== 0) this.safeEmit('remoteDemand', producerId, 0);
        });
        this.#send({ pipeOffer: pipe.offer() });
        this.safeEmit('remoteDemand', producerId, pipe.wanted);
      },
      (err: Error) => this.#send({ pipeError: { producerId, message: err.message } }),
    );
  }
}
