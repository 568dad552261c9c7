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

  it('sends the first change at once', () => {
    const h = harness();
    h.c.set('p', 3);
    assert.deepEqual(h.flushed, [['p', 3]]);
  });

  it('folds a flood into one trailing flush with the last value', () => {
    const h = harness();
    for (let i = 1; i <= 50; i++) h.c.set('p', i);
    assert.deepEqual(h.flushed, [['p', 1]]);
    h.advance(99);
    assert.equal(h.flushed.length, 1);
    h.advance(1);
    assert.deepEqual(h.flushed, [['p', 1], ['p', 50]]);
  });

  it('sends nothing for an unchanged value, nor for one that came back within the interval', () => {
    const h = harness();
    h.c.set('p', 1);
    h.c.set('p', 1);
    h.c.set('p', 2);
    h.c.set('p', 1);
    h.advance(200);
    assert.deepEqual(h.flushed, [['p', 1]]);
  });

  it('keeps keys apart', () => {
    const h = harness();
    h.c.set('p', 1);
    h.c.set('q', 2);
    assert.deepEqual(h.flushed, [['p', 1], ['q', 2]]);
  });

  it('resends the latest value on demand, changed or not', () => {
    const h = harness();
    h.c.set('p', 5);
    h.advance(500);
    h.c.resend('p');
    h.c.resend('unknown');
    assert.deepEqual(h.flushed, [['p', 5], ['p', 5]]);
  });

  it('drops pending flushes when a key is deleted or the coalescer closes', () => {
    const h = harness();
    h.c.set('p', 1);
    h.c.set('p', 2);
    h.c.set('q', 1);
    h.c.set('q', 2);
    h.c.delete('p');
    h.c.close();
    h.c.close();
    h.c.set('q', 3);
    h.advance(500);
    assert.deepEqual(h.flushed, [['p', 1], ['q', 1]]);
    assert.equal(h.c.get('p'), undefined);
  });
});
