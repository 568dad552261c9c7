import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitsToStamp, lumaToBits, stampBits, summarize, type GlassToGlassReads } from '../lab/measure/glassToGlass.js';
import { decodingPeers, diffSnapshots, lostStreams, type PageSnapshot, type StreamSnapshot, type StreamWindow } from '../lab/measure/quality.js';
import { formatGlassToGlass, formatSenderTable, formatTable, freezeMsPerMin, textTable } from '../lab/measure/report.js';
import { diffSender, type LayerSnapshot, type SenderSnapshot } from '../lab/measure/sender.js';

/** A window row with everything zero but what the case sets. */
function testRow(receiver: string, peerName: string, over: Partial<StreamWindow> = {}): StreamWindow {
  return {
    receiver, receiverRegion: null, key: `${peerName}/video`, peerName, peerRegion: null, kind: 'video', seconds: 60,
    fps: 30, freezeCount: 0, freezeMs: 0, nackCount: 0, pliCount: 0, jbMsPerFrame: 20, frameWidth: 1280, frameHeight: 720,
    spatialLayer: 2, temporalLayer: 2, packetsLost: 0, packetsReceived: 1000, lossFraction: 0, bytesPerS: 100_000, concealedFraction: null,
    restarted: false, gone: false, ...over,
  };
}

/** A stream snapshot with zero counters but what the case sets. */
function testStream(peerName: string, over: Partial<StreamSnapshot> = {}): StreamSnapshot {
  const kind = over.kind ?? 'video';
  return {
    key: `${peerName}/${kind}`, peerName, peerId: `id-${peerName}`, peerRegion: null, kind, source: kind === 'video' ? 'camera' : 'mic',
    consumerId: 'c1', statsId: 'IT01V1', ssrc: 1, spatialLayer: 2, temporalLayer: 2, producerPaused: false,
    packetsReceived: 0, packetsLost: 0, bytesReceived: 0, nackCount: 0, framesDecoded: 0, framesDropped: 0, keyFramesDecoded: 0,
    freezeCount: 0, totalFreezesDuration: 0, pliCount: 0, firCount: 0, frameWidth: 640, frameHeight: 360,
    jitterBufferDelay: 0, jitterBufferEmittedCount: 0, concealedSamples: 0, totalSamplesReceived: 0, ...over,
  };
}

const snap = (receiver: string, at: number, streams: StreamSnapshot[]): PageSnapshot => ({ receiver, at, state: 'joined', region: null, streams });

describe('lab report: freezeMsPerMin (total freeze per receiver-minute, worst receiver)', () => {
  const cases: { name: string; rows: StreamWindow[]; want: number; worst: string | null }[] = [
    { name: 'no rows: zero, no receiver', rows: [], want: 0, worst: null },
    { name: 'no freezes: zero', rows: [testRow('a', 'b'), testRow('b', 'a')], want: 0, worst: 'a' },
    {
      name: 'sums a receiver\'s streams and scales a 20 s window to a minute',
      rows: [testRow('a', 'b', { freezeMs: 100, seconds: 20 }), testRow('a', 'c', { freezeMs: 50, seconds: 20 }), testRow('b', 'a', { freezeMs: 120, seconds: 20 })],
      want: 450, worst: 'a',
    },
    {
      name: 'the worst receiver wins, not the sum over receivers',
      rows: [testRow('a', 'b', { freezeMs: 10 }), testRow('b', 'a', { freezeMs: 700 }), testRow('c', 'a', { freezeMs: 300 })],
      want: 700, worst: 'b',
    },
    {
      name: 'audio rows do not count',
      rows: [testRow('a', 'b', { kind: 'audio', freezeMs: 5000 }), testRow('a', 'c', { freezeMs: 60 })],
      want: 60, worst: 'a',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = freezeMsPerMin(c.rows);
      assert.equal(got.freezeMsPerMin, c.want);
      assert.equal(got.worstReceiver, c.worst);
    });
  }
});

