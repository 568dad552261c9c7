import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { DYNACAST_HOLD_MS } from '../../region-node/Dynacast.js';
import { eventually, joinRoom, sleep, startTestNode, untilFlowing } from '../helpers/node.js';
import { nodePairFor } from '../helpers/nodePair.js';
import { audioRtpParameters, videoRtpParameters, type SignalClient } from '../helpers/SignalClient.js';

// Demand decides what flows: the client's pause, last-N and the tile size set each consumer's
// real state on the server (mediasoup's own flags are read here), the publisher is told which
// layers anyone watches (dynacast), and a pipe nobody watches stops crossing.

/** A browser-like simulcast video send: three encodings, a quarter, half and full of 720p. */
function simulcastRtpParameters(ssrc: number): unknown {
  const p = videoRtpParameters(ssrc) as { encodings: unknown[] };
  p.encodings = [
    { ssrc, scaleResolutionDownBy: 4, maxBitrate: 100_000, scalabilityMode: 'L1T3' },
    { ssrc: ssrc + 1, scaleResolutionDownBy: 2, maxBitrate: 300_000, scalabilityMode: 'L1T3' },
    { ssrc: ssrc + 2, maxBitrate: 900_000, scalabilityMode: 'L1T3' },
  ];
  return p;
}

interface Member {
  client: SignalClient;
  peerId: string;
  producers: Record<string, string>;
}

async function member(node: RegionNode, room: string, name: string, produce: ('audio' | 'video' | 'simulcast')[], ssrc: number, recv = true): Promise<Member> {
  const { client, join } = await joinRoom(node, room, name);
  const producers: Record<string, string> = {};
  if (produce.length) {
    const send = await client.request('createWebRtcTransport', { direction: 'send' });
    for (const [i, kind] of produce.entries()) {
      const rtpParameters = { ...(kind === 'audio' ? audioRtpParameters(ssrc + i * 10) : kind === 'video' ? videoRtpParameters(ssrc + i * 10) : simulcastRtpParameters(ssrc + i * 10)) as object, mid: String(i) };
      const r = await client.request('produce', { transportId: send.transportId, kind: kind === 'audio' ? 'audio' : 'video', rtpParameters, ...(kind === 'simulcast' ? { videoHeight: 720 } : {}) });
      producers[kind] = r.producerId;
    }
  }
  if (recv) await client.request('createWebRtcTransport', { direction: 'recv' });
  return { client, peerId: join.peerId, producers };
}

/** Resumes every consumer the member has been given so far (as the SDK does once its side is ready). */
async function resumeAll(m: Member): Promise<void> {
  for (const n of m.client.notifications.filter((x) => x.notification === 'newConsumer')) await m.client.request('resumeConsumer', { consumerId: n.data.consumerId });
}

function serverConsumers(node: RegionNode, room: string, peerId: string) {
  const peer = node.rooms().get(room as never)?.peers.get(peerId as never);
  return [...(peer?.consumers.values() ?? [])];
}

const lastForwarded = (m: Member): string[] | null | undefined => m.client.notifications.filter((n) => n.notification === 'forwardedPeers').at(-1)?.data.peerIds;

