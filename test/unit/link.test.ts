import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { types } from 'mediasoup';
import { asNodeId, asRoomId } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import { Link, type LinkOptions } from '../../relay/Link.js';
import type { LinkStream } from '../../relay/proto.js';
import { MEDIA_CODECS } from '../../region-node/mediaCodecs.js';
import { WorkerPool } from '../../region-node/WorkerPool.js';
import { eventually, sleep } from '../helpers/node.js';
import { audioRtpParameters } from '../helpers/SignalClient.js';

// A Link through the seam it has: its LinkStream. Two Links on routers of two real workers
// talk over an in-memory object stream pair instead of gRPC; the pipes are real PipeTransports
// between two real workers.

const log = createLogger({ level: 'silent', pretty: false });
const GRACE_MS = 150;
/**
 * Three graces: how long a pipe that must stay is watched for a close. A close that does not
 * happen has no event; a pipe whose grace did run out closes after GRACE_MS.
 */
const PAST_GRACE_MS = GRACE_MS * 3;

/** Two object-mode streams, each writing into the other's readable side. */
function streamPair(): [LinkStream, LinkStream] {
  const make = (): Duplex & { peer?: Duplex } => {
    const d: Duplex & { peer?: Duplex } = new Duplex({
      objectMode: true,
      read() {},
      write(chunk, _enc, cb) {
        // Across a real stream a message is a copy: the far end must not share our objects.
        d.peer!.push(structuredClone(chunk));
        cb();
      },
      final(cb) {
        d.peer!.push(null);
        cb();
      },
    });
    return d;
  };
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a as unknown as LinkStream, b as unknown as LinkStream];
}

describe('Link: pipes counted by their watchers, closed after the grace', () => {
  let pool: WorkerPool;
  let routerA: types.Router;
  let routerB: types.Router;
  let producer: types.Producer;
  let a: Link;
  let b: Link;

  before(async () => {
    // Two workers, as two nodes have: a pipe producer takes its origin's id, unique per worker.
    pool = await WorkerPool.create({ size: 2, rtcPort: 0, listenIp: '127.0.0.1', announcedAddress: '', logLevel: 'warn', workerBin: '' }, log);
    routerA = await pool.slots[0]!.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    routerB = await pool.slots[1]!.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const send = await routerA.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true });
    producer = await send.produce({ kind: 'audio', rtpParameters: audioRtpParameters(4321) as types.RtpParameters });
    const info = { producerId: producer.id, peerId: 'pa', kind: 'audio', source: 'mic', paused: false, layerHeights: [] };
    const opts = (self: string, remote: string, router: types.Router, mine: boolean): LinkOptions => ({
      room: asRoomId('unit-link'),
      localNode: asNodeId(self),
      localRegion: 'eu-west',
      remoteNode: asNodeId(remote),
      router,
      listenIp: '127.0.0.1',
      mediaAddress: '127.0.0.1',
      pipeGraceMs: GRACE_MS,
      snapshot: () => ({ peers: [], producers: mine ? [info] : [], activeSpeaker: null }),
      localProducer: (id) => (mine && id === producer.id ? producer : undefined),
      log,
    });
    const [sa, sb] = streamPair();
    a = new Link(opts('a', 'b', routerA, true), sa);
    b = new Link(opts('b', 'a', routerB, false), sb);
    await eventually(() => a.up && b.up, 'both ends up');
  });

  after(() => {
    a?.close();
    b?.close();
    pool?.close();
  });

  it('shares one pipe among concurrent asks, keeps it while any watcher retains it, and closes it a grace after the last release', async () => {
    const [p1, p2] = await Promise.all([b.pipe(producer.id), b.pipe(producer.id)]);
    assert.equal(p1, p2, 'one pipe producer for two concurrent asks');
    assert.equal(p1.id, producer.id, 'same id on both nodes');
    assert.deepEqual(a.outgoingPipes(), [producer.id]);
    b.retain(producer.id);
    b.retain(producer.id);
    b.release(producer.id);
    await sleep(PAST_GRACE_MS); // watching for a close that must not come
    assert.deepEqual(b.incomingPipes(), [producer.id], 'one watcher left: the pipe stays');
    b.release(producer.id);
    await eventually(() => b.incomingPipes().length === 0 && a.outgoingPipes().length === 0, 'the last release closes it on both ends after the grace');
    assert.equal(p1.closed, true);
  });

  it('a watcher that comes back within the grace keeps the pipe (no re-negotiation)', async () => {
    const p = await b.pipe(producer.id);
    b.retain(producer.id);
    b.release(producer.id);
    const again = await b.pipe(producer.id); // within the grace
    b.retain(producer.id);
    assert.equal(again, p);
    await sleep(PAST_GRACE_MS); // watching for a close that must not come
    assert.equal(p.closed, false, 'retained again before the grace ran out');
    b.release(producer.id);
    await eventually(() => p.closed, 'closed a grace after the last release');
  });

  it('refuses a pipe of a producer the far node never announced, and the link closes both ends with its stream', async () => {
    await assert.rejects(b.pipe('nope'), /no remote producer/);
    a.close();
    await eventually(() => b.closed, 'the far end sees the stream end and closes');
    await assert.rejects(b.pipe(producer.id), /link closed/);
  });
});
