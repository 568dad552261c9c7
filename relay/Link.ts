import type { types } from 'mediasoup';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { NodeId, RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { LinkRtt } from './LinkRtt.js';
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
  /** The far node said what its watchers of one of our producers need (bitmask of layers). */
  remoteDemand: [producerId: string, layers: number];
  /** The path's round-trip time changed (ms; see LinkRtt). */
  rtt: [rttMs: number];
  /** Internal: the link closed itself (stream ended or failed, pipe transport gone). */
  '@close': [reason: string];
};

interface IncomingPipe {
  promise: Promise<types.Producer>;
  producer?: types.Producer;
  refs: number;
  timer?: NodeJS.Timeout;
}

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
}

/**
 * One remote node's share of one room: a PipeTransport pair (ours here, theirs there, SRTP),
 * the gRPC stream that carries the room's events, the remote peers and producers, the pipe
 * producers that bring remote media here (incoming, counted by how many local consumers use
 * them) and the pipe consumers that send local media there (outgoing). A producer crosses the
 * link at most once, whatever the number of watchers on the far side.
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
  readonly #incoming = new Map<string, IncomingPipe>();
  readonly #outgoing = new Map<string, types.Consumer>();
  /** Per pipe we receive: the demand last told to the origin. Per pipe we send: the far node's. */
  readonly #toldDemand = new Map<string, number>();
  readonly #remoteDemand = new Map<string, number>();
  readonly #offers = new Map<string, { resolve: (p: types.Producer) => void; reject: (e: Error) => void }>();
  #state: LinkStats['state'] = 'connecting';
  /** Messages that follow the remote Hello while our pipe is still connecting. */
  #early: LinkMessage[] | undefined;
  /** What the room said after the snapshot, until our Hello is on the stream: sent after it, in order. */
  #outbox: LinkMessage[] | undefined = [];
  readonly #folded = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
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

  /** Producer ids this node sends to the remote node (one pipe consumer each). */
  outgoingPipes(): string[] {
    return [...this.#outgoing.keys()];
  }

  incomingPipes(): string[] {
    return [...this.#incoming.keys()];
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

  /** What our watchers of a piped producer need (bitmask of spatial layers; 0: nobody watches). */
  setDemand(producerId: string, layers: number): void {
    if (this.#toldDemand.get(producerId) === layers) return;
    this.#toldDemand.set(producerId, layers);
    this.#send({ demand: { producerId, layers } });
  }

  /** What the far node's watchers of our producer need; undefined until it said. */
  remoteDemand(producerId: string): number | undefined {
    return this.#outgoing.has(producerId) ? this.#remoteDemand.get(producerId) : undefined;
  }

  /**
   * The local pipe producer for a remote producer, asking the origin for it on first use.
   * Concurrent calls share one request; the caller must `retain` it while it has consumers.
   */
  pipe(producerId: string): Promise<types.Producer> {
    const existing = this.#incoming.get(producerId);
    if (existing) {
      if (existing.timer) clearTimeout(existing.timer);
      existing.timer = undefined;
      return existing.promise;
    }
    if (this.closed) return Promise.reject(new Error('link closed'));
    if (!this.#remoteProducers.has(producerId)) return Promise.reject(new Error(`no remote producer ${producerId}`));
    const entry: IncomingPipe = {
      refs: 0,
      promise: new Promise<types.Producer>((resolve, reject) => this.#offers.set(producerId, { resolve, reject })),
    };
    entry.promise.then(
      (p) => (entry.producer = p),
      () => this.#incoming.get(producerId) === entry && this.#incoming.delete(producerId),
    );
    this.#incoming.set(producerId, entry);
    this.#send({ pipeRequest: { producerId } });
    return entry.promise;
  }

  retain(producerId: string): void {
    const entry = this.#incoming.get(producerId);
    if (!entry) return;
    entry.refs++;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  /** A local consumer of the pipe producer is gone; the last one starts the grace period. */
  release(producerId: string): void {
    const entry = this.#incoming.get(producerId);
    if (!entry) return;
    entry.refs = Math.max(0, entry.refs - 1);
    if (entry.refs > 0 || entry.timer) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.refs > 0 || this.#incoming.get(producerId) !== entry) return;
      this.#incoming.delete(producerId);
      this.#foldProducer(entry.producer);
      entry.producer?.close();
      this.#toldDemand.delete(producerId);
      this.#send({ pipeClose: { producerId } });
      this.#o.log.debug({ producer: producerId, remote: this.remoteNode }, 'pipe closed: no watchers left');
    }, this.#o.pipeGraceMs);
    entry.timer.unref();
  }

  async stats(): Promise<LinkStats> {
    const sum = { ...this.#folded };
    const add = async (s: Promise<(types.ProducerStat | types.ConsumerStat)[]>, dir: 'In' | 'Out'): Promise<void> => {
      for (const st of await s.catch(() => [])) {
        if (st.type !== (dir === 'In' ? 'inbound-rtp' : 'outbound-rtp')) continue;
        sum[`bytes${dir}`] += st.byteCount;
        sum[`packets${dir}`] += st.packetCount;
      }
    };
    const reads: Promise<void>[] = [];
    for (const e of this.#incoming.values()) if (e.producer && !e.producer.closed) reads.push(add(e.producer.getStats(), 'In'));
    for (const c of this.#outgoing.values()) if (!c.closed) reads.push(add(c.getStats(), 'Out'));
    await Promise.all(reads);
    return { remoteNode: this.remoteNode, state: this.#state, incomingPipes: this.#incoming.size, outgoingPipes: this.#outgoing.size, ...sum, rttMs: this.#rtt.rttMs };
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
    for (const [id, offer] of this.#offers) offer.reject(new Error(`link closed before ${id} was piped`));
    this.#offers.clear();
    for (const e of this.#incoming.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.producer?.close();
    }
    this.#incoming.clear();
    for (const c of this.#outgoing.values()) c.close();
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

  #foldProducer(p: types.Producer | undefined): void {
    if (!p || p.closed) return;
    // Counters of a pipe that closes are kept so that a link's totals never go backwards
    // (read asynchronously: best effort, the producer is about to close).
    p.getStats().then(
      (stats) => {
        for (const s of stats) {
          this.#folded.bytesIn += s.byteCount;
          this.#folded.packetsIn += s.packetCount;
        }
      },
      () => undefined,
    );
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
      const entry = this.#incoming.get(id);
      this.#incoming.delete(id);
      if (entry?.timer) clearTimeout(entry.timer);
      this.#offers.get(id)?.reject(new Error('producer closed'));
      this.#offers.delete(id);
      entry?.producer?.close(); // its local consumers get producerclose
      this.safeEmit('remoteProducerClosed', id);
    } else if ('producerPaused' in msg && msg.producerPaused) {
      this.#setRemotePaused(msg.producerPaused.producerId, true);
    } else if ('producerResumed' in msg && msg.producerResumed) {
      this.#setRemotePaused(msg.producerResumed.producerId, false);
    } else if ('pipeRequest' in msg && msg.pipeRequest) {
      this.#onPipeRequest(msg.pipeRequest.producerId);
    } else if ('pipeOffer' in msg && msg.pipeOffer) {
      this.#onPipeOffer(msg.pipeOffer);
    } else if ('pipeClose' in msg && msg.pipeClose) {
      const c = this.#outgoing.get(msg.pipeClose.producerId);
      this.#outgoing.delete(msg.pipeClose.producerId);
      this.#remoteDemand.delete(msg.pipeClose.producerId);
      c?.close();
    } else if ('demand' in msg && msg.demand) {
      this.#onDemand(msg.demand.producerId, msg.demand.layers);
    } else if ('pipeError' in msg && msg.pipeError) {
      this.#offers.get(msg.pipeError.producerId)?.reject(new Error(msg.pipeError.message));
      this.#offers.delete(msg.pipeError.producerId);
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
    const p = this.#incoming.get(producerId)?.producer;
    // Pausing the pipe producer makes mediasoup tell its consumers (producerpause/resume).
    if (p && !p.closed) (paused ? p.pause() : p.resume()).catch(() => undefined);
  }

  #onPipeRequest(producerId: string): void {
    const producer = this.#o.localProducer(producerId);
    if (!producer || producer.closed) {
      this.#send({ pipeError: { producerId, message: 'no such local producer' } });
      return;
    }
    if (this.#outgoing.has(producerId)) {
      // The far side lost its pipe producer and asks again: start over.
      this.#outgoing.get(producerId)!.close();
      this.#outgoing.delete(producerId);
    }
    // Pipe requests and offers are handled only once the link is up, so our transport exists.
    this.#transport!.consume({ producerId }).then(
      (consumer) => {
        if (this.closed) return consumer.close();
        this.#outgoing.set(producerId, consumer);
        consumer.observer.once('close', () => {
          if (this.#outgoing.get(producerId) === consumer) this.#outgoing.delete(producerId);
        });
        this.#send({
          pipeOffer: { producerId, kind: consumer.kind, rtpParametersJson: JSON.stringify(consumer.rtpParameters), paused: consumer.producerPaused },
        });
      },
      (err: Error) => this.#send({ pipeError: { producerId, message: err.message } }),
    );
  }

  #onDemand(producerId: string, layers: number): void {
    const consumer = this.#outgoing.get(producerId);
    if (!consumer || consumer.closed) return;
    const mask = layers >>> 0;
    if (this.#remoteDemand.get(producerId) === mask) return;
    this.#remoteDemand.set(producerId, mask);
    // Nobody watches there: the pipe stops (a paused consumer sends nothing); it resumes with a key frame.
    // The far watcher's own key-frame request may have crossed before this Demand resumed the
    // pipe (and found it paused): ask the publisher for one once the pipe flows again.
    const resume = async (): Promise<void> => {
      await consumer.resume();
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
    };
    (mask === 0 ? consumer.pause() : resume()).catch(() => undefined);
    this.safeEmit('remoteDemand', producerId, mask);
  }

  #onPipeOffer(offer: { producerId: string; kind: string; rtpParametersJson: string; paused: boolean }): void {
    const pending = this.#offers.get(offer.producerId);
    if (!pending) return;
    this.#offers.delete(offer.producerId);
    const info = this.#remoteProducers.get(offer.producerId);
    let rtpParameters: types.RtpParameters;
    try {
      rtpParameters = JSON.parse(offer.rtpParametersJson) as types.RtpParameters;
    } catch {
      pending.reject(new Error('bad rtp parameters in pipe offer'));
      return;
    }
    this.#transport!
      .produce({
        id: offer.producerId, // same id on every node, so the room's notifications agree
        kind: offer.kind as types.MediaKind,
        rtpParameters,
        paused: offer.paused,
        appData: { peerId: info?.peerId ?? '', source: info?.source ?? offer.kind, remoteNode: this.remoteNode, layerHeights: info?.layerHeights ?? [] },
      })
      .then(
        (producer) => {
          if (this.closed || !this.#incoming.has(offer.producerId)) {
            producer.close();
            pending.reject(new Error('pipe no longer wanted'));
            return;
          }
          // A pause or resume that crossed while the pipe producer was being made found no
          // producer to apply to; the remote producer's record has the latest state.
          const paused = this.#remoteProducers.get(offer.producerId)?.paused;
          if (paused !== undefined && paused !== producer.paused) (paused ? producer.pause() : producer.resume()).catch(() => undefined);
          pending.resolve(producer);
        },
        (err: Error) => pending.reject(err),
      );
  }
}
