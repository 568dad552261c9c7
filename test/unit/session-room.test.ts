import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { types } from 'mediasoup';
import { asPeerId, asRoomId } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { NotificationName, Notifications } from '../../core/protocol.js';
import { RelayDialer } from '../../relay/RelayDialer.js';
import { Peer, type PeerChannel } from '../../region-node/Peer.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { Room, type TransportOptions } from '../../region-node/Room.js';
import { Session, type SessionSocket } from '../../region-node/Session.js';
import { WorkerPool } from '../../region-node/WorkerPool.js';
import { eventually, startTestNode } from '../helpers/node.js';
import { audioRtpParameters, videoRtpParameters } from '../helpers/SignalClient.js';

// Session, Room and Peer through the seams they have: a Session is driven through its socket
// interface (frames in, frames out, no WebSocket), a Room through Peers whose channel records
// what they are told. The mediasoup worker is real.

const log = createLogger({ level: 'silent', pretty: false });
const TRANSPORT: TransportOptions = { initialAvailableOutgoingBitrate: 1_000_000, maxIncomingBitrate: 0, listenIp: '127.0.0.1', announcedAddress: '' };

class Recorder implements PeerChannel {
  readonly got: { name: NotificationName; data: unknown }[] = [];
  notify<N extends NotificationName>(name: N, data: Notifications[N]): void {
    this.got.push({ name, data });
  }
  of<N extends NotificationName>(name: N): Notifications[N][] {
    return this.got.filter((g) => g.name === name).map((g) => g.data as Notifications[N]);
  }
}

describe('Room: who consumes what', () => {
  let pool: WorkerPool;
  let room: Room;
  const registry = new LocalRegistry();
  const dialer = new RelayDialer({ secret: 's', selfNode: 'unit' });

  before(async () => {
    pool = await WorkerPool.create({ size: 1, rtcPort: 0, listenIp: '127.0.0.1', announcedAddress: '', logLevel: 'warn', workerBin: '' }, log);
    room = await Room.create(asRoomId('unit'), pool, log, {
      maxPeers: 3,
      lastN: 25,
      relay: { self: 'unit' as never, region: 'eu-west', registry, dialer, listenIp: '127.0.0.1', mediaAddress: '127.0.0.1', pipeGraceMs: 100 },
    });
  });
  after(() => {
    room?.close();
    pool?.close();
    dialer.close();
    registry.close();
  });

  const peer = (name: string, caps: types.RtpCapabilities): { peer: Peer; channel: Recorder } => {
    const channel = new Recorder();
    return { peer: new Peer({ id: asPeerId(name), displayName: name, region: 'eu-west' as never, rtpCapabilities: caps, channel }), channel };
  };

  it('gives every other peer with a receive transport a consumer of each new producer, and none to its owner', async () => {
    const a = peer('a', room.rtpCapabilities);
    const b = peer('b', room.rtpCapabilities);
    room.addPeer(a.peer);
    room.addPeer(b.peer);
    assert.deepEqual(a.channel.of('peerJoined').map((p) => p.peerId), ['b'], 'A hears B join; B is not told of itself');
    const send = await room.createWebRtcTransport(a.peer, 'send', false, TRANSPORT);
    await room.createWebRtcTransport(b.peer, 'recv', false, TRANSPORT);
    room.onRecvTransport(b.peer);
    const video = await a.peer.produce(send.id, 'video', videoRtpParameters(1111) as types.RtpParameters, { source: 'camera' }, 4);
    room.onNewProducer(a.peer, video);
    await eventually(() => b.channel.of('newConsumer').length === 1, 'B consumes A');
    assert.equal(b.channel.of('newConsumer')[0]!.producerId, video.id);
    assert.equal(b.peer.consumers.size, 1);
    assert.equal(a.channel.of('newConsumer').length, 0, 'A does not consume its own producer');

    // A late peer gets what is already produced once it has a receive transport, once only.
    const c = peer('c', room.rtpCapabilities);
    room.addPeer(c.peer);
    await room.createWebRtcTransport(c.peer, 'recv', false, TRANSPORT);
    room.onRecvTransport(c.peer);
    room.onRecvTransport(c.peer);
    await eventually(() => c.channel.of('newConsumer').length === 1, 'C consumes A');
    await new Promise((r) => setImmediate(r));
    assert.equal(c.peer.consumers.size, 1, 'one consumer however often the transport is announced');

    // The room is full at 3.
    assert.throws(() => room.addPeer(peer('d', room.rtpCapabilities).peer), { name: 'RoomFullError' });

    // A leaves: the others see its producer close, then peerLeft; the consumers leave their maps.
    room.removePeer(a.peer, 'test');
    for (const p of [b, c]) {
      await eventually(() => p.channel.of('producerClosed').length === 1 && p.peer.consumers.size === 0, 'producerClosed and the consumer gone');
      assert.deepEqual(p.channel.of('peerLeft'), [{ peerId: 'a' }]);
    }
    assert.equal(a.peer.closed, true);
  });

  it('a peer owns its objects: a transport made after it left is closed and refused', async () => {
    const e = peer('e', room.rtpCapabilities);
    room.addPeer(e.peer);
    const made = room.createWebRtcTransport(e.peer, 'send', false, TRANSPORT);
    room.removePeer(e.peer, 'left during the request');
    await assert.rejects(made, { name: 'InvalidStateError' });
    assert.equal(e.peer.transports.size, 0);
    const audioCaps = room.rtpCapabilities;
    const f = peer('f', audioCaps);
    room.addPeer(f.peer);
    const send = await room.createWebRtcTransport(f.peer, 'send', false, TRANSPORT);
    await f.peer.produce(send.id, 'audio', audioRtpParameters(2222) as types.RtpParameters, { source: 'mic' }, 1);
    await assert.rejects(f.peer.produce(send.id, 'audio', audioRtpParameters(2223) as types.RtpParameters, { source: 'mic' }, 1), /too many producers/);
    assert.throws(() => f.peer.closeProducer('nope'), { name: 'NotFoundError' });
    const [producer] = f.peer.producers.values();
    f.peer.closeProducer(producer!.id);
    assert.equal(f.peer.producers.size, 0, 'a closed producer leaves the map');
    send.close();
    assert.equal(f.peer.transports.size, 0, 'a closed transport leaves the map');
  });
});