describe('lab report: tables', () => {
  it('pads columns: names left, numbers right', () => {
    const t = textTable(['who', 'from', 'n'], [['alice', 'bob', '5'], ['b', 'c', '123']]);
    assert.equal(t, ['who    from    n', '-----  ----  ---', 'alice  bob     5', 'b      c     123'].join('\n'));
  });

  it('prints a row per receiver × remote stream with the condition\'s figure underneath', () => {
    const rows = [
      testRow('user-eu', 'user-ap', { fps: 29.5, freezeCount: 2, freezeMs: 340, nackCount: 7, pliCount: 1, jbMsPerFrame: 41.26, jbTargetMs: 280, frameWidth: 640, spatialLayer: 1, lossFraction: 0.0123, bytesPerS: 50_000 }),
      testRow('user-ap', 'user-eu', { restarted: true }),
      testRow('user-ap', 'user-us', { gone: true, fps: 0 }),
      testRow('user-eu', 'user-ap', { kind: 'audio', key: 'user-ap/audio', fps: null, jbMsPerFrame: null, spatialLayer: null, concealedFraction: 0.0456 }),
    ];
    const text = formatTable('loss 1 %', rows);
    const lines = text.split('\n');
    assert.equal(lines[0], '== loss 1 %');
    assert.match(lines[1]!, /^receiver\s+from\s+kind\s+fps\s+freezes\s+freeze ms\s+nack\s+pli\s+jb ms\/f\s+jb target\s+width\s+layer\s+loss %\s+conceal %\s+kbps$/);
    assert.equal(lines.length, 2 + 2 + rows.length, 'title, header, rule, rows, footer');
    const eu = lines.find((l) => l.startsWith('user-eu') && l.includes('video'))!;
    assert.deepEqual(eu.split(/\s+/), ['user-eu', 'user-ap', 'video', '29.5', '2', '340', '7', '1', '41.3', '280', '640', '1/2', '1.23', '-', '400']);
    const audio = lines.find((l) => l.includes('audio'))!;
    assert.deepEqual(audio.split(/\s+/), ['user-eu', 'user-ap', 'audio', '-', '-', '-', '0', '-', '-', '-', '-', '-', '0.00', '4.56', '800']);
    assert.ok(lines.some((l) => l.includes('user-eu (new)')), 'a replaced stream is marked');
    assert.ok(lines.some((l) => l.includes('user-us (gone)')), 'a stream that went away is marked');
    assert.ok(lines.indexOf(lines.find((l) => l.startsWith('user-ap'))!) < lines.indexOf(eu), 'sorted by receiver');
    assert.match(lines.at(-1)!, /^freezeMsPerMin 340 \(worst receiver user-eu; window 60\.0 s\)$/);
    assert.equal(formatTable('video only', rows, { kinds: ['video'] }).split('\n').length, 2 + 2 + 3);
  });

  it('prints glass-to-glass as one line, with dashes when nothing was read', () => {
    assert.equal(formatGlassToGlass('eu->ap', { goodReads: 12, badReads: 1, p50Ms: 141.6, p95Ms: 190.2, meanMs: 150 }), 'glass-to-glass eu->ap: p50 142 ms, p95 190 ms (12 good reads, 1 bad)');
    assert.equal(formatGlassToGlass('x', { goodReads: 0, badReads: 0, p50Ms: null, p95Ms: null, meanMs: null }), 'glass-to-glass x: p50 - ms, p95 - ms (0 good reads, 0 bad)');
  });
});

