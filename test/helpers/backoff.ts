import assert from 'node:assert/strict';

/**
 * The shape of every retry delay here: `firstMs` at attempt `from`, twice the one before at each
 * attempt after, until `capMs`, which then holds however many attempts follow. Checks attempts
 * `from`..60 and 1000 against it: every row a table of doublings would list, and the far end.
 */
export function assertDoublingToCap(delayOf: (attempt: number) => number, o: { from: number; firstMs: number; capMs: number }): void {
  const attempts = [...Array.from({ length: 61 - o.from }, (_, i) => o.from + i), 1000];
  for (const attempt of attempts) {
    const want = Math.min(o.capMs, o.firstMs * 2 ** Math.min(attempt - o.from, 40));
    assert.equal(delayOf(attempt), want, `attempt ${attempt}`);
  }
}