describe('last-N: above N video publishers, each peer is forwarded N of them plus its pins', () => {
  let node: RegionNode;
  const members: Member[] = [];
  const ROOM = 'lastn';

  before(async () => {
    node = await startTestNode({ rooms: { lastN: 2 } });
    for (const [i, name] of ['P1', 'P2', 'P3', 'P4'].entries()) members.push(await member(node, ROOM, name, ['audio', 'video'], 1000 + i * 100));
    for (const m of members) {
      await eventually(() => m.client.notifications.filter((n) => n.notification === 'newConsumer').length === 6, `${m.client} has 6 consumers`);
      await resumeAll(m);
    }
  });

  after(() => {
    for (const m of members) m.client.close();
    node?.close();
  });

  it('tells lastN in the join answer, and forwards 2 of 3 videos and every audio to each peer', async () => {
    const { client, join } = await joinRoom(node, ROOM, 'Probe');
    assert.equal(join.lastN, 2);
    assert.equal(join.activeSpeaker, null, 'nobody spoke yet');
    client.close();
    for (const m of members) {
      await eventually(() => lastForwarded(m)?.length === 2, 'told 2 forwarded peers');
      const fwd = lastForwarded(m)!;
      assert.ok(!fwd.includes(m.peerId), 'never itself');
      await eventually(() => serverConsumers(node, ROOM, m.peerId).filter((c) => c.kind === 'video' && !c.paused).length === 2, '2 video consumers resumed on the server');
      const cs = serverConsumers(node, ROOM, m.peerId);
      assert.equal(cs.filter((c) => c.kind === 'video' && c.paused).length, 1, 'the third video is paused on the server');
      assert.equal(cs.filter((c) => c.kind === 'audio' && !c.paused).length, 3, 'audio is always forwarded');
    }
  });

  it('adds a pinned peer, refuses a pin of nobody without changing anything', async () => {
    const [p1] = members;
    const notForwarded = members.find((m) => m !== p1 && !lastForwarded(p1!)!.includes(m.peerId))!;
    const bad = await p1!.client.call('setView', { pinned: ['no-such-peer'], page: [] });
    assert.equal(bad.ok, false);
    assert.equal(bad.error?.code, 'not_found');
    assert.match(bad.error!.message, /pinned/);
    assert.equal(lastForwarded(p1!)!.length, 2, 'unchanged after the refused pin');

    await p1!.client.request('setView', { pinned: [notForwarded.peerId], page: [] });
    await eventually(() => lastForwarded(p1!)?.length === 3, 'the pin is forwarded too');
    await eventually(() => serverConsumers(node, ROOM, p1!.peerId).filter((c) => c.kind === 'video' && !c.paused).length === 3, 'its consumer resumed on the server');
    // The others are untouched by P1's view.
    for (const m of members.slice(1)) assert.equal(lastForwarded(m)!.length, 2);
    await p1!.client.request('setView', { pinned: [], page: [] });
    await eventually(() => serverConsumers(node, ROOM, p1!.peerId).filter((c) => c.kind === 'video' && !c.paused).length === 2, 'unpinned: back to 2');
  });

  it('a client pause is demand too: a paused forwarded consumer stays paused, and resumes on request', async () => {
    const m = members[1]!;
    const fwd = lastForwarded(m)!;
    const video = m.client.notifications.find((n) => n.notification === 'newConsumer' && n.data.kind === 'video' && fwd.includes(n.data.peerId))!;
    await m.client.request('pauseConsumer', { consumerId: video.data.consumerId });
    const c = () => serverConsumers(node, ROOM, m.peerId).find((x) => x.id === video.data.consumerId)!;
    assert.equal(c().paused, true);
    await m.client.request('resumeConsumer', { consumerId: video.data.consumerId });
    assert.equal(c().paused, false);
  });
});

