import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeLabels, type MapPoint, type PlacedLabel } from '../../client/app/mapLabels.js';

// The region map's name placement as a table: every name inside the map, on no other name and
// no other region's dot. The map is RegionMap's (300 x 150, equirectangular, names at 10).

const W = 300;
const H = 150;
const at = (name: string, lat: number, lon: number): MapPoint => ({ name, x: ((lon + 180) / 360) * W, y: ((90 - lat) / 180) * H });
type Box = PlacedLabel['box'];
const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const dot = (p: MapPoint): Box => ({ x: p.x - 4, y: p.y - 4, w: 8, h: 8 });

describe('region map labels', () => {
  const rows: { name: string; points: MapPoint[] }[] = [
    { name: 'the local cluster (ap-northeast ran off the right edge before)', points: [at('eu-west', 51.51, -0.13), at('us-east', 38.9, -77.04), at('ap-northeast', 35.68, 139.69)] },
    { name: 'two regions an hour apart', points: [at('eu-west', 51.51, -0.13), at('eu-central', 50.11, 8.68), at('eu-north', 59.33, 18.07)] },
    { name: 'a region at each edge', points: [at('us-west-far', 21.3, -179), at('nz-east', -41.3, 179), at('arctic', 89, 0), at('antarctic', -89, 0)] },
    { name: 'many regions', points: [at('eu-west', 51.51, -0.13), at('eu-central', 50.11, 8.68), at('us-east', 38.9, -77.04), at('us-west', 37.4, -122), at('sa-east', -23.5, -46.6), at('ap-south', 19.1, 72.9), at('ap-northeast', 35.68, 139.69), at('ap-southeast', 1.35, 103.8)] },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const labels = placeLabels(row.points, W, H, 10);
      assert.deepEqual(labels.map((l) => l.name), row.points.map((p) => p.name));
      labels.forEach((l, i) => {
        assert.ok(l.box.x >= 0 && l.box.x + l.box.w <= W, `${l.name} inside the map's width: ${JSON.stringify(l.box)}`);
        assert.ok(l.box.w >= l.name.length * 5, `${l.name}: a box as wide as its text`);
        for (let j = 0; j < labels.length; j++) {
          if (j === i) continue;
          assert.ok(!overlaps(l.box, labels[j]!.box), `${l.name} on ${labels[j]!.name}`);
          assert.ok(!overlaps(l.box, dot(row.points[j]!)), `${l.name} on ${row.points[j]!.name}'s dot`);
        }
      });
    });
  }

  it('puts a lone name above its dot, centred on it', () => {
    const p = at('eu-west', 51.51, -0.13);
    const [l] = placeLabels([p], W, H, 10);
    assert.ok(l!.box.y + l!.box.h < p.y, 'above');
    assert.ok(Math.abs(l!.box.x + l!.box.w / 2 - p.x) < 1, 'centred');
  });
});
