import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import { RelayDialer } from '../../relay/RelayDialer.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startTestNode } from '../helpers/node.js';
import { startRtpSender, startRtpSink } from '../helpers/rtp.js';
import { audioRtpParameters, type SignalClient } from '../helpers/SignalClient.js';

const ROOM = 'cascade';

/** A bot peer on `node` that receives everything over a plain RTP transport into a UDP sink. */
async function watcher(node: RegionNode, name: string) {
  const { client, join } = await joinRoom(node, ROOM, name);
  // Resume every consumer as it comes, like a browser would. Listening before the receive
  // transport exists: consumers for what is already produced follow it at once.
  client.ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.notification === 'newConsumer') client.call('resumeConsumer', { consumerId: m.data.consumerId }).catch(() => undefined);
  });
  const sink = await startRtpSink();
  const t = await client.request('createPlainTransport', { direction: 'recv' });
  await client.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: sink.port });
  return { client, join, sink };
}

async function publisher(node: RegionNode, name: string, ssrc: number) {
  const { client, join } = await joinRoom(node, ROOM, name);
  const t = await client.request('createPlainTransport', { direction: 'send' });
  // Opus-shaped audio: a video consumer would wait for a real keyframe before forwarding.
  const { producerId } = await client.request('produce', { transportId: t.transportId, kind: 'audio', rtpParameters: audioRtpParameters(ssrc) });
  const rtp = startRtpSender({ ip: t.ip, port: t.port }, { ssrc, payloadType: 100, intervalMs: 10, size: 160 });
  return { client, join, producerId, rtp };
}

const linkTo = (node: RegionNode, remote: RegionNode) =>
  node.rooms().get(ROOM as never)?.cascade?.links().find((l) => l.remoteNode === remote.nodeId);