describe('adaptive stream and dynacast on one node', () => {
  let node: RegionNode;
  const ROOM = 'adaptive';
  let pub: Member;
  let watcher: Member;
  let consumerId: string;

  before(async () => {
    node = await startTestNode();
    pub = await member(node, ROOM, 'Pub', ['simulcast', 'video'], 5000, false);
    watcher = await member(node, ROOM, 'Watcher', [], 0);
    const nc = await watcher.client.waitFor('newConsumer', (d) => d.producerId === pub.producers.simulcast);
    consumerId = nc.data.consumerId;
  });

  after(() => {
    pub?.client.close();
    watcher?.client.close();
    node?.close();
  });

  const preferred = () => serverConsumers(node, ROOM, watcher.peerId).find((c) => c.id === consumerId)!.preferredLayers?.spatialLayer;
  const demands = () => pub.client.notifications.filter((n) => n.notification === 'producerDemand' && n.data.producerId === pub.producers.simulcast).map((n) => n.data.maxSpatialLayer);

  it('maps the tile size to the layer that covers it, and refuses sizes and layers that do not exist', async () => {
    await watcher.client.request('setConsumerView', { consumerId, width: 256, height: 144 });
    assert.equal(preferred(), 0, 'a 256x144 tile takes the 180p layer');
    await watcher.client.request('setConsumerView', { consumerId, width: 640, height: 360 });
    assert.equal(preferred(), 1, 'a 640x360 tile takes the 360p layer');
    await watcher.client.request('setConsumerView', { consumerId, width: 1920, height: 1080 });
    assert.equal(preferred(), 2, 'a full-HD tile takes the top layer');

    for (const bad of [{ width: 0, height: 100 }, { width: 100000, height: 100 }, { width: 10.5, height: 100 }]) {
      const r = await watcher.client.call('setConsumerView', { consumerId, ...bad });
      assert.equal(r.error?.code, 'bad_request', JSON.stringify(bad));
    }
    const tooHigh = await watcher.client.call('setConsumerPreferredLayers', { consumerId, spatialLayer: 3 });
    assert.equal(tooHigh.error?.code, 'bad_request');
    assert.match(tooHigh.error!.message, /3 spatial layers/);
    const single = watcher.client.notifications.find((n) => n.notification === 'newConsumer' && n.data.producerId === pub.producers.video)!;
    const r = await watcher.client.call('setConsumerPreferredLayers', { consumerId: single.data.consumerId, spatialLayer: 1 });
    assert.match(r.error?.message ?? '', /1 spatial layer \(0-0\)/);
    const notMine = await pub.client.call('setConsumerView', { consumerId, width: 100, height: 100 });
    assert.equal(notMine.error?.code, 'not_found', "another peer's consumer is not found");
    assert.equal(preferred(), 2, 'nothing changed by the refused requests');
  });

  it('tells the publisher the highest layer watched: none while paused, the small one for a small tile, the top at once when needed', async () => {
    // Paused (as made): nobody watches, after the hold.
    await eventually(() => demands().at(-1) === -1, 'told -1 while the only consumer is paused', DYNACAST_HOLD_MS + 3000);
    await watcher.client.request('setConsumerView', { consumerId, width: 256, height: 144 });
    await watcher.client.request('resumeConsumer', { consumerId });
    await eventually(() => demands().at(-1) === 0, 'told 0 for a small tile');
    const before = demands().length;
    await watcher.client.request('setConsumerView', { consumerId, width: 1280, height: 720 });
    assert.equal(demands().at(-1), 2, 'raised at once (in the same turn as the request)');
    assert.equal(demands().length, before + 1);
    // A flood of view changes settles on the last one and tells the publisher little.
    for (let i = 0; i < 40; i++) await watcher.client.request('setConsumerView', { consumerId, width: i % 2 ? 256 : 1280, height: i % 2 ? 144 : 720 });
    await watcher.client.request('setConsumerView', { consumerId, width: 256, height: 144 });
    await eventually(() => demands().at(-1) === 0, 'settles on the small tile', DYNACAST_HOLD_MS + 3000);
    assert.ok(demands().length - before <= 4, `a flood of 40 view changes told the publisher ${demands().length - before} times`);
  });
});

describe('pipe demand across two real nodes', () => {
  const ROOM = 'pipedemand';
  const pair = nodePairFor(ROOM, { a: 'pd-a', b: 'pd-b' });
  /**
   * How long a paused pipe is watched for packets that must not cross (the sender makes 100 a
   * second): nothing marks a packet that is not sent, so a bounded window it is.
   */
  const NOTHING_CROSSES_MS = 400;

  it('pauses the pipe while its only far watcher is paused, and resumes it on demand', async () => {
    const { a, b } = pair;
    const { pub: { producerId }, far: { client: far, sink }, newConsumer: nc } = await pair.across({ kind: 'audio', ssrc: 4242, intervalMs: 10, size: 160 });
    const link = () => pair.linkTo(a, b)!;
    const crossed = async () => (await link().stats()).packetsOut;

    // Made paused and not yet resumed by its client: nobody watches, so nothing crosses.
    await eventually(() => link()?.remoteDemand(producerId) === 0, 'A hears B needs nothing yet');
    const idle = await crossed();
    await sleep(NOTHING_CROSSES_MS); // watching for packets
    assert.ok((await crossed()) - idle <= 2, 'nothing crosses before the far watcher resumes');

    await far.request('resumeConsumer', { consumerId: nc.data.consumerId });
    await eventually(() => link().remoteDemand(producerId) === 1, 'A hears B needs the stream');
    await eventually(async () => (await crossed()) - idle > 50, 'the pipe carries media again');
    await eventually(() => sink.count() > 20, 'the far watcher receives it');

    await far.request('pauseConsumer', { consumerId: nc.data.consumerId });
    await eventually(() => link().remoteDemand(producerId) === 0, 'A hears B needs nothing');
    await untilFlowing(async () => [await crossed()], [], 'the pipe stops (what was in flight is counted)');
    const paused = await crossed();
    await sleep(NOTHING_CROSSES_MS); // watching for packets
    assert.ok((await crossed()) - paused <= 2, `a pipe nobody watches carries nothing (${(await crossed()) - paused} packets in ${NOTHING_CROSSES_MS} ms at 100/s)`);
    const localPipe = a.rooms().get(ROOM as never)!.cascade!.links()[0]!;
    assert.equal(localPipe.outgoingPipes().includes(producerId), true, 'the pipe itself stays (within the grace nobody re-negotiates)');
  });
});

