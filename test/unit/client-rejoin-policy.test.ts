import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AVOID_FOR_MS, nodesToAvoid, REJOIN_BACKOFF, rejoinDelayMs, type RejoinBackoff } from '../../client/sdk/rejoinPolicy.js';

// The web client's rejoin policy as tables: how long attempt n waits for a given draw of the
// random source, and which failed nodes a route request names.

const fixed = (r: number) => (): number => r;

describe('rejoin delay', () => {
  const rows: { name: string; attempt: number; random: number; want: number; policy?: RejoinBackoff }[] = [
    { name: 'the first rejoin after a healthy session goes almost at once', attempt: 0, random: 0, want: 0 },
    { name: '…spread over 0-300 ms, so one node\'s users do not arrive together', attempt: 0, random: 0.999, want: 300 },
    { name: 'attempt 1: 0.5-1 s (low draw)', attempt: 1, random: 0, want: 500 },
    { name: 'attempt 1: 0.5-1 s (high draw)', attempt: 1, random: 1, want: 1000 },
    { name: 'attempt 2 doubles', attempt: 2, random: 1, want: 2000 },
    { name: 'attempt 3 doubles again', attempt: 3, random: 0.5, want: 3000 },
    { name: 'attempt 5: 8-16 s', attempt: 5, random: 0, want: 8000 },
    { name: 'attempt 6 reaches the 30 s cap', attempt: 6, random: 1, want: 30_000 },
    { name: 'the cap holds however many attempts', attempt: 50, random: 1, want: 30_000 },
    { name: 'past the cap the jitter still spreads retries over 15-30 s', attempt: 1000, random: 0, want: 15_000 },
    { name: 'a random source out of range is clamped', attempt: 1, random: 7, want: 1000 },
    { name: 'another policy: its own base and cap', attempt: 3, random: 1, want: 400, policy: { firstMaxMs: 0, baseMs: 100, maxMs: 400 } },
  ];
  for (const row of rows) {
    it(row.name, () => assert.equal(rejoinDelayMs(row.attempt, fixed(row.random), row.policy), row.want));
  }

  it('never rejoins every half second for long: 20 attempts in a row take minutes, even on the lowest draws', () => {
    let total = 0;
    for (let a = 0; a < 20; a++) total += rejoinDelayMs(a, fixed(0));
    // The behaviour this replaces: a join every ~0.57 s, i.e. 20 joins in about 11 s.
    assert.ok(total >= 3 * 60_000, `${total} ms`);
    assert.equal(REJOIN_BACKOFF.maxMs, 30_000);
  });

  it('refuses a negative or fractional attempt', () => {
    assert.throws(() => rejoinDelayMs(-1, Math.random), TypeError);
    assert.throws(() => rejoinDelayMs(1.5, Math.random), TypeError);
  });
});

describe('nodes to avoid', () => {
  const now = 1_000_000;
  const rows: { name: string; failed: [string, number][]; want: string[]; max?: number }[] = [
    { name: 'none failed: nothing to avoid', failed: [], want: [] },
    { name: 'the node that just failed', failed: [['eu-west-1', now - 100]], want: ['eu-west-1'] },
    { name: 'most recent first', failed: [['a', now - 5000], ['b', now - 10], ['c', now - 2000]], want: ['b', 'c', 'a'] },
    { name: 'a node failed on long ago is offered again (it may have restarted)', failed: [['old', now - AVOID_FOR_MS], ['new', now - 1]], want: ['new'] },
    { name: 'at most max ids, the oldest dropped', failed: [['a', now - 3], ['b', now - 2], ['c', now - 1]], max: 2, want: ['c', 'b'] },
  ];
  for (const row of rows) {
    it(row.name, () => assert.deepEqual(nodesToAvoid(new Map(row.failed), now, AVOID_FOR_MS, row.max), row.want));
  }
});
