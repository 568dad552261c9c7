import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/node.js';

// Three people who do not choose a region: their addresses (given as X-Forwarded-For by a
// trusted proxy on loopback, as a load balancer in front of the geo-router would) place them
// in London, California and Tokyo; each lands on the nearest region and all see each other.
const USERS = [
  { name: 'london', ip: '212.58.244.22', want: 'eu-west' },
  { name: 'cupertino', ip: '17.0.0.1', want: 'us-east' },
  { name: 'tokyo', ip: '203.178.141.194', want: 'ap-northeast' },
] as const;

describe('three browsers routed by GeoIP (npm start cluster, headless Chromium)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let browser: Browser;
  const pages: Page[] = [];

  before(async () => {
    cluster = await startCluster();
    browser = await launchChromium();
    for (const u of USERS) {
      const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': u.ip } });
      const page = await context.newPage();
      await page.goto(`${cluster.base}/?room=e2e-geo&name=${u.name}`);
      pages.push(page);
    }
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('routes each to the nearest region, by GeoIP, and they all see each other', async () => {
    for (const [i, page] of pages.entries()) {
      const u = USERS[i]!;
      await eventually(async () => (await page.evaluate('window.__octomesh?.state')) === 'joined', `${u.name} joined`, 30_000);
      assert.equal(await page.evaluate('window.__octomesh.region'), u.want, `${u.name} lands in ${u.want}`);
      assert.equal(await page.evaluate('window.__octomesh.route && window.__octomesh.route.by'), 'geoip');
    }
    for (const [i, page] of pages.entries()) {
      const others = USERS.filter((_, j) => j !== i).map((u) => u.name).sort();
      await eventually(
        async () => JSON.stringify(await page.evaluate('window.__octomesh.peers().map((p) => p.displayName).sort()')) === JSON.stringify(others),
        `${USERS[i]!.name} sees ${others.join(', ')}`,
        30_000,
      );
    }
  });

  it('answers /api/route with the distance and alternatives', async () => {
    const r = await fetch(`${cluster.base}/api/route?room=e2e-geo-2`, { headers: { 'X-Forwarded-For': '203.178.141.194' } });
    const body = (await r.json()) as { region: string; distanceKm: number; alternatives: { region: string; distanceKm: number }[] };
    assert.equal(body.region, 'ap-northeast');
    assert.ok(body.distanceKm >= 0 && body.distanceKm < 100, `Tokyo is near ap-northeast (${body.distanceKm} km)`);
    assert.ok(body.alternatives.length >= 1 && body.alternatives[0]!.distanceKm > body.distanceKm);
  });
});