describe('cascade: one room on three nodes (real workers, real gRPC, real pipes on loopback)', () => {
  const registry = new LocalRegistry();
  let a: RegionNode;
  let b: RegionNode;
  let c: RegionNode;
  const clients: SignalClient[] = [];
  const stops: (() => void)[] = [];

  before(async () => {
    // Ids order the dialling: a dials b and c, b dials c.
    a = await startTestNode({ nodeId: 'node-a', region: 'eu-west' }, { registry });
    b = await startTestNode({ nodeId: 'node-b', region: 'us-east', latitude: 38.9, longitude: -77.04 }, { registry });
    c = await startTestNode({ nodeId: 'node-c', region: 'ap-northeast', latitude: 35.68, longitude: 139.69 }, { registry });
  });

  after(() => {
    for (const s of stops) s();
    for (const cl of clients) cl.close();
    for (const n of [a, b, c]) n?.close();
    registry.close();
  });

  it('carries media from a producer on A to watchers on B and C, crossing to each node once', async () => {
    const alice = await publisher(a, 'Alice', 1111);
    stops.push(alice.rtp.stop);
    clients.push(alice.client);
    const onB = await Promise.all([1, 2, 3, 4, 5].map((i) => watcher(b, `Bob${i}`)));
    const onC = await watcher(c, 'Carol');
    for (const w of [...onB, onC]) {
      clients.push(w.client);
      stops.push(w.sink.close);
    }
    for (const w of [...onB, onC]) {
      await w.client.waitFor('peerJoined', (d) => d.displayName === 'Alice' && d.region === 'eu-west', 10_000);
      await w.client.waitFor('newConsumer', (d) => d.producerId === alice.producerId, 10_000);
    }
    await eventually(() => [...onB, onC].every((w) => w.sink.count() > 30), 'RTP reaches every watcher on B and C', 10_000);

    // Exactly one pipe consumer at A per remote node, however many watch there.
    const ab = linkTo(a, b)!;
    const ac = linkTo(a, c)!;
    assert.deepEqual(ab.outgoingPipes(), [alice.producerId]);
    assert.deepEqual(ac.outgoingPipes(), [alice.producerId]);
    assert.equal((await ab.pipeTransport!.dump()).consumerIds.length, 1, 'one mediasoup pipe consumer on A for B');
    assert.deepEqual(linkTo(b, a)!.incomingPipes(), [alice.producerId]);
    const stats = await ab.stats();
    assert.ok(stats.packetsOut > 0 && stats.bytesOut > 0);

    // The peer list is room-wide: Alice sees everyone, with their regions.
    await alice.client.waitFor('peerJoined', (d) => d.displayName === 'Carol' && d.region === 'ap-northeast', 10_000);
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    assert.match(metrics, /^octomesh_relay_links\{[^}]*\} 2$/m);
  });

  it('relays pause, chat and close of the origin producer to every far consumer', async () => {
    const [alice] = clients as [SignalClient];
    const producerId = (await alice.request('ping')) && (linkTo(a, b)!.outgoingPipes()[0] as string);
    const far = clients.slice(1);
    await alice.request('pauseProducer', { producerId });
    for (const w of far) await w.waitFor('producerPaused', (d) => d.producerId === producerId, 5000);
    await alice.request('resumeProducer', { producerId });
    for (const w of far) await w.waitFor('producerResumed', (d) => d.producerId === producerId, 5000);
    await far[5]!.request('chat', { text: 'from Tokyo' });
    await alice.waitFor('chat', (d) => d.text === 'from Tokyo' && d.displayName === 'Carol', 5000);
    await far[0]!.waitFor('chat', (d) => d.text === 'from Tokyo', 5000);

    await alice.request('closeProducer', { producerId });
    for (const w of far) await w.waitFor('producerClosed', (d) => d.producerId === producerId, 5000);
    await eventually(() => linkTo(a, b)!.outgoingPipes().length === 0 && linkTo(b, a)!.incomingPipes().length === 0, 'pipes closed with the producer');
  });

  it('closes a pipe when the last far watcher leaves, and keeps the link', async () => {
    const dora = await publisher(a, 'Dora', 2222);
    stops.push(dora.rtp.stop);
    clients.push(dora.client);
    await eventually(() => linkTo(a, b)!.outgoingPipes().includes(dora.producerId), 'piped to B while B watches');
    // A peer on B who watches nothing keeps the room (and the link) on B.
    const { client: bystander } = await joinRoom(b, ROOM, 'Bystander');
    clients.push(bystander);
    const bobs = clients.slice(1, 6);
    for (const bob of bobs) await bob.waitFor('newConsumer', (d) => d.producerId === dora.producerId, 5000);
    const link = linkTo(a, b)!;
    for (const bob of bobs) bob.close();
    await eventually(() => !link.outgoingPipes().includes(dora.producerId), 'pipe to B closed after the grace period', 5000);
    assert.equal(linkTo(a, b), link, 'the link itself stays');
    assert.ok(link.up);
    assert.deepEqual(linkTo(b, a)!.incomingPipes(), []);
    // Carol on C still watches: that pipe stays.
    assert.ok(linkTo(a, c)!.outgoingPipes().includes(dora.producerId));
  });

  it('closes a pipe whose only watcher vanished while it was being made', async () => {
    // The bystander keeps the room on B; nobody there watches Dora now. Each watcher drops a
    // few ms after its receive transport is up, some while its pipe from A is in flight.
    const fromA = linkTo(b, a)!;
    assert.deepEqual(fromA.incomingPipes(), []);
    for (let ms = 0; ms < 8; ms++) {
      const w = await watcher(b, `Ghost${ms}`);
      await new Promise((r) => setTimeout(r, ms));
      w.client.ws.terminate();
      w.sink.close();
      await eventually(() => fromA.incomingPipes().length === 0 && linkTo(a, b)!.outgoingPipes().length === 0, `no pipe left after a watcher vanished ${ms} ms after connecting`);
    }
  });

  it('re-dials a link that breaks while both nodes live, and restores its pipes', async (t) => {
    const carol = clients[6]!;
    const doraId = linkTo(a, c)!.outgoingPipes()[0]!;
    const broken = linkTo(a, c)!;
    const consumersBefore = carol.notifications.filter((n) => n.notification === 'newConsumer' && n.data.producerId === doraId).length;
    const t0 = performance.now();
    broken.close(); // as if the stream had failed
    await carol.waitFor('producerClosed', (d) => d.producerId === doraId, 5000);
    await eventually(
      () => carol.notifications.filter((n) => n.notification === 'newConsumer' && n.data.producerId === doraId).length > consumersBefore,
      'Carol consumes Dora again over a new link',
      10_000,
    );
    const relinked = linkTo(a, c)!;
    assert.notEqual(relinked, broken);
    assert.ok(relinked.up);
    assert.deepEqual(relinked.outgoingPipes(), [doraId]);
    t.diagnostic(`re-link to a new consumer took ${(performance.now() - t0).toFixed(0)} ms (first backoff 250 ms)`);
  });

  it('refuses a link from a caller without the secret', async () => {
    const dialer = new RelayDialer({ secret: 'wrong', selfNode: 'intruder' });
    const stream = dialer.open(a.relayAddress, ROOM);
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(err.code, grpc.status.UNAUTHENTICATED);
    dialer.close();
    assert.equal(linkTo(a, c)!.closed, false, 'the real links are untouched');
  });

  it('survives C\'s relay dying: A and B go on, C\'s link state is cleaned up', async () => {
    const carol = clients[6]!;
    const ada = await watcher(b, 'Ada'); // a fresh watcher on B for Dora
    clients.push(ada.client);
    stops.push(ada.sink.close);
    await eventually(() => ada.sink.count() > 20, 'B receives Dora again', 10_000);
    const seen = carol.notifications.length;
    const after = (name: string) => carol.notifications.slice(seen).some((n) => n.notification === name);
    c.stopRelay();
    await eventually(() => (c.rooms().get(ROOM as never)?.cascade?.links().length ?? 0) === 0, 'C has no links left', 10_000);
    await eventually(() => after('producerClosed') && after('peerLeft'), 'Carol is told the far producers and peers are gone', 10_000);
    const before = ada.sink.count();
    await eventually(() => ada.sink.count() > before + 50, 'A -> B media keeps flowing', 10_000);
    assert.ok(linkTo(a, b)!.up && !linkTo(a, b)!.closed);
    // C as a whole goes away: A and B drop it for good.
    c.close();
    await eventually(() => linkTo(a, c) === undefined && linkTo(b, c) === undefined, 'no links to C', 10_000);
    assert.deepEqual((await registry.roomNodes(ROOM as never)).sort(), ['node-a', 'node-b']);
  });
});