describe('the active speaker reaches late joiners on every node', () => {
  const ROOM = 'speaker';
  const pair = nodePairFor(ROOM, { a: 'sp-a', b: 'sp-b' });

  it('is in the join answer on the speaker\'s node and, through the relay Hello, on a node that joins the room later', async () => {
    const { a, b } = pair;
    const speaker = await pair.publish(a, 'Speaker', { kind: 'audio', ssrc: 6161, intervalMs: 20, size: 60, audioLevelExtId: 1 });
    await eventually(() => a.rooms().get(ROOM as never)?.activeSpeaker === speaker.join.peerId, 'A names the speaker', 10_000);

    const lateA = await pair.join(a, 'LateA');
    assert.equal(lateA.join.activeSpeaker, speaker.join.peerId, 'a late joiner on the same node is told at once');

    // B hosts the room only now: its link's Hello from A carries the speaker.
    const lateB = await pair.join(b, 'LateB');
    await lateB.client.waitFor('activeSpeaker', (d) => d.peerId === speaker.join.peerId, 10_000);
    const lateB2 = await pair.join(b, 'LateB2');
    assert.equal(lateB2.join.activeSpeaker, speaker.join.peerId, 'B knows the speaker for its own late joiners');
  });
});

describe('a crowded view gets its small videos at half the frame rate', () => {
  let node: RegionNode;
  const ROOM = 'crowded';
  const pubs: Member[] = [];
  let watcher: Member;

  before(async () => {
    node = await startTestNode();
    for (let i = 0; i < 11; i++) pubs.push(await member(node, ROOM, `P${i}`, ['simulcast'], 20_000 + i * 100, false));
    watcher = await member(node, ROOM, 'Watcher', [], 0);
    await eventually(() => watcher.client.notifications.filter((n) => n.notification === 'newConsumer').length === 11, 'the watcher has 11 video consumers');
  });
  after(() => {
    for (const m of [...pubs, watcher]) m?.client.close();
    node?.close();
  });

  const temporal = () => serverConsumers(node, ROOM, watcher.peerId).map((c) => c.preferredLayers?.temporalLayer);
  const ids = () => watcher.client.notifications.filter((n) => n.notification === 'newConsumer').map((n) => n.data.consumerId as string);

  it('drops small tiles to the lower temporal layers above 9 flowing videos, and back when fewer flow', async () => {
    for (const consumerId of ids()) await watcher.client.request('setConsumerView', { consumerId, width: 256, height: 144 });
    for (const consumerId of ids()) await watcher.client.request('resumeConsumer', { consumerId });
    await eventually(() => temporal().every((t) => t === 1), '11 small tiles: temporal layer 1 (of L1T3) each');
    for (const consumerId of ids().slice(0, 2)) await watcher.client.request('pauseConsumer', { consumerId });
    await eventually(() => temporal().filter((t) => t === 2).length >= 9, '9 flowing: every frame again');
    // A big tile keeps every frame even in a crowded view.
    for (const consumerId of ids().slice(0, 2)) await watcher.client.request('resumeConsumer', { consumerId });
    const big = ids()[5]!;
    await watcher.client.request('setConsumerView', { consumerId: big, width: 1280, height: 720 });
    await eventually(() => {
      const c = serverConsumers(node, ROOM, watcher.peerId).find((x) => x.id === big);
      return c?.preferredLayers?.spatialLayer === 2 && c.preferredLayers.temporalLayer === 2;
    }, 'the big tile: top layer, every frame');
    assert.equal(temporal().filter((t) => t === 1).length, 10, 'the 10 small ones stay at half the frame rate');
  });
});