describe('lab quality: window deltas from two snapshots', () => {
  it('turns counters into rates and deltas over the window', () => {
    const a = snap('r', 1_000, [testStream('s', { packetsReceived: 100, packetsLost: 1, bytesReceived: 10_000, framesDecoded: 30, freezeCount: 1, totalFreezesDuration: 0.2, nackCount: 3, pliCount: 1, jitterBufferDelay: 0.6, jitterBufferEmittedCount: 30 })]);
    const b = snap('r', 11_000, [testStream('s', { packetsReceived: 1_090, packetsLost: 11, bytesReceived: 1_010_000, framesDecoded: 330, freezeCount: 3, totalFreezesDuration: 0.65, nackCount: 10, pliCount: 2, jitterBufferDelay: 9.6, jitterBufferEmittedCount: 330, frameWidth: 1280 })]);
    const [row, ...rest] = diffSnapshots(a, b);
    assert.deepEqual(rest, []);
    assert.equal(row!.seconds, 10);
    assert.equal(row!.fps, 30);
    assert.equal(row!.freezeCount, 2);
    assert.ok(Math.abs(row!.freezeMs - 450) < 1e-9);
    assert.equal(row!.nackCount, 7);
    assert.equal(row!.pliCount, 1);
    assert.equal(row!.jbMsPerFrame, 30);
    assert.equal(row!.frameWidth, 1280);
    assert.equal(row!.packetsLost, 10);
    assert.equal(row!.lossFraction, 10 / 1000);
    assert.equal(row!.bytesPerS, 100_000);
    assert.equal(row!.restarted, false);
    assert.equal(row!.gone, false);
  });

  it('counts a replaced stream (new stats id, a rejoin) from its own start', () => {
    const a = snap('r', 0, [testStream('s', { framesDecoded: 900, totalFreezesDuration: 5 })]);
    const b = snap('r', 10_000, [testStream('s', { statsId: 'IT02V9', ssrc: 7, framesDecoded: 100, totalFreezesDuration: 0.3 })]);
    const [row] = diffSnapshots(a, b);
    assert.equal(row!.restarted, true);
    assert.equal(row!.fps, 10);
    assert.ok(Math.abs(row!.freezeMs - 300) < 1e-9);
  });

  it('reports a stream that went away with zero rates, and a new one as counted from zero', () => {
    const a = snap('r', 0, [testStream('gone', { framesDecoded: 50 })]);
    const b = snap('r', 5_000, [testStream('new', { framesDecoded: 50, kind: 'audio', packetsReceived: 250 })]);
    const rows = diffSnapshots(a, b);
    assert.deepEqual(rows.map((r) => [r.key, r.gone, r.fps, r.packetsReceived]), [['gone/video', true, 0, 0], ['new/audio', false, null, 250]]);
  });

  it('refuses snapshots of two receivers', () => {
    assert.throws(() => diffSnapshots(snap('a', 0, []), snap('b', 1, [])), TypeError);
  });

  it('says which senders a page decoded between polls: growing frames only, a new stream once it decoded', () => {
    const a = snap('r', 0, [testStream('live', { framesDecoded: 10 }), testStream('frozen', { framesDecoded: 10 }), testStream('rejoined', { framesDecoded: 500 })]);
    const b = snap('r', 250, [
      testStream('live', { framesDecoded: 17 }),
      testStream('frozen', { framesDecoded: 10 }),
      testStream('rejoined', { statsId: 'new', framesDecoded: 3 }),
      testStream('arrived', { framesDecoded: 0 }),
    ]);
    assert.deepEqual(decodingPeers(a, b), ['live', 'rejoined']);
  });

  it('lists the streams that never reached a receiver over all snapshots', () => {
    const users = ['a', 'b', 'c'];
    const snaps = [
      snap('a', 0, [testStream('b', { framesDecoded: 1 }), testStream('b', { kind: 'audio', packetsReceived: 5 }), testStream('c', { framesDecoded: 0 })]),
      snap('a', 1, [testStream('c', { kind: 'audio', packetsReceived: 1 })]),
      snap('b', 0, [testStream('a', { framesDecoded: 9 }), testStream('a', { kind: 'audio', packetsReceived: 9 }), testStream('c', { framesDecoded: 9 }), testStream('c', { kind: 'audio', packetsReceived: 9 })]),
      snap('c', 0, [testStream('a', { framesDecoded: 9 }), testStream('b', { framesDecoded: 9 })]),
    ];
    assert.deepEqual(lostStreams(snaps, users), [
      { receiver: 'a', sender: 'c', kind: 'video' },
      { receiver: 'c', sender: 'a', kind: 'audio' },
      { receiver: 'c', sender: 'b', kind: 'audio' },
    ]);
    assert.deepEqual(lostStreams(snaps, users, ['video']), [{ receiver: 'a', sender: 'c', kind: 'video' }]);
  });
});

describe('lab glass-to-glass: the painted clock code', () => {
  const lumas = (bits: number[]): number[] => bits.map((b) => (b ? 30 : 220));

  it('reads back the time it was given, also across the 32-bit wrap', () => {
    for (const ms of [1_764_500_000_123, 1_764_500_000_124, 4294967295, 4294967296 * 411 + 5, 0x1_0000_0000 * 410 + 0xffff_fff0]) {
      const bits = lumaToBits(lumas(stampBits(ms)));
      assert.ok(bits, 'every block clearly black or white');
      assert.equal(bitsToStamp(bits, ms + 80), ms, `${ms} read 80 ms later`);
      assert.equal(bitsToStamp(bits, ms - 3), ms, `${ms} read by a clock 3 ms behind`);
    }
    const justBeforeWrap = 4294967296 * 411 - 10;
    assert.equal(bitsToStamp(stampBits(justBeforeWrap), justBeforeWrap + 30), justBeforeWrap);
  });

  it('drops a read with any one bit wrong, or two, or an all-black or all-white frame', () => {
    const good = stampBits(1_764_500_123_456);
    for (let i = 0; i < good.length; i++) {
      const bad = [...good];
      bad[i] = 1 - bad[i]!;
      assert.equal(bitsToStamp(bad, 1_764_500_123_500), null, `bit ${i} flipped`);
      const two = [...bad];
      two[(i + 17) % 48] = 1 - two[(i + 17) % 48]!;
      assert.equal(bitsToStamp(two, 1_764_500_123_500), null, `bits ${i} and ${(i + 17) % 48} flipped`);
    }
    assert.equal(bitsToStamp(new Array(48).fill(1), 1_764_500_123_500), null, 'black frame');
    assert.equal(bitsToStamp(new Array(48).fill(0), 1_764_500_123_500), null, 'white frame');
    assert.equal(bitsToStamp(good.slice(1), 1_764_500_123_500), null, 'short read');
  });

  it('refuses grey blocks (a smeared or half-changed frame) instead of guessing', () => {
    assert.deepEqual(lumaToBits([10, 240, 105, 150]), [1, 0, 1, 0]);
    assert.equal(lumaToBits([10, 240, 128, 240]), null);
  });

  it('summarises the good reads (optionally of one sender) with their percentiles', () => {
    const reads: GlassToGlassReads = {
      receiver: 'ap',
      onPresentedFrames: true,
      good: [10, 20, 30, 40, 50].map((d, i) => ({ peer: i < 4 ? 'eu' : 'us', peerRegion: null, at: i, delayMs: d, width: 640, onFrame: true })),
      bad: [{ peer: 'eu', at: 9, reason: 'crc' }, { peer: 'us', at: 9, reason: 'grey' }],
    };
    assert.deepEqual(summarize(reads), { goodReads: 5, badReads: 2, p50Ms: 30, p95Ms: 48, meanMs: 30 });
    assert.deepEqual(summarize([reads, reads], { peer: 'eu' }), { goodReads: 8, badReads: 2, p50Ms: 25, p95Ms: 40, meanMs: 25 });
    assert.deepEqual(summarize(reads, { peer: 'nobody' }), { goodReads: 0, badReads: 0, p50Ms: null, p95Ms: null, meanMs: null });
  });
});

