import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createWorker, type types } from 'mediasoup';
import { createLogger } from '../../core/logger.js';
import { MEDIA_CODECS } from '../../region-node/mediaCodecs.js';
import { LayerFilter } from '../../relay/LayerFilter.js';
import { eventually, sleep, untilFlowing } from '../helpers/node.js';
import { encodingPackets, simulcastRtpParameters, startSimulcastSender, THREE_LAYERS } from '../helpers/simulcast.js';

// The LayerFilter on a real worker, without nodes around it: its lifetime (it goes with its
// producer, its router, or close()), its layer switch, and what it costs the worker next to a
// plain pipe of the producer (SRTP pipe pair, as between nodes).
const log = createLogger({ level: 'silent' });
const IP = '127.0.0.1';
/** How long stopped layers are watched for a packet that must not come (30 frames a second). */
const STOPPED_WINDOW_MS = 1000;
/** The window a bitrate and the worker's CPU are measured over (a rate needs a duration). */
const MEASURE_MS = 4000;

describe('LayerFilter on a real worker', () => {
  let worker: types.Worker;
  let origin: types.Router;
  let far: types.Router;
  const stops: (() => void)[] = [];
  let nextSsrc = 20_000;

  before(async () => {
    worker = await createWorker({ logLevel: 'error' });
    origin = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    far = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  });

  after(() => {
    for (const s of stops) s();
    worker?.close();
  });

  /** A 3-layer VP8 publisher on `router` (plain transport, comedia), sending. */
  async function publish(router = origin): Promise<types.Producer> {
    const t = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: IP }, rtcpMux: true, comedia: true });
    const layers = THREE_LAYERS(nextSsrc);
    nextSsrc += 10;
    const producer = await t.produce({ kind: 'video', rtpParameters: simulcastRtpParameters(layers) as types.RtpParameters });
    const sender = await startSimulcastSender({ ip: IP, port: t.tuple.localPort }, layers);
    stops.push(() => sender.stop());
    producer.observer.once('close', () => sender.stop());
    return producer;
  }

  const transportCount = async (router: types.Router) => (await router.dump()).transportIds.length;

  it('is needed only for simulcast video', async () => {
    const p = await publish();
    assert.equal(LayerFilter.applies(p), true);
    const t = await origin.createPlainTransport({ listenInfo: { protocol: 'udp', ip: IP }, rtcpMux: true, comedia: true });
    const single = await t.produce({ kind: 'video', rtpParameters: simulcastRtpParameters([{ ssrc: 99, packetsPerFrame: 1, bytes: 100 }]) as types.RtpParameters });
    assert.equal(LayerFilter.applies(single), false);
    await assert.rejects(LayerFilter.create({ router: origin, producer: single, listenIp: IP, log }), TypeError);
    t.close();
    p.close();
  });

  it('forwards only the layers asked for, each on its own encoding of P*', async () => {
    const p = await publish();
    const f = await LayerFilter.create({ router: origin, producer: p, listenIp: IP, log, layers: 0b111 });
    assert.equal(f.producer.rtpParameters.encodings?.length, 3);
    assert.equal(f.producer.type, 'simulcast');
    const packets = async () => (await f.tapStats()).map((s) => s.packets);
    await eventually(async () => (await packets()).every((n) => n > 20), 'all three layers flow through the tap', 10_000);
    const inStar = async () => (await f.producer.getStats()).filter((s) => s.type === 'inbound-rtp').length;
    assert.equal(await inStar(), 3, 'P* receives three streams');
    f.setLayers(0b001);
    await untilFlowing(packets, [0], 'only layer 0 flows through the tap');
    const before = await packets();
    await sleep(STOPPED_WINDOW_MS); // watching layers 1 and 2 for a packet
    const after = await packets();
    assert.equal(after[1], before[1], 'layer 1 stopped');
    assert.equal(after[2], before[2], 'layer 2 stopped');
    await eventually(async () => (await packets())[0]! > before[0]!, 'layer 0 still flows');
    f.setLayers(0b100);
    await eventually(async () => (await packets())[2]! > after[2]!, 'layer 2 comes back when asked for', 10_000);
    f.close();
    p.close();
  });

  it('closes with its producer, with its router, and on close() (synchronous, idempotent)', async () => {
    const base = await transportCount(origin);
    const p1 = await publish();
    const f1 = await LayerFilter.create({ router: origin, producer: p1, listenIp: IP, log });
    let closed = 0;
    f1.on('@close', () => closed++);
    assert.equal(await transportCount(origin), base + 3, 'the publisher\'s transport and the tap pair');
    p1.close();
    assert.equal(f1.closed, true, 'closed with its producer, at once');
    assert.equal(f1.producer.closed, true);
    assert.equal(closed, 1);
    assert.equal(await transportCount(origin), base + 1, 'the tap pair is gone');

    const p2 = await publish();
    const f2 = await LayerFilter.create({ router: origin, producer: p2, listenIp: IP, log });
    f2.close();
    f2.close();
    assert.equal(f2.closed && f2.producer.closed, true);
    assert.equal(await transportCount(origin), base + 2);
    p2.close();

    const r = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const f3 = await LayerFilter.create({ router: r, producer: await publish(r), listenIp: IP, log });
    r.close();
    assert.equal(f3.closed, true, 'closed with its router');
  });

  it('costs the worker little next to the SRTP pipe it feeds (diagnostic)', async (t) => {
    const pubs = await Promise.all([1, 2, 3, 4].map(() => publish()));
    const cpu = async () => {
      const u = await worker.getResourceUsage();
      return u.ru_utime + u.ru_stime;
    };
    /** Worker CPU % and the far pipe producers' received kbit/s over a window, once exactly `layers` arrive there. */
    const window = async (producers: types.Producer[], layers: number[]) => {
      const count = async () => {
        const stats = (await Promise.all(producers.map((p) => p.getStats()))).flat();
        return { bytes: stats.reduce((n, s) => n + s.byteCount, 0), packets: stats.reduce((n, s) => n + s.packetCount, 0) };
      };
      if (producers.length) await untilFlowing(() => encodingPackets(producers), layers, `layers [${layers}] arrive at the far router, no other`);
      const [c0, n0, t0] = [await cpu(), await count(), performance.now()];
      await sleep(MEASURE_MS);
      const ms = performance.now() - t0;
      const n1 = await count();
      return { cpuPct: Math.round((((await cpu()) - c0) / ms) * 1000) / 10, kbps: Math.round(((n1.bytes - n0.bytes) * 8) / ms), pps: Math.round(((n1.packets - n0.packets) * 1000) / ms) };
    };
    const pipePair = async () => {
      const opts = { listenInfo: { protocol: 'udp' as const, ip: IP }, enableSrtp: true, enableRtx: true };
      const [t1, t2] = await Promise.all([origin.createPipeTransport(opts), far.createPipeTransport(opts)]);
      await t1.connect({ ip: IP, port: t2.tuple.localPort, srtpParameters: t2.srtpParameters! });
      await t2.connect({ ip: IP, port: t1.tuple.localPort, srtpParameters: t1.srtpParameters! });
      const pipe = async (producerId: string) => {
        const c = await t1.consume({ producerId });
        return t2.produce({ kind: c.kind, rtpParameters: c.rtpParameters });
      };
      return { pipe, close: () => (t1.close(), t2.close()) };
    };

    const idle = await window([], []);
    const plain = await pipePair();
    const direct = await window(await Promise.all(pubs.map((p) => plain.pipe(p.id))), [0, 1, 2]);
    plain.close();
    const filtered = await pipePair();
    const filters = await Promise.all(pubs.map((p) => LayerFilter.create({ router: origin, producer: p, listenIp: IP, log })));
    const farProducers = await Promise.all(filters.map((f) => filtered.pipe(f.producer.id)));
    const all = await window(farProducers, [0, 1, 2]);
    for (const f of filters) f.setLayers(0b001);
    const low = await window(farProducers, [0]);
    for (const f of filters) f.setLayers(0);
    const none = await window(farProducers, []);
    filtered.close();
    for (const f of filters) f.close();
    for (const p of pubs) p.close();
    const figures = { idle, direct, filteredAll: all, filteredLayer0: low, filteredNone: none };
    t.diagnostic(`4 publishers x 3 layers, worker CPU % and kbit/s crossing: ${JSON.stringify(figures)}`);
    assert.ok(direct.kbps > 0 && all.kbps > 0, 'media crosses both ways');
    assert.ok(low.kbps < 0.25 * all.kbps, `layer 0 alone (${low.kbps}) is far below all layers (${all.kbps})`);
    assert.equal(none.kbps, 0, 'nothing crosses with no layer asked for');
  });
});
