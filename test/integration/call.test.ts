import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { workerBin } from 'mediasoup';
import { workerCryptoBackend } from '../../region-node/workerCrypto.js';
import { eventually, joinRoom, oneWayCall, startTestNode } from '../helpers/node.js';
import { audioRtpParameters, SignalClient, videoRtpParameters } from '../helpers/SignalClient.js';

describe('a call on one region node (real mediasoup worker, real uWS sockets)', () => {
  let node: RegionNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  it('joins, produces, consumes, pauses, chats, closes and leaves', async () => {
    const alice = await joinRoom(node, 'call-1', 'Alice');
    assert.equal(alice.join.region, 'eu-west');
    assert.deepEqual(alice.join.peers, []);
    const send = await alice.client.request('createWebRtcTransport', { direction: 'send' });
    assert.ok(send.transportId && send.iceCandidates.length >= 2, 'UDP and TCP candidates from the WebRtcServer');
    const mic = await alice.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(1111) });
    const cam = await alice.client.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: videoRtpParameters(2222) });

    const bob = await joinRoom(node, 'call-1', 'Bob');
    assert.deepEqual(bob.join.peers.map((p: any) => p.displayName), ['Alice']);
    await alice.client.waitFor('peerJoined', (d) => d.displayName === 'Bob');
    await bob.client.request('createWebRtcTransport', { direction: 'recv' });
    const audio = await bob.client.waitFor('newConsumer', (d) => d.producerId === mic.producerId);
    const video = await bob.client.waitFor('newConsumer', (d) => d.producerId === cam.producerId);
    assert.equal(audio.data.kind, 'audio');
    assert.equal(video.data.peerId, alice.join.peerId);
    assert.equal(video.data.source, 'camera');
    const abs = (video.data.rtpParameters.headerExtensions as { uri: string }[]).filter((h) => /abs-capture-time/.test(h.uri));
    assert.deepEqual(abs, [], 'abs-capture-time is never negotiated (it pins simulcast to layer 0)');

    await bob.client.request('resumeConsumer', { consumerId: video.data.consumerId });
    await bob.client.request('setConsumerPreferredLayers', { consumerId: video.data.consumerId, spatialLayer: 0, temporalLayer: 0 });
    const room = node.rooms().get('call-1' as never)!;
    assert.deepEqual(room.counts(), { peers: 2, producers: 2, consumers: 2 });

    await alice.client.request('pauseProducer', { producerId: cam.producerId });
    await bob.client.waitFor('producerPaused', (d) => d.producerId === cam.producerId);
    await alice.client.request('resumeProducer', { producerId: cam.producerId });
    await bob.client.waitFor('producerResumed', (d) => d.producerId === cam.producerId);

    await bob.client.request('chat', { text: 'hello <b>there</b>' });
    const chat = await alice.client.waitFor('chat');
    assert.equal(chat.data.text, 'hello <b>there</b>');
    assert.equal(chat.data.displayName, 'Bob');

    await alice.client.request('closeProducer', { producerId: cam.producerId });
    await bob.client.waitFor('producerClosed', (d) => d.producerId === cam.producerId && d.consumerId === video.data.consumerId);
    assert.deepEqual(room.counts(), { peers: 2, producers: 1, consumers: 1 });

    await alice.client.request('leave');
    await bob.client.waitFor('producerClosed', (d) => d.producerId === mic.producerId);
    await bob.client.waitFor('peerLeft', (d) => d.peerId === alice.join.peerId);
    assert.deepEqual(room.counts(), { peers: 1, producers: 0, consumers: 0 });

    bob.client.close();
    await eventually(() => node.rooms().size === 0, 'the room closes when its last peer leaves');
    assert.ok(room.closed && room.router.closed);
    alice.client.close();
  });

  it('a late joiner consumes what is already produced, and producers reach consumers made later', async () => {
    // B joins after A's audio: it consumes what is already produced.
    const { a, b, sendTransportId } = await oneWayCall(node, 'call-2', ['A', 'B'], { kind: 'audio', ssrc: 3333 });
    const p2 = await a.client.request('produce', { transportId: sendTransportId, kind: 'video', rtpParameters: videoRtpParameters(4444) });
    await b.client.waitFor('newConsumer', (d) => d.producerId === p2.producerId);
    assert.equal(b.client.notifications.filter((n) => n.notification === 'newConsumer').length, 2, 'one consumer per producer, never two');
    a.client.close();
    b.client.close();
  });

  it('concurrent first joins of one room create one router', async () => {
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => SignalClient.connect(node.wsUrl)));
    const caps = await clients[0]!.request('getRouterRtpCapabilities');
    const before = node.pool.slots.reduce((n, s) => n + s.routers, 0);
    await Promise.all(clients.map((c, i) => c.request('join', { room: 'call-3', displayName: `p${i}`, rtpCapabilities: caps })));
    assert.equal(node.pool.slots.reduce((n, s) => n + s.routers, 0) - before, 1);
    assert.equal(node.rooms().get('call-3' as never)!.peers.size, 5);
    for (const c of clients) c.close();
    await eventually(() => !node.rooms().has('call-3' as never), 'room closes');
  });

  it('a client that vanishes while its join makes the room leaves no room behind, and one joining with it gets in', async () => {
    const slot = node.pool.slots[0]!;
    const caps = await (await SignalClient.connect(node.wsUrl)).request('getRouterRtpCapabilities');
    const join = (room: string): string => JSON.stringify({ id: 1, method: 'join', data: { room, displayName: 'gone', rtpCapabilities: caps } });
    const vanish = async (room: string): Promise<void> => {
      const c = await SignalClient.connect(node.wsUrl);
      c.sendRaw(join(room));
      c.ws.terminate(); // the join is on the wire; the socket is gone before the room is made
    };
    const made = slot.objects.created().routers;
    await vanish('call-5');
    await eventually(() => slot.objects.created().routers > made, 'the join made a router');
    await eventually(() => !node.rooms().has('call-5' as never), 'the room nobody joined closes');
    assert.equal(slot.objects.live().routers, 0);

    // Joining together: the stayer's join makes the room, the vanisher's waits on it too.
    const stayer = await SignalClient.connect(node.wsUrl);
    const joining = stayer.request('join', { room: 'call-6', displayName: 'stays', rtpCapabilities: caps });
    await vanish('call-6');
    assert.ok((await joining).peerId);
    assert.equal(node.rooms().get('call-6' as never)?.peers.size, 1);
    stayer.close();
    await eventually(() => !node.rooms().has('call-6' as never), 'room closes');
  });

  it('a peer that vanishes (socket dropped) has its producers closed for everyone', async () => {
    const { a, b, ...p } = await oneWayCall(node, 'call-4', ['Vanisher', 'Stayer'], { kind: 'video', ssrc: 5555 });
    const t0 = Date.now();
    a.client.ws.terminate(); // no close frame: the TCP connection just goes
    await b.client.waitFor('producerClosed', (d) => d.producerId === p.producerId, 5000);
    await b.client.waitFor('peerLeft', (d) => d.peerId === a.join.peerId, 5000);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(node.rooms().get('call-4' as never)!.peers.size, 1);
    b.client.close();
  });

  it('a dead mediasoup worker is replaced and its rooms are told to rejoin', async () => {
    const a = await joinRoom(node, 'call-5', 'A');
    const b = await joinRoom(node, 'call-5', 'B');
    const slot = node.pool.slots[node.rooms().get('call-5' as never)!.workerIndex]!;
    const oldPid = slot.worker.pid;
    process.kill(oldPid, 'SIGKILL');
    await a.client.waitFor('rejoin', (d) => d.reason === 'worker-died', 5000);
    await b.client.waitFor('rejoin', (d) => d.reason === 'worker-died', 5000);
    await eventually(() => node.pool.slots.every((s) => !s.worker.closed) && node.pool.slots[slot.index]!.worker.pid !== oldPid, 'worker replaced');
    assert.equal(node.rooms().has('call-5' as never), false);
    // The same sockets can join again, on the new worker, and media works there.
    const rejoinA = await a.client.request('join', { room: 'call-5', displayName: 'A', rtpCapabilities: a.caps });
    const rejoinB = await b.client.request('join', { room: 'call-5', displayName: 'B', rtpCapabilities: b.caps });
    assert.deepEqual(rejoinB.peers.map((p: any) => p.peerId), [rejoinA.peerId]);
    const send = await a.client.request('createWebRtcTransport', { direction: 'send' });
    const p = await a.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(6666) });
    await b.client.request('createWebRtcTransport', { direction: 'recv' });
    await b.client.waitFor('newConsumer', (d) => d.producerId === p.producerId);
    assert.equal(node.health().ok, true);
    a.client.close();
    b.client.close();
  });
});

