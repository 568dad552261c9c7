import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JITTER_POLICY, nextJitterTarget, type ReceiverCounters, type RepairWatch } from '../../client/sdk/jitterPolicy.js';
import { filteredRttMs } from '../../relay/LinkRtt.js';
import { relayRttWorthTelling } from '../../region-node/RoomCascade.js';

// The jitter buffer policy for relayed video as a table: one poll of one receiver, given what
// the previous poll saw, the counters now, the relay RTT and the clock.

const watch = (nackCount: number, packetsLost: number, lastRepairAt: number | null, packetsDiscarded = 0): RepairWatch => ({ nackCount, packetsLost, packetsDiscarded, lastRepairAt });
const counters = (nackCount: number, packetsLost: number, packetsDiscarded = 0): ReceiverCounters => ({ nackCount, packetsLost, packetsDiscarded });

describe('jitter buffer target for relayed video', () => {
  const rows: { name: string; prev: RepairWatch | null; now: ReceiverCounters; rtt: number | null | undefined; at: number; want: number | null; wantLast: number | null }[] = [
    { name: 'first poll: its counters are a baseline, not a repair', prev: null, now: counters(40, 3), rtt: 220, at: 1_000, want: null, wantLast: null },
    { name: 'no loss: the browser keeps its own (lowest) delay', prev: watch(0, 0, null), now: counters(0, 0), rtt: 220, at: 2_000, want: null, wantLast: null },
    { name: 'a NACK across a 150 ms relay (us↔ap): wait two RTTs + 60 ms', prev: watch(0, 0, null), now: counters(1, 0), rtt: 150, at: 3_000, want: 360, wantLast: 3_000 },
    { name: 'packets lost (not NACKed) count as a repair seen too', prev: watch(5, 0, null), now: counters(5, 2), rtt: 80, at: 3_000, want: 220, wantLast: 3_000 },
    { name: 'audio: packets discarded for arriving late (repaired one relay RTT late) count too', prev: watch(0, 0, null, 4), now: counters(0, 0, 6), rtt: 150, at: 3_000, want: 360, wantLast: 3_000 },
    { name: 'quiet for 9.9 s after the last repair: still held', prev: watch(7, 1, 3_000), now: counters(7, 1), rtt: 150, at: 12_900, want: 360, wantLast: 3_000 },
    { name: 'quiet for 10 s: dropped, back to the browser\'s own', prev: watch(7, 1, 3_000), now: counters(7, 1), rtt: 150, at: 13_000, want: null, wantLast: 3_000 },
    { name: 'a new repair restarts the hold', prev: watch(7, 1, 3_000), now: counters(8, 1), rtt: 150, at: 12_000, want: 360, wantLast: 12_000 },
    { name: 'eu↔ap (220 ms): two rounds would be 500 ms, capped at 400', prev: watch(0, 0, null), now: counters(3, 0), rtt: 220, at: 1_000, want: 400, wantLast: 1_000 },
    { name: 'RTT not measured yet (0): no target, the repair is remembered', prev: watch(0, 0, null), now: counters(3, 0), rtt: 0, at: 1_000, want: null, wantLast: 1_000 },
    { name: '…and once measured, the remembered repair applies', prev: watch(3, 0, 1_000), now: counters(3, 0), rtt: 75, at: 2_000, want: 210, wantLast: 1_000 },
    { name: 'local media (no relay RTT): never a target', prev: watch(0, 0, null), now: counters(9, 9), rtt: undefined, at: 1_000, want: null, wantLast: 1_000 },
    { name: 'a nonsense RTT is no RTT', prev: watch(0, 0, null), now: counters(9, 0), rtt: Number.NaN, at: 1_000, want: null, wantLast: 1_000 },
    { name: 'counters that went backwards (stats reset) are a baseline, not a repair', prev: watch(50, 4, null), now: counters(2, 0), rtt: 220, at: 1_000, want: null, wantLast: null },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = nextJitterTarget(r.prev, r.now, r.rtt, r.at);
      assert.equal(got.targetMs, r.want);
      assert.equal(got.watch.lastRepairAt, r.wantLast);
      assert.deepEqual([got.watch.nackCount, got.watch.packetsLost, got.watch.packetsDiscarded], [r.now.nackCount, r.now.packetsLost, r.now.packetsDiscarded]);
    });
  }

  it('follows a loss episode poll by poll: on while repairs come, off 10 s after the last', () => {
    const nacks = [0, 0, 2, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5];
    let prev: RepairWatch | null = null;
    const targets: (number | null)[] = [];
    nacks.forEach((n, i) => {
      const r = nextJitterTarget(prev, counters(n, 0), 150, i * 1_000);
      prev = r.watch;
      targets.push(r.targetMs);
    });
    // Repairs seen at t = 2 s and 3 s; held until t = 12.999 s.
    assert.deepEqual(targets, [null, null, 360, 360, 360, 360, 360, 360, 360, 360, 360, 360, 360, null, null, null]);
  });

  it('takes another policy', () => {
    assert.equal(nextJitterTarget(watch(0, 0, null), counters(1, 0), 100, 0, { ...JITTER_POLICY, marginMs: 10, capMs: 50 }).targetMs, 50);
    assert.equal(nextJitterTarget(watch(0, 0, null), counters(1, 0), 100, 0, { ...JITTER_POLICY, repairRounds: 1 }).targetMs, 160, 'one repair round');
    assert.equal(nextJitterTarget(watch(0, 0, null), counters(1, 0), 220, 0, { ...JITTER_POLICY, repairRounds: 2 }).targetMs, 400, '…capped');
  });
});

describe('relay path RTT filter (LinkRtt)', () => {
  const rows: { name: string; samples: number[]; want: number }[] = [
    { name: 'no sample yet: 0', samples: [], want: 0 },
    { name: 'one sample', samples: [221.4], want: 221.4 },
    { name: 'a ping that waited for a TCP retransmission does not count', samples: [221, 480, 223, 219.5, 650], want: 219.5 },
    { name: 'nonsense samples are skipped', samples: [Number.NaN, -3, 80], want: 80 },
  ];
  for (const r of rows) it(r.name, () => assert.equal(filteredRttMs(r.samples), r.want));
});

describe('when a new relay RTT is worth a consumerRelayRtt notification', () => {
  const rows: { name: string; told: number; now: number; want: boolean }[] = [
    { name: 'first measurement after a consumer made before it', told: 0, now: 221, want: true },
    { name: 'still unmeasured', told: 0, now: 0, want: false },
    { name: 'a few ms of drift', told: 221, now: 228, want: false },
    { name: '15 % more: not worth it', told: 200, now: 230, want: false },
    { name: 'a path that got much slower', told: 80, now: 220, want: true },
    { name: 'a path that got much faster', told: 220, now: 80, want: true },
    { name: 'loopback jitter: more than 20 % but under 10 ms', told: 0.4, now: 3, want: false },
  ];
  for (const r of rows) it(r.name, () => assert.equal(relayRttWorthTelling(r.told, r.now), r.want));
});
