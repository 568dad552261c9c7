import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOLD_MS, holdAfter, holdEnded, NO_HOLD, STRIKE_WINDOW_MS, type StepDown } from '../../region-node/layerHold.js';

// When a consumer that bandwidth estimation stepped down is held at its layer, and for how long.

const down = (e: Partial<StepDown>): StepDown => ({ now: 1_000, from: 2, to: 1, preferred: 2, upperAlive: true, ...e });

describe('layer hold', () => {
  const notHeld: { name: string; e: StepDown }[] = [
    { name: 'a step up', e: down({ from: 1, to: 2 }) },
    { name: 'the same layer', e: down({ from: 1, to: 1 }) },
    { name: 'down to the layer this node asked for (its own change)', e: down({ from: 2, to: 1, preferred: 1 }) },
    { name: 'down because the layer above stopped at the publisher', e: down({ upperAlive: false }) },
  ];
  for (const row of notHeld) it(`holds nothing on ${row.name}`, () => assert.equal(holdAfter(NO_HOLD, row.e), null));

  it('holds a step down by the estimate at the layer it fell to, for the first hold time', () => {
    assert.deepEqual(holdAfter(NO_HOLD, down({ from: 2, to: 0 })), { cap: 0, until: 1_000 + HOLD_MS[0], strikes: 0, endedAt: -Infinity });
  });

  it('doubles the hold when the consumer falls again soon after a hold ended, up to the last', () => {
    let h = holdAfter(NO_HOLD, down({ now: 0 }))!;
    const lengths: number[] = [];
    for (let i = 0; i < HOLD_MS.length + 2; i++) {
      const ended = holdEnded(h, h.until);
      h = holdAfter(ended, down({ now: h.until + 2_000 }))!;
      lengths.push(h.until - (ended.endedAt + 2_000));
    }
    assert.deepEqual(lengths, [...HOLD_MS.slice(1), HOLD_MS.at(-1)!, HOLD_MS.at(-1)!, HOLD_MS.at(-1)!]);
  });

  it('starts again from the first hold time after a quiet while', () => {
    const h = holdAfter(holdEnded(holdAfter(NO_HOLD, down({ now: 0 }))!, 4_000), down({ now: 4_000 + STRIKE_WINDOW_MS + 1 }));
    assert.equal(h!.strikes, 0);
    assert.equal(h!.until, 4_000 + STRIKE_WINDOW_MS + 1 + HOLD_MS[0]);
  });

  it('lowers the cap and extends the hold on a further fall while held', () => {
    const h = holdAfter(NO_HOLD, down({ now: 0, from: 2, to: 1 }))!;
    const further = holdAfter(h, down({ now: 3_000, from: 1, to: 0, preferred: 1 }))!;
    assert.deepEqual(further, { cap: 0, until: 3_000 + HOLD_MS[0], strikes: 0, endedAt: -Infinity });
  });

  it('lifts the cap when a hold ends and remembers when', () => {
    assert.deepEqual(holdEnded(holdAfter(NO_HOLD, down({}))!, 9_000), { cap: null, until: 0, strikes: 0, endedAt: 9_000 });
  });
});