describe('HTTP routes of a region node', () => {
  let node: RegionNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());
  const base = (): string => `http://127.0.0.1:${node.port}`;

  it('/healthz reports region, counts and workers', async () => {
    const r = await fetch(`${base()}/healthz`);
    assert.equal(r.status, 200);
    const h = (await r.json()) as Record<string, unknown>;
    assert.equal(h.ok, true);
    assert.equal(h.region, 'eu-west');
    assert.equal(h.rooms, 0);
    assert.equal((h.workers as { alive: boolean }[]).length, 1);
    // Read from the worker binary itself: the fallback build (Debian's NSS libsrtp2) shows here.
    assert.deepEqual(h.crypto, { srtp: workerCryptoBackend(workerBin) });
    assert.notEqual((h.crypto as { srtp: string }).srtp, 'unknown');
  });

  it('/metrics counts a live call and worker CPU', async () => {
    const a = await joinRoom(node, 'metrics', 'A');
    const send = await a.client.request('createWebRtcTransport', { direction: 'send' });
    await a.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(42) });
    const b = await joinRoom(node, 'metrics', 'B');
    await b.client.request('createWebRtcTransport', { direction: 'recv' });
    await b.client.waitFor('newConsumer');
    const text = await (await fetch(`${base()}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('octomesh_rooms'), 1);
    assert.equal(value('octomesh_peers'), 2);
    assert.equal(value('octomesh_producers'), 1);
    assert.equal(value('octomesh_consumers'), 1);
    assert.match(text, /^octomesh_media_bytes_total\{direction="in"/m);
    assert.ok(value('octomesh_worker_cpu_seconds_total') > 0);
    a.client.close();
    b.client.close();
  });

  it('leaves routing to the geo-router: a node has no /api/route (its page joins through its own /ws)', async () => {
    const r = await fetch(`${base()}/api/route?room=abc`);
    assert.equal(r.status, 404);
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    assert.equal((await fetch(`${base()}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${base()}/healthz`, { method: 'DELETE' })).status, 405);
  });
});
