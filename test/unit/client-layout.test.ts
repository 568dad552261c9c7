import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampPage, GRID_PAGE_SIZE, gridBoxes, gridFit, mainTile, pageCount, speakerLayout, tileOrder, type Box, type TileRank } from '../../client/app/Stage/Layout.js';
import { lossBetween, qualityLevel, qualityText } from '../../client/app/quality.js';

// The web app's layout and connection-quality policies as tables.

const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (b: Box, w: number, h: number): boolean => b.x >= 0 && b.y >= 0 && b.x + b.w <= w && b.y + b.h <= h;

describe('grid layout', () => {
  const rows: { name: string; n: number; w: number; h: number; cols: number }[] = [
    { name: 'one tile fills a wide stage', n: 1, w: 1280, h: 720, cols: 1 },
    { name: 'two tiles side by side on a wide stage', n: 2, w: 1280, h: 600, cols: 2 },
    { name: 'two tiles stacked on a phone', n: 2, w: 370, h: 600, cols: 1 },
    { name: 'four tiles in two by two on a 16:9 stage', n: 4, w: 1280, h: 720, cols: 2 },
    { name: 'nine tiles in three by three on a 16:9 stage', n: 9, w: 1280, h: 720, cols: 3 },
    { name: 'twenty-five tiles in five by five', n: 25, w: 1600, h: 900, cols: 5 },
    { name: 'four tiles in a row on a very wide strip', n: 4, w: 2000, h: 300, cols: 4 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const fit = gridFit(r.n, r.w, r.h);
      assert.equal(fit.cols, r.cols);
      const boxes = gridBoxes(r.n, r.w, r.h);
      assert.equal(boxes.length, r.n);
      for (const [i, b] of boxes.entries()) {
        assert.ok(inside(b, r.w, r.h), `box ${i} ${JSON.stringify(b)} inside ${r.w}x${r.h}`);
        assert.ok(Math.abs(b.w / b.h - 16 / 9) < 0.02, 'tiles are 16:9');
        for (const other of boxes.slice(i + 1)) assert.ok(!overlaps(b, other), 'no overlap');
      }
    });
  }

  it('tiles grow when the stage grows (it re-flows)', () => {
    assert.ok(gridFit(3, 1600, 900).tileW > gridFit(3, 800, 450).tileW);
  });

  it('no tiles or no room: nothing to draw', () => {
    assert.deepEqual(gridBoxes(0, 1280, 720), []);
    assert.equal(gridFit(3, 0, 720).tileW, 0);
  });

  it('pages beyond 25 tiles, and a page number follows tiles that left', () => {
    assert.equal(pageCount(25, GRID_PAGE_SIZE), 1);
    assert.equal(pageCount(26, GRID_PAGE_SIZE), 2);
    assert.equal(pageCount(0, GRID_PAGE_SIZE), 1);
    assert.equal(clampPage(1, 26, GRID_PAGE_SIZE), 1);
    assert.equal(clampPage(1, 25, GRID_PAGE_SIZE), 0, 'the second page is gone');
    assert.equal(clampPage(-1, 30, GRID_PAGE_SIZE), 0);
  });
});

describe('speaker layout', () => {
  it('on a wide stage the strip runs down the right side, the large tile keeps the height', () => {
    const l = speakerLayout(3, 1280, 600);
    assert.equal(l.strip.length, 3);
    assert.ok(l.strip.every((b) => b.x > l.main.x + l.main.w), 'strip right of the main tile');
    assert.ok(l.main.w > 3 * l.strip[0]!.w);
    for (const b of [l.main, ...l.strip]) assert.ok(inside(b, 1280, 600));
  });

  it('on a phone the strip runs along the bottom', () => {
    const l = speakerLayout(2, 370, 600);
    assert.ok(l.strip.every((b) => b.y >= l.main.y + l.main.h), 'strip below the main tile');
    for (const b of [l.main, ...l.strip]) assert.ok(inside(b, 370, 600));
    assert.ok(speakerLayout(5, 370, 600).stripCapacity >= 3, 'three small tiles across a phone, not one');
  });

  it('more tiles than the strip holds: it shows its capacity (the rest are paged)', () => {
    const l = speakerLayout(40, 1280, 600);
    assert.equal(l.strip.length, l.stripCapacity);
    assert.ok(l.stripCapacity < 40);
  });

  it('alone: the one tile takes the stage', () => {
    assert.deepEqual(speakerLayout(0, 800, 450), { main: { x: 0, y: 0, w: 800, h: 450 }, strip: [], stripCapacity: 0 });
  });
});