describe('Session: frames in, frames out', () => {
  let node: RegionNode;
  before(async () => {
    node = await startTestNode({ limits: { messagesPerSecond: 1, messageBurst: 5 } as never });
  });
  after(() => node?.close());

  const session = (): { s: Session; out: Record<string, any>[]; closed: { code?: number } } => {
    const out: Record<string, any>[] = [];
    const closed: { code?: number } = {};
    const socket: SessionSocket = {
      send: (text) => (out.push(JSON.parse(text)), true),
      close: (code) => (closed.code = code),
    };
    return { s: new Session(node, socket, log), out, closed };
  };
  const send = (s: Session, msg: unknown): void => s.onMessage(new TextEncoder().encode(typeof msg === 'string' ? msg : JSON.stringify(msg)).buffer as ArrayBuffer, false);

  it('answers bad frames with bad_request, keeping the id when it can read one', async () => {
    const { s, out } = session();
    send(s, '{nope');
    send(s, { id: 7, method: 'join', data: { room: 'a/b', displayName: 'x', rtpCapabilities: {} } });
    s.onMessage(new Uint8Array([1, 2]).buffer as ArrayBuffer, true);
    send(s, { id: 8, method: 'fly', data: {} });
    await eventually(() => out.length === 4, 'four answers');
    assert.deepEqual(out.map((m) => [m.id, m.error?.code]), [[null, 'bad_request'], [7, 'bad_request'], [null, 'bad_request'], [8, 'unknown_method']]);
    assert.match(out[1]!.error.message, /join: room/);
    s.onClose();
  });

  it('refuses what needs a room before join, and a second join', async () => {
    const { s, out } = session();
    send(s, { id: 1, method: 'createWebRtcTransport', data: { direction: 'send' } });
    send(s, { id: 2, method: 'setView', data: { pinned: [], page: [] } });
    await eventually(() => out.length === 2, 'two answers');
    assert.deepEqual(out.map((m) => m.error?.code), ['invalid_state', 'invalid_state']);
    s.onClose();
  });

  it('limits a flood: past the burst, rate_limited; a client that keeps on is closed with 1008', async () => {
    const { s, out, closed } = session();
    for (let i = 0; i < 110; i++) send(s, { id: i, method: 'ping', data: {} });
    await eventually(() => out.filter((m) => m.ok).length === 5, 'the burst answered');
    // 100 refusals in a row are answered; the 101st closes the socket instead.
    assert.equal(out.filter((m) => m.error?.code === 'rate_limited').length, 100);
    assert.equal(closed.code, 1008);
    s.onClose();
  });
});
