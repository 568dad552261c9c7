import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { types } from 'mediasoup';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, sleep, untilFlowing } from '../helpers/node.js';
import { nodePairFor } from '../helpers/nodePair.js';
import { encodingPackets, simulcastRtpParameters, startSimulcastSender, startVp8Sink, THREE_LAYERS } from '../helpers/simulcast.js';
import { tapCapabilities } from '../../relay/LayerFilter.js';
import { DEMAND_INTERVAL_MS } from '../../relay/OutgoingPipe.js';
import { SignalClient } from '../helpers/SignalClient.js';

// Demand is what crosses (issue #12 item 4): the node that receives a pipe tells the origin
// which simulcast layers its watchers need (a bitmask per producer, link.setDemand); the
// origin forwards only those (through a LayerFilter) and pauses the pipe when nothing is
// needed. A publisher with three layers on A, one watcher on B.
const ROOM = 'demand';
/** The window a bitrate is measured over (a rate needs a duration: no event ends it). */
const WINDOW_MS = 3000;
/**
 * How long a demand that must NOT be sent is given to show up: three coalescing intervals, past
 * any trailing flush. Nothing marks a message that never goes, so a bounded window it is.
 */
const NOTHING_SENT_MS = 3 * DEMAND_INTERVAL_MS;