describe('tile order and the large tile', () => {
  const t = (id: string, o: Partial<TileRank> = {}): TileRank => ({ id, screen: false, local: false, spokeAt: 0, joinedAt: 0, ...o });
  const tiles = [t('bob', { joinedAt: 2 }), t('me', { local: true, joinedAt: 5 }), t('ann', { joinedAt: 1, spokeAt: 50 }), t('bob:screen', { screen: true, joinedAt: 9 })];

  it('screens first, then our own camera, then by joining time (speaking does not reorder)', () => {
    assert.deepEqual(tileOrder(tiles), ['bob:screen', 'me', 'ann', 'bob']);
  });

  const rows: { name: string; tiles: TileRank[]; active: string | null; want: string | null }[] = [
    { name: 'a screen share wins over the active speaker', tiles, active: 'ann', want: 'bob:screen' },
    { name: 'the active speaker, when it is someone else', tiles: tiles.slice(0, 3), active: 'bob', want: 'bob' },
    { name: 'not ourselves: whoever spoke last instead', tiles: tiles.slice(0, 3), active: 'me', want: 'ann' },
    { name: 'nobody spoke yet: the first remote tile', tiles: [t('me', { local: true }), t('x', { joinedAt: 3 })], active: null, want: 'x' },
    { name: 'alone: our own tile', tiles: [t('me', { local: true })], active: null, want: 'me' },
    { name: 'no tiles', tiles: [], active: null, want: null },
  ];
  for (const r of rows) it(r.name, () => assert.equal(mainTile(r.tiles, r.active), r.want));
});

describe('connection quality', () => {
  const rows: { name: string; rttMs: number | null; lossPct: number | null; want: number }[] = [
    { name: 'nothing measured yet: unknown', rttMs: null, lossPct: null, want: 0 },
    { name: 'short round trip, no loss: good', rttMs: 30, lossPct: 0, want: 3 },
    { name: 'long round trip: fair', rttMs: 250, lossPct: 0, want: 2 },
    { name: 'some loss: fair', rttMs: 30, lossPct: 4, want: 2 },
    { name: 'heavy loss: poor', rttMs: 30, lossPct: 12, want: 1 },
    { name: 'very long round trip: poor', rttMs: 600, lossPct: null, want: 1 },
  ];
  for (const r of rows) it(r.name, () => assert.equal(qualityLevel({ rttMs: r.rttMs, lossPct: r.lossPct }), r.want));

  it('says the figures in words for the tooltip', () => {
    assert.equal(qualityText({ rttMs: 42.4, lossPct: 1.25 }), 'Connection: good · round trip 42 ms · loss 1.3 %');
    assert.equal(qualityText({ rttMs: null, lossPct: null }), 'Connection: unknown');
  });

  it('loss is counted between two polls, never below zero', () => {
    assert.equal(lossBetween({ lost: 0, received: 0 }, { lost: 5, received: 95 }), 5);
    assert.equal(lossBetween({ lost: 5, received: 95 }, { lost: 4, received: 195 }), 0, 'late packets lower packetsLost');
    assert.equal(lossBetween({ lost: 5, received: 95 }, { lost: 5, received: 95 }), null, 'nothing was due');
    assert.equal(lossBetween(undefined, { lost: 1, received: 3 }), 25);
  });
});