describe('lab sender: the sending side over a window', () => {
  const layer = (rid: string, over: Partial<LayerSnapshot> = {}): LayerSnapshot => ({
    rid, frameWidth: 320, framesEncoded: 0, framesSent: 0, bytesSent: 0, retransmittedBytesSent: 0, nackCount: 0, pliCount: 0, firCount: 0,
    totalEncodeTime: 0, qualityLimitationReason: 'none', cpuLimitedS: 0, bandwidthLimitedS: 0, ...over,
  });
  const sender = (at: number, sourceFrames: number, layers: LayerSnapshot[]): SenderSnapshot => ({ sender: 'eu', at, sourceFrames, layers });

  it('turns per-layer counters into rates, and says what limited the encoder', () => {
    const a = sender(0, 100, [layer('r0', { framesEncoded: 100, bytesSent: 10_000, nackCount: 1, pliCount: 2, totalEncodeTime: 1 }), layer('r2', { frameWidth: 1280, framesEncoded: 90, bytesSent: 50_000 })]);
    const b = sender(10_000, 400, [
      layer('r0', { framesEncoded: 400, bytesSent: 135_000, retransmittedBytesSent: 2_500, nackCount: 4, pliCount: 3, totalEncodeTime: 4, cpuLimitedS: 2.5 }),
      layer('r2', { frameWidth: 640, framesEncoded: 290, bytesSent: 1_050_000, qualityLimitationReason: 'bandwidth', bandwidthLimitedS: 10 }),
    ]);
    const w = diffSender(a, b);
    assert.equal(w.seconds, 10);
    assert.equal(w.sourceFps, 30);
    const [r0, r2] = w.layers;
    assert.deepEqual([r0!.fps, r0!.kbps, r0!.retransmitKbps, r0!.nackCount, r0!.pliCount, r0!.encodeMsPerFrame, r0!.cpuLimitedFraction], [30, 100, 2, 3, 1, 10, 0.25]);
    assert.deepEqual([r2!.fps, r2!.kbps, r2!.frameWidth, r2!.qualityLimitationReason, r2!.bandwidthLimitedFraction], [20, 800, 640, 'bandwidth', 1]);
    const table = formatSenderTable('loss 0 %', [w]).split('\n');
    assert.equal(table[0], '== loss 0 % (senders)');
    assert.deepEqual(table[3]!.split(/\s{2,}/), ['eu', 'r0', '30.0', '30.0', '320', '100', '2', '3', '1', '10.0', 'none (cpu 25%)']);
    assert.deepEqual(table[4]!.split(/\s{2,}/), ['eu', 'r2', '30.0', '20.0', '640', '800', '0', '0', '0', '0.0', 'bandwidth (bw 100%)']);
  });

  it('counts a layer whose counters went back (a new send transport after a rejoin) from zero', () => {
    const w = diffSender(sender(0, 900, [layer('r0', { framesEncoded: 900, bytesSent: 900_000 })]), sender(5_000, 50, [layer('r0', { framesEncoded: 50, bytesSent: 25_000 })]));
    assert.equal(w.sourceFps, 10);
    assert.equal(w.layers[0]!.fps, 10);
    assert.equal(w.layers[0]!.kbps, 40);
  });

  it('refuses snapshots of two senders', () => {
    assert.throws(() => diffSender(sender(0, 0, []), { ...sender(1, 0, []), sender: 'ap' }), TypeError);
  });
});
