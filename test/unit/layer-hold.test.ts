import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOLD_MS, holdAfter, holdTick, NO_HOLD, STEP_MS, STRIKE_WINDOW_MS, type LayerHold, type StepDown } from '../../region-node/layerHold.js';

// When a consumer that bandwidth estimation stepped down is held, for how long, and how its cap
// comes back up (three spatial layers, 0-2).

const down = (e: Partial<StepDown>): StepDown => ({ now: 1_000, from: 2, to: 1, preferred: 2, upperAlive: true, ...e });
/** Ticks as the timer would, with the consumer reaching each cap at once; returns the caps seen and when the cap went. */
function rise(h: LayerHold): { caps: (number | null)[]; freeAt: number } {
  const caps: (number | null)[] = [];
  while (h.cap !== null) {
    h = holdTick(h, h.until, 3, h.cap);
    caps.push(h.cap);
  }
  return { caps, freeAt: h.raisedAt };
}

describe('layer hold', () => {
  const notHeld: { name: string; e: StepDown }[] = [
    { name: 'a step up', e: down({ from: 1, to: 2 }) },
    { name: 'the same layer', e: down({ from: 1, to: 1 }) },
    { name: 'down to the layer this node asked for (its own change)', e: down({ from: 2, to: 1, preferred: 1 }) },
    { name: 'down because the layer above stopped at the publisher', e: down({ upperAlive: false }) },
  ];
  for (const row of notHeld) it(`holds nothing on ${row.name}`, () => assert.equal(holdAfter(NO_HOLD, row.e), null));

  it('holds a step down by the estimate at the layer it fell to, for the first hold time', () => {
    assert.deepEqual(holdAfter(NO_HOLD, down({ from: 2, to: 0 })), { phase: 'held', cap: 0, until: 1_000 + HOLD_MS[0], strikes: 0, raisedAt: -Infinity });
  });

  it('then raises the cap one layer a step, and lifts it above the top layer', () => {
    const held = holdAfter(NO_HOLD, down({ now: 0, from: 2, to: 0 }))!;
    const { caps, freeAt } = rise(held);
    assert.deepEqual(caps, [1, null]);
    assert.equal(freeAt, HOLD_MS[0] + STEP_MS);
  });

  it('waits at a cap the consumer has not reached yet', () => {
    const rising = holdTick(holdAfter(NO_HOLD, down({ now: 0, from: 2, to: 0 }))!, HOLD_MS[0], 3, 0);
    assert.equal(rising.cap, 1);
    const waiting = holdTick(rising, rising.until, 3, 0);
    assert.deepEqual(waiting, { ...rising, until: rising.until + STEP_MS });
    assert.equal(holdTick(waiting, waiting.until, 3, undefined).cap, null, 'a consumer sending nothing (paused) does not hold the cap back');
  });

  it('doubles the hold when the consumer falls again soon after the cap was raised, up to the last', () => {
    let h = holdAfter(NO_HOLD, down({ now: 0 }))!;
    const lengths: number[] = [];
    for (let i = 0; i < HOLD_MS.length + 2; i++) {
      const risen = holdTick(h, h.until, 3, h.cap!);
      h = holdAfter(risen, down({ now: risen.raisedAt + 2_000 }))!;
      lengths.push(h.until - (risen.raisedAt + 2_000));
    }
    assert.deepEqual(lengths, [...HOLD_MS.slice(1), HOLD_MS.at(-1)!, HOLD_MS.at(-1)!, HOLD_MS.at(-1)!]);
  });

  it('counts a fall while the cap is rising as a failed step up', () => {
    const rising = holdTick(holdAfter(NO_HOLD, down({ now: 0, from: 2, to: 0 }))!, HOLD_MS[0], 3, 0);
    const again = holdAfter(rising, down({ now: HOLD_MS[0] + 1_000, from: 1, to: 0, preferred: 1 }))!;
    assert.deepEqual(again, { phase: 'held', cap: 0, until: HOLD_MS[0] + 1_000 + HOLD_MS[1], strikes: 1, raisedAt: HOLD_MS[0] });
  });

  it('starts again from the first hold time after a quiet while', () => {
    const free = holdTick(holdAfter(NO_HOLD, down({ now: 0 }))!, 4_000, 3, 1);
    assert.equal(free.cap, null);
    const h = holdAfter(free, down({ now: 4_000 + STRIKE_WINDOW_MS + 1 }))!;
    assert.equal(h.strikes, 0);
    assert.equal(h.until, 4_000 + STRIKE_WINDOW_MS + 1 + HOLD_MS[0]);
  });

  it('lowers the cap and extends the hold on a further fall while held', () => {
    const h = holdAfter(NO_HOLD, down({ now: 0, from: 2, to: 1 }))!;
    const further = holdAfter(h, down({ now: 3_000, from: 1, to: 0, preferred: 1 }))!;
    assert.deepEqual(further, { phase: 'held', cap: 0, until: 3_000 + HOLD_MS[0], strikes: 0, raisedAt: -Infinity });
  });
});
