import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../relay/Coalescer.js';
import { tapIp } from '../../relay/LayerFilter.js';
import { clampDemand, forwardedLayers } from '../../relay/OutgoingPipe.js';

describe('relay demand: a far node\'s mask as the origin serves it', () => {
  const rows = [
    { name: 'a mask within the layers is kept', layers: 0b101, encodings: 3, want: 0b101 },
    { name: '0 stays 0 (nothing crosses)', layers: 0, encodings: 3, want: 0 },
    { name: 'a huge mask is clamped to the layers there are', layers: 0xffffffff, encodings: 3, want: 0b111 },
    { name: 'a layer above the top one asks for the top one', layers: 0b1000, encodings: 3, want: 0b100 },
    { name: 'audio or single-encoding video has only bit 0', layers: 0b110, encodings: 1, want: 0b1 },
    { name: 'negative is not a mask', layers: -1, encodings: 3, want: undefined },
    { name: 'a fraction is not a mask', layers: 1.5, encodings: 3, want: undefined },
    { name: 'above 2^32 is not a mask', layers: 2 ** 32, encodings: 3, want: undefined },
    { name: 'a string is not a mask', layers: '7', encodings: 3, want: undefined },
  ];
  for (const r of rows) it(r.name, () => assert.equal(clampDemand(r.layers, r.encodings), r.want));

  const fwd = [
    { name: 'no demand forwards nothing', demand: 0, want: 0 },
    { name: 'layer 0 alone is layer 0', demand: 0b001, want: 0b001 },
    { name: 'the top layer comes with layer 0 as the floor', demand: 0b100, want: 0b101 },
    { name: 'everything is everything', demand: 0b111, want: 0b111 },
  ];
  for (const r of fwd) it(`forwarded: ${r.name}`, () => assert.equal(forwardedLayers(r.demand), r.want));

  it('the tap listens where it can connect to itself', () => {
    assert.equal(tapIp('0.0.0.0'), '127.0.0.1');
    assert.equal(tapIp('::'), '::1');
    assert.equal(tapIp('10.1.2.3'), '10.1.2.3');
  });
});

describe('Coalescer: the latest value per key, at most one flush per interval', () => {
  function harness() {
    let now = 0;
    const timers: { at: number; fn: () => void; cleared: boolean }[] = [];
    const flushed: [string, number][] = [];
    const c = new Coalescer<string, number>({
      intervalMs: 100,
      flush: (k, v) => flushed.push([k, v]),
      now: () => now,
      setTimer: (fn, ms) => {
        const t = { at: now + ms, fn, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => ((t as { cleared: boolean }).cleared = true),
    });
    const advance = (ms: number) => {
      now += ms;
      for (const t of timers) if (!t.cleared && t.at <= now) {
        t.cleared = true;
        t.fn();
      }
    };
    return { c, flushed, advance };
  }

  type Step = ['set', string, number] | ['advance', number] | ['resend', string] | ['delete', string] | ['close'];
  const flood = (n: number): Step[] => Array.from({ length: n }, (_, i): Step => ['set', 'p', i + 1]);
  /** Runs `steps` on a fresh coalescer (interval 100 ms, a clock that moves only when told). */
  function run(steps: Step[]) {
    const h = harness();
    for (const step of steps) {
      if (step[0] === 'set') h.c.set(step[1], step[2]);
      else if (step[0] === 'advance') h.advance(step[1]);
      else if (step[0] === 'resend') h.c.resend(step[1]);
      else if (step[0] === 'delete') h.c.delete(step[1]);
      else h.c.close();
    }
    return h;
  }

  const dropping: Step[] = [['set', 'p', 1], ['set', 'p', 2], ['set', 'q', 1], ['set', 'q', 2], ['delete', 'p'], ['close'], ['close'], ['set', 'q', 3], ['advance', 500]];
  // What was flushed after each script: the spec of the coalescer.
  const cases: { name: string; steps: Step[]; flushed: [string, number][] }[] = [
    { name: 'sends the first change at once', steps: [['set', 'p', 3]], flushed: [['p', 3]] },
    { name: 'folds a flood: nothing more within the interval', steps: [...flood(50), ['advance', 99]], flushed: [['p', 1]] },
    { name: 'folds a flood into one trailing flush with the last value', steps: [...flood(50), ['advance', 100]], flushed: [['p', 1], ['p', 50]] },
    { name: 'sends nothing for an unchanged value, nor for one that came back within the interval', steps: [['set', 'p', 1], ['set', 'p', 1], ['set', 'p', 2], ['set', 'p', 1], ['advance', 200]], flushed: [['p', 1]] },
    { name: 'keeps keys apart', steps: [['set', 'p', 1], ['set', 'q', 2]], flushed: [['p', 1], ['q', 2]] },
    { name: 'resends the latest value on demand, changed or not', steps: [['set', 'p', 5], ['advance', 500], ['resend', 'p'], ['resend', 'unknown']], flushed: [['p', 5], ['p', 5]] },
    {
      name: 'drops pending flushes when a key is deleted or the coalescer closes (twice is fine)',
      steps: dropping,
      flushed: [['p', 1], ['q', 1]],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(run(c.steps).flushed, c.flushed));

  it('forgets a deleted key', () => assert.equal(run(dropping).c.get('p'), undefined));
});
