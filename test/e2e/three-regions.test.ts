import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { eventually } from '../helpers/node.js';

const REGIONS = ['eu-west', 'us-east', 'ap-northeast'] as const;

// The cascade from a user's seat: three browsers, each pinned to its own region node (each
// its own process with its own worker), in one room. Every page must decode both others'
// video, which can only reach it over the relay links.
describe('three browsers in three regions, one room (npm start cluster, headless Chromium)', () => {
  const call = useBrowserCluster();
  const pages: Page[] = [];

  before(async () => {
    for (const region of REGIONS) pages.push(await call.openApp(region, `room=e2e-cascade&name=user-${region}&region=${region}`));
  });

  const evaluate = <T>(page: Page, source: string): Promise<T> => page.evaluate(source) as Promise<T>;

  it('each page joins its own region and sees the other two with their regions', async () => {
    for (const [i, page] of pages.entries()) {
      await eventually(async () => (await evaluate(page, 'window.__octomesh?.state')) === 'joined', `${REGIONS[i]} joined`, 30_000);
      assert.equal(await evaluate(page, 'window.__octomesh.region'), REGIONS[i]);
      await eventually(
        async () => (await evaluate<string[]>(page, 'window.__octomesh.peers().map((p) => p.region).sort()')).length === 2,
        `${REGIONS[i]} sees two peers`,
        30_000,
      );
      const regions = await evaluate<string[]>(page, 'window.__octomesh.peers().map((p) => p.region).sort()');
      assert.deepEqual(regions, REGIONS.filter((r) => r !== REGIONS[i]).sort());
      await eventually(async () => (await page.textContent('#room-regions')) === 'spans ap-northeast · eu-west · us-east', 'the page shows the regions the room spans');
      // The map: three regions in the room, a relay link between each pair, this page's ringed.
      await eventually(async () => (await page.locator('.region-map .region.in-room').count()) === 3, 'map marks the room\'s regions');
      assert.equal(await page.locator('.region-map .link').count(), 3);
      assert.equal(await page.locator('.region-map .region.current').getAttribute('data-region'), REGIONS[i]);
    }
  });

  it('each page decodes both other pages\' video, relayed between the region nodes', async () => {
    for (const [i, page] of pages.entries()) {
      await eventually(
        async () => (await evaluate<number>(page, `window.__octomesh.consumers().filter((c) => c.kind === 'video').length`)) === 2,
        `${REGIONS[i]} has two video consumers`,
        30_000,
      );
      // framesDecoded per inbound video stream: both must be decoding.
      await eventually(async () => {
        const decoded = await evaluate<number[]>(page, `(async () => {
          const stats = await window.__octomesh.client.getRecvStats();
          const out = [];
          (stats || new Map()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') out.push(s.framesDecoded || 0); });
          return out;
        })()`);
        // (mediasoup-client adds a probator stream that never decodes: count those that do.)
        return decoded.filter((n) => n > 10).length === 2;
      }, `${REGIONS[i]} decodes two videos`, 30_000);
    }
    assert.deepEqual(call.errors, []);
    if (process.env.E2E_SCREENSHOT) await pages[0]!.screenshot({ path: process.env.E2E_SCREENSHOT });
  });
});
