import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redialDelayMs } from '../../relay/Cascade.js';
import { assertDoublingToCap } from '../helpers/backoff.js';

// The Cascade's re-dial delay as a table: failed dials in a row, how long the failed dial took.
describe('relay re-dial delay', () => {
  it('waits 250 ms after a link that was up broke, doubles after each failed dial, and stays at a 1 s cap (a path that comes back is tried within a second)', () =>
    assertDoublingToCap((attempt) => redialDelayMs(attempt, 0), { from: 0, firstMs: 250, capMs: 1000 }));

  const rows = [
    { name: 'counts the time the failed dial took', attempt: 2, tookMs: 400, want: 600 },
    { name: 'a stalled connect abandoned after 1 s is dialled again at once', attempt: 5, tookMs: 1000, want: 0 },
    { name: 'never negative', attempt: 0, tookMs: 5000, want: 0 },
  ];
  for (const r of rows) it(r.name, () => assert.equal(redialDelayMs(r.attempt, r.tookMs), r.want));
});
