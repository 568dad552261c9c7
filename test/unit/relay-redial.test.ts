import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redialDelayMs } from '../../relay/Cascade.js';

// The Cascade's re-dial delay as a table: failed dials in a row, how long the failed dial took.
describe('relay re-dial delay', () => {
  const rows = [
    { name: 'a link that was up and broke waits the shortest delay', attempt: 0, tookMs: 0, want: 250 },
    { name: 'doubles after each failed dial', attempt: 1, tookMs: 0, want: 500 },
    { name: 'is capped at 1 s, so a path that comes back is tried within a second', attempt: 2, tookMs: 0, want: 1000 },
    { name: 'stays at the cap however many dials failed', attempt: 30, tookMs: 0, want: 1000 },
    { name: 'counts the time the failed dial took', attempt: 2, tookMs: 400, want: 600 },
    { name: 'a stalled connect abandoned after 1 s is dialled again at once', attempt: 5, tookMs: 1000, want: 0 },
    { name: 'never negative', attempt: 0, tookMs: 5000, want: 0 },
  ];
  for (const r of rows) it(r.name, () => assert.equal(redialDelayMs(r.attempt, r.tookMs), r.want));
});
