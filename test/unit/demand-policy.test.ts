import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CROWDED_VIEW, demandMask, forwardedPeers, highestLayer, layerHeights, spatialLayerFor, temporalLayerFor, type Wants } from '../../region-node/demandPolicy.js';
import { LastN } from '../../region-node/LastN.js';

const w = (clientPaused: boolean, forwarded: boolean, spatialLayer: number | null): Wants => ({ clientPaused, forwarded, spatialLayer });

describe('demandPolicy', () => {
  it('layer heights from scaleResolutionDownBy and the captured height', () => {
    const table: [Parameters<typeof layerHeights>, number[]][] = [
      [[[{ scaleResolutionDownBy: 4 }, { scaleResolutionDownBy: 2 }, {}], 720], [180, 360, 720]],
      [[[{}, {}, {}]], [180, 360, 720]], // browsers' default ladder, 720p assumed
      [[[{}], 1080], [1080]],
      [[[{ scaleResolutionDownBy: 3 }, { scaleResolutionDownBy: 1 }], 540], [180, 540]],
      [[[], 480], [480]],
    ];
    for (const [args, want] of table) assert.deepEqual(layerHeights(...args), want, JSON.stringify(args));
  });

  it('the smallest layer that covers the tile (16:9 cover, 10 % short is fine)', () => {
    const ladder = [180, 360, 720];
    const table: [number, number, number][] = [
      [256, 144, 0],
      [312, 176, 0],
      [320, 200, 0], // needs 200 * 0.9 = 180: the 180p layer covers it
      [640, 360, 1],
      [700, 394, 1],
      [1280, 720, 2],
      [3840, 2160, 2], // beyond the top: the top
      [100, 600, 2], // a tall narrow tile needs its height
      [1, 1, 0],
    ];
    for (const [wd, h, want] of table) assert.equal(spatialLayerFor(ladder, wd, h), want, `${wd}x${h}`);
    assert.equal(spatialLayerFor([720], 1920, 1080), 0, 'one layer: always 0');
  });

  it('demand mask: resumed forwarded watchers, their layers and every layer below', () => {
    const table: [Wants[], number, number][] = [
      [[], 3, 0],
      [[w(true, true, 2)], 3, 0], // paused by its client: not demand
      [[w(false, false, 2)], 3, 0], // not forwarded (last-N): not demand
      [[w(false, true, 0)], 3, 0b001],
      [[w(false, true, 2)], 3, 0b111],
      [[w(false, true, null)], 3, 0b111], // no view declared: the top
      [[w(false, true, 1), w(false, true, 0)], 3, 0b011],
      [[w(false, true, 1)], 3, 0b011],
      [[w(false, true, 5)], 3, 0b111], // clamped to the top
      [[w(false, true, null)], 1, 0b1], // single-layer stream
    ];
    for (const [wants, layers, want] of table) assert.equal(demandMask(wants, layers), want, JSON.stringify(wants));
    assert.deepEqual([0, 1, 0b101, 0b100].map(highestLayer), [-1, 0, 2, 2]);
  });

  it('a crowded view gets its smallest videos at half the frame rate', () => {
    const table: [number, number, number, number | undefined][] = [
      [CROWDED_VIEW, 0, 3, undefined], // not crowded yet: every frame
      [CROWDED_VIEW + 1, 0, 3, 1], // crowded, smallest layer: TL0+TL1 (15 of 30 fps)
      [25, 1, 3, undefined], // a bigger tile keeps every frame
      [25, 0, 1, undefined], // no temporal layers to drop
      [25, 0, 2, 0],
    ];
    for (const [flowing, spatial, temporal, want] of table) assert.equal(temporalLayerFor(flowing, spatial, temporal), want, `${flowing} videos, layer ${spatial}, ${temporal} temporal layers`);
  });

  it('last-N: everyone up to N, then the N most recent speakers plus pins and page', () => {
    const pubs = ['a', 'b', 'c', 'd', 'e'];
    assert.equal(forwardedPeers('a', pubs, 4, [], []), null, 'four others, N=4: everyone');
    assert.deepEqual([...forwardedPeers('a', pubs, 2, [], [])!], ['b', 'c']);
    assert.deepEqual([...forwardedPeers('x', pubs, 2, [], [])!], ['a', 'b'], 'a watcher that does not publish');
    assert.deepEqual([...forwardedPeers('a', pubs, 2, ['e'], ['d', 'gone'])!].sort(), ['b', 'c', 'd', 'e'], 'pins and page added; gone peers ignored');
  });

  it('LastN keeps a room-wide speaker order and reports only changed sets', () => {
    const l = new LastN(1);
    for (const p of ['a', 'b', 'c']) l.joined(p);
    const cams = (): boolean => true;
    const first = l.recompute(['a', 'b'], cams);
    assert.deepEqual([...first.get('a')!], ['b']);
    assert.deepEqual([...first.get('b')!], ['a']);
    assert.equal(l.recompute(['a', 'b'], cams).size, 0, 'nothing changed, nothing reported');
    l.spoke('c');
    const after = l.recompute(['a', 'b'], cams);
    assert.deepEqual([...after.get('a')!], ['c']);
    assert.deepEqual([...after.get('b')!], ['c']);
    l.left('c');
    assert.equal(l.recompute(['a', 'b'], cams).get('a'), null, 'two publishers, N=1, one other each: everyone');
  });
});