describe('relay demand: only the layers the far node needs cross, none when it needs none', () => {
  const pair = nodePairFor(ROOM, { a: 'demand-a', b: 'demand-b' });
  let a: RegionNode;
  let b: RegionNode;
  let producerId: string;
  let sender: Awaited<ReturnType<typeof startSimulcastSender>>;
  let sink: Awaited<ReturnType<typeof startVp8Sink>>;
  let viewer: SignalClient;
  let consumerId: string;
  /** A second watcher on B, so that B's room asks for all three layers (see demandMask). */
  let second: SignalClient;
  let secondId: string;
  let farConsumer: types.Consumer;
  const rows: Record<string, number> = {};

  const ab = () => pair.linkTo(a, b)!;
  const ba = () => pair.linkTo(b, a)!;
  const cpuMs = async (): Promise<number> => {
    const u = await a.pool.slots[0]!.worker.getResourceUsage();
    return u.ru_utime + u.ru_stime;
  };

  /** kbit/s over WINDOW_MS: crossing A -> B, sent by the publisher on layer 0, received by the watcher, A's worker CPU %. */
  async function measure(): Promise<{ crossing: number; layer0: number; sent: number; watcher: number; cpuPct: number }> {
    const l0 = sender.sent(0).bytes;
    const all = () => [0, 1, 2].reduce((n, l) => n + sender.sent(l).bytes, 0);
    const sent = all();
    const out = (await ab().stats()).bytesOut;
    const got = sink.counts().bytes;
    const cpu = await cpuMs();
    const t0 = performance.now();
    await sleep(WINDOW_MS); // the measurement window itself
    const ms = performance.now() - t0;
    const kbps = (bytes: number) => Math.round((bytes * 8) / ms);
    return {
      crossing: kbps((await ab().stats()).bytesOut - out),
      layer0: kbps(sender.sent(0).bytes - l0),
      sent: kbps(all() - sent),
      watcher: kbps(sink.counts().bytes - got),
      cpuPct: Math.round(((await cpuMs()) - cpu) / ms * 1000) / 10,
    };
  }

  /**
   * A watcher on a plain transport, joined without bandwidth-estimation extensions: its sink
   * sends no feedback, so with them the far consumer would be held to the initial estimate
   * and could never reach the top layer.
   */
  async function plainWatcher(node: RegionNode, name: string) {
    const client = await SignalClient.connect(node.wsUrl);
    pair.clients.push(client);
    const caps = await client.request('getRouterRtpCapabilities');
    const join = await client.request('join', { room: ROOM, displayName: name, rtpCapabilities: tapCapabilities(caps) });
    const s = await startVp8Sink();
    pair.stops.push(s.close);
    const recv = await client.request('createPlainTransport', { direction: 'recv' });
    await client.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: s.port });
    return { client, join, sink: s };
  }

  /** Waits until exactly `layers` arrive at B's pipe producer: the last switch is done, what was in flight landed. */
  const untilCrossing = async (layers: number[], what: string): Promise<void> => {
    const pipeProducer = await ba().pipe(producerId);
    await untilFlowing(() => encodingPackets([pipeProducer]), layers, what);
  };

  before(async () => {
    ({ a, b } = pair);
    const pub = await pair.join(a, 'Pub');
    const send = await pub.client.request('createPlainTransport', { direction: 'send' });
    const layers = THREE_LAYERS(7100);
    ({ producerId } = await pub.client.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: simulcastRtpParameters(layers) }));
    sender = await startSimulcastSender({ ip: send.ip, port: send.port }, layers);
    pair.stops.push(() => sender.stop());

    // Someone who watches nothing keeps the room (and the link) on B when the viewer leaves.
    await pair.join(b, 'Bystander');
    const v = await plainWatcher(b, 'Viewer');
    viewer = v.client;
    sink = v.sink;
    const nc = await viewer.waitFor('newConsumer', (d) => d.producerId === producerId, 10_000);
    consumerId = nc.data.consumerId;
    await viewer.request('resumeConsumer', { consumerId });
    farConsumer = b.rooms().get(ROOM as never)!.peers.get(v.join.peerId)!.consumers.get(consumerId)!;
    second = (await plainWatcher(b, 'Second')).client;
    secondId = (await second.waitFor('newConsumer', (d) => d.producerId === producerId, 10_000)).data.consumerId;
    await second.request('resumeConsumer', { consumerId: secondId });
  });

  after(() => {
    if (Object.keys(rows).length) console.log(`# relay-demand figures: ${JSON.stringify(rows)}`);
  });

  it('keeps the pipe\'s shape: one pipe producer on B with three encodings, RTX and key-frame feedback', async () => {
    await eventually(() => ba().incomingPipes().includes(producerId), 'B has the pipe producer', 10_000);
    const pipeProducer = await ba().pipe(producerId);
    const params = pipeProducer.rtpParameters;
    assert.equal(pipeProducer.type, 'simulcast');
    assert.equal(params.encodings?.length, 3, 'three encodings cross, as the publisher sends them');
    assert.ok(params.encodings!.every((e) => e.rtx?.ssrc), 'an RTX ssrc per encoding (NACK repairs across the pipe)');
    const vp8 = params.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
    const fb = (type: string, parameter = '') => (vp8.rtcpFeedback ?? []).some((f) => f.type === type && (f.parameter ?? '') === parameter);
    assert.ok(fb('nack') && fb('nack', 'pli'), 'NACK and PLI feedback');
    assert.deepEqual(ab().outgoingPipes(), [producerId]);
    assert.equal((await ab().pipeTransport!.dump()).consumerIds.length, 1, 'one pipe consumer on A for B');
  });

  // B's room computes its demand from its watchers, as it would for browsers: each resumed
  // watcher's layer plus layer 0 (region-node/demandPolicy.ts), nothing when all are paused.
  it('forwards all three layers for 0b111 and only layer 0 for 0b001, at about the layer\'s bitrate', async (t) => {
    await second.request('setConsumerPreferredLayers', { consumerId: secondId, spatialLayer: 1 });
    await eventually(() => ab().remoteDemand(producerId) === 0b111, 'B asks for 0b111 (watchers on layers 2 and 1)');
    await eventually(() => farConsumer.currentLayers?.spatialLayer === 2, 'the far watcher reaches layer 2', 15_000);
    // And layer 1 flows too (its tap consumer on A starts at a key frame): under load the window
    // opened before it did once, and measured two layers as "all three".
    const secondConsumer = (): types.Consumer | undefined => [...b.rooms().get(ROOM as never)!.peers.values()].flatMap((p) => [...p.consumers.values()]).find((c) => c.id === secondId);
    await eventually(() => secondConsumer()?.currentLayers?.spatialLayer === 1, 'the second watcher reaches layer 1', 15_000);
    await untilCrossing([0, 1, 2], 'all three layers arrive at B');
    const full = await measure();
    rows.fullCrossingKbps = full.crossing;
    rows.fullSentKbps = full.sent;
    rows.fullCpuPct = full.cpuPct;

    await viewer.request('setConsumerPreferredLayers', { consumerId, spatialLayer: 0 });
    await second.request('setConsumerPreferredLayers', { consumerId: secondId, spatialLayer: 0 });
    await eventually(() => ab().remoteDemand(producerId) === 0b001, 'B asks for 0b001 (both watchers on layer 0)');
    await eventually(() => farConsumer.currentLayers?.spatialLayer === 0, 'the far watcher is on layer 0', 10_000);
    await untilCrossing([0], 'only layer 0 arrives at B');
    const low = await measure();
    Object.assign(rows, { layer0CrossingKbps: low.crossing, layer0Kbps: low.layer0, layer0WatcherKbps: low.watcher, layer0CpuPct: low.cpuPct });
    rows.crossingPerLayer0 = Math.round((low.crossing / low.layer0) * 100) / 100;
    t.diagnostic(`full ${full.crossing} kbit/s crossing, layer 0 only ${low.crossing} kbit/s (layer 0 sent at ${low.layer0} kbit/s, ratio ${rows.crossingPerLayer0})`);
    assert.ok(low.watcher > 0, 'the far watcher still receives');
    assert.ok(low.crossing < 0.25 * full.crossing, `layer 0 alone (${low.crossing}) is far below everything (${full.crossing})`);
    assert.ok(low.crossing <= 1.3 * low.layer0, `crossing ${low.crossing} kbit/s is within 1.3 x layer 0 (${low.layer0} kbit/s)`);

    // One watcher on layer 1, the other paused: layers 1 and 0 (a step to drop to) cross, not 2.
    await second.request('pauseConsumer', { consumerId: secondId });
    await viewer.request('setConsumerPreferredLayers', { consumerId, spatialLayer: 1 });
    await eventually(() => ab().remoteDemand(producerId) === 0b011, 'B asks for 0b011');
    await eventually(() => farConsumer.currentLayers?.spatialLayer === 1, 'the far watcher is on layer 1', 15_000);
    await untilCrossing([0, 1], 'layers 0 and 1 arrive at B, layer 2 does not');
    const mid = await measure();
    Object.assign(rows, { layer1CrossingKbps: mid.crossing, layer1WatcherKbps: mid.watcher });
    assert.ok(mid.crossing < 0.6 * full.crossing, `layers 1 and 0 (${mid.crossing}) cross well below all three (${full.crossing})`);
  });

  it('sends nothing across for demand 0, and resumes with a key frame for the far watcher', async () => {
    await viewer.request('pauseConsumer', { consumerId });
    await eventually(() => ab().remoteDemand(producerId) === 0, 'B asks for nothing (both watchers paused)');
    await untilCrossing([], 'nothing arrives at B any more');
    const before = (await ab().stats()).packetsOut;
    const none = await measure();
    rows.noDemandCrossingKbps = none.crossing;
    rows.noDemandCpuPct = none.cpuPct;
    assert.equal((await ab().stats()).packetsOut, before, 'no packet crossed while nothing was demanded');

    const keyframes = sink.counts().keyframes;
    const asked = (): number => sender.keyframeRequests(0) + sender.keyframeRequests(1) + sender.keyframeRequests(2);
    const requests = asked();
    await viewer.request('resumeConsumer', { consumerId });
    await eventually(() => ab().remoteDemand(producerId) === 0b011, 'B asks for layers 1 and 0 again');
    await eventually(async () => (await ab().stats()).packetsOut > before, 'packets cross again');
    await eventually(() => asked() > requests, 'the publisher is asked for key frames');
    await eventually(() => sink.counts().keyframes > keyframes, 'the far watcher gets a key frame');
  });

  it('carries a far watcher\'s key-frame request through the filter to the publisher', async () => {
    await eventually(() => farConsumer.currentLayers?.spatialLayer === farConsumer.preferredLayers?.spatialLayer, 'the far watcher is on its preferred layer again', 10_000);
    const layer = farConsumer.currentLayers!.spatialLayer;
    const requests = sender.keyframeRequests(layer);
    const keyframes = sink.counts().keyframes;
    // Just after the resume, mediasoup's key-frame request managers (a pending request per
    // stream, up to 1 s) may still fold a new request into one a key frame in flight answers;
    // nothing outside the worker tells when they are idle, so ask again on each poll until a
    // request reaches the publisher.
    await eventually(async () => {
      await farConsumer.requestKeyFrame();
      return sender.keyframeRequests(layer) > requests;
    }, `the request reaches the publisher as PLI/FIR for layer ${layer}`);
    await eventually(() => sink.counts().keyframes > keyframes, 'and its key frame reaches the far watcher');
  });

  it('coalesces a flood of setDemand on the far side: few messages, the last value wins', async () => {
    const sentBefore = (await ba().stats()).demandsSent;
    const gotBefore = (await ab().stats()).demandsReceived;
    // A already has 0b011 (from before): what tells that the flood is over is A applying 0b011 again.
    const applied: number[] = [];
    const onDemand = (id: string, layers: number): void => void (id === producerId && applied.push(layers));
    ab().on('remoteDemand', onDemand);
    for (let i = 0; i < 500; i++) ba().setDemand(producerId, 1 + (i % 7));
    ba().setDemand(producerId, 0b011);
    await eventually(() => applied.at(-1) === 0b011, 'A ends on the last value');
    ab().off('remoteDemand', onDemand);
    const sent = (await ba().stats()).demandsSent - sentBefore;
    const got = (await ab().stats()).demandsReceived - gotBefore;
    rows.floodMessages = sent;
    assert.ok(sent >= 1 && sent <= 3, `501 calls in one turn made ${sent} messages (first change now, the last one after the interval)`);
    assert.equal(got, sent, 'A received what B sent');
    // An unchanged value sends nothing.
    ba().setDemand(producerId, 0b011);
    await sleep(NOTHING_SENT_MS); // a message that must not go
    assert.equal((await ba().stats()).demandsSent - sentBefore, sent);
  });

  it('ignores bad demand: not a mask on the far side, clamped to the producer\'s layers at the origin', async () => {
    const sentBefore = (await ba().stats()).demandsSent;
    for (const bad of [-1, 1.5, 2 ** 33, Number.NaN]) ba().setDemand(producerId, bad);
    await sleep(NOTHING_SENT_MS); // messages that must not go
    assert.equal((await ba().stats()).demandsSent, sentBefore, 'nothing sent for values that are not masks');
    assert.equal(ab().remoteDemand(producerId), 0b011);
    ba().setDemand(producerId, 0xffffffff);
    await eventually(() => ab().remoteDemand(producerId) === 0b111, 'a huge mask is clamped to the three layers');
    ba().setDemand('no-such-producer', 1); // not piped: never sent
    await sleep(NOTHING_SENT_MS); // a message (and a pipe) that must not come of it
    assert.deepEqual(ab().outgoingPipes(), [producerId]);
  });

  it('closes the filter with the pipe: no tap transports left on A when B stops watching', async () => {
    const router = a.rooms().get(ROOM as never)!.router;
    const tapsOf = async () => (await router.dump()).transportIds.length;
    const withPipe = await tapsOf();
    const events: [string, number][] = [];
    ab().on('remoteDemand', (id, layers) => events.push([id, layers]));
    viewer.close();
    second.close();
    await eventually(() => ab().outgoingPipes().length === 0, 'the pipe closes after the grace', 5000);
    await eventually(async () => (await tapsOf()) === withPipe - 2, 'both tap transports are gone');
    assert.equal(ab().remoteDemand(producerId), undefined);
    assert.deepEqual(events.at(-1), [producerId, 0], 'the coordinator is told the demand is gone');
  });

  it('tells a new pipe the demand the far node already has, as soon as it is offered', async () => {
    ba().setDemand(producerId, 0b001); // no pipe now: kept, not sent
    const events: [string, number][] = [];
    ab().on('remoteDemand', (id, layers) => id === producerId && events.push([id, layers]));
    const again = await plainWatcher(b, 'Again');
    await again.client.waitFor('newConsumer', (d) => d.producerId === producerId, 10_000);
    await eventually(() => events.length >= 2, 'A hears of the new pipe and of its demand');
    assert.deepEqual(events.slice(0, 2), [[producerId, 0b111], [producerId, 0b001]], 'everything until told, then what B had asked for');
  });
});
