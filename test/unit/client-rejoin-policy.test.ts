import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AVOID_FOR_MS, nodesToAvoid, REJOIN_BACKOFF, rejoinDelayMs, type RejoinBackoff } from '../../client/sdk/rejoinPolicy.js';
import { assertDoublingToCap } from '../helpers/backoff.js';

// The web client's rejoin policy as tables: how long attempt n waits for a given draw of the
// random source, and which failed nodes a route request names.

const fixed = (r: number) => (): number => r;

describe('rejoin delay', () => {
  const rows: { name: string; attempt: number; random: number; want: number; policy?: RejoinBackoff }[] = [
    { name: 'the first rejoin after a healthy session goes almost at once', attempt: 0, random: 0, want: 0 },
    { name: '…spread over 0-300 ms, so one node\'s users do not arrive together', attempt: 0, random: 0.999, want: 300 },
    { name: 'attempt 3: 2-4 s, the middle draw in the middle', attempt: 3, random: 0.5, want: 3000 },
    { name: 'a random source out of range is clamped', attempt: 1, random: 7, want: 1000 },
    { name: 'another policy: its own base and cap', attempt: 3, random: 1, want: 400, policy: { firstMaxMs: 0, baseMs: 100, maxMs: 400 } },
  ];
  for (const row of rows) {
    it(row.name, () => assert.equal(rejoinDelayMs(row.attempt, fixed(row.random), row.policy), row.want));
  }

  // The highest draw: 1 s at attempt 1, 2 s at 2, … the 30 s cap at 6, and for ever after.
  it('from attempt 1 the longest wait doubles from 1 s to the 30 s cap, which holds however many attempts', () =>
    assertDoublingToCap((attempt) => rejoinDelayMs(attempt, fixed(1)), { from: 1, firstMs: 1000, capMs: 30_000 }));
  // The lowest: half of it (0.5 s at attempt 1, 8 s at 5); past the cap retries still spread over 15-30 s.
  it('and the shortest is half of it: 0.5 s at attempt 1, 8 s at 5, 15 s past the cap', () =>
    assertDoublingToCap((attempt) => rejoinDelayMs(attempt, fixed(0)), { from: 1, firstMs: 500, capMs: 15_000 }));

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
