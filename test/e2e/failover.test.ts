import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually, sleep } from '../helpers/node.js';

// A region node dies mid-call (SIGKILL): its user's page notices the closed socket, asks the
// geo-router again (which no longer offers the dead node), rejoins on the next nearest region,
// and both people see each other again. The time it took is reported, not asserted.
describe('failover: a region node killed mid-call (npm start cluster, headless Chromium)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let browser: Browser;
  let london: Page;
  let tokyo: Page;

  before(async () => {
    cluster = await startCluster();
    browser = await launchChromium();
    const open = async (name: string, ip: string): Promise<Page> => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': ip } });
      const page = await context.newPage();
      await page.goto(`${cluster.base}/?room=e2e-failover&name=${name}`);
      return page;
    };
    london = await open('london', '212.58.244.22');
    tokyo = await open('tokyo', '203.178.141.194');
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  const decodedFrames = (page: Page): Promise<number> =>
    page.evaluate(`(async () => {
      const stats = await window.__octomesh.client.getRecvStats();
      let best = 0;
      (stats || new Map()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') best = Math.max(best, s.framesDecoded || 0); });
      return best;
    })()`) as Promise<number>;

  const decodingNow = async (page: Page): Promise<boolean> => {
    const a = await decodedFrames(page);
    await sleep(300);
    return (await decodedFrames(page)) > a;
  };

  it('brings both people back to live video on the next nearest region', async (t) => {
    for (const page of [london, tokyo]) {
      await eventually(() => decodingNow(page), 'call up', 30_000).catch(async (err: Error) => {
        const state = await page.evaluate('JSON.stringify({s: window.__octomesh.state, r: window.__octomesh.region, p: window.__octomesh.peers(), c: window.__octomesh.consumers()})');
        throw new Error(`${err.message}: ${String(state)}\n${cluster.output().slice(-4000)}`);
      });
    }
    assert.equal(await london.evaluate('window.__octomesh.region'), 'eu-west');
    const regions = (await (await fetch(`${cluster.base}/admin/regions`)).json()) as { regions: { name: string; nodes: { pid: number }[] }[] };
    const pid = regions.regions.find((r) => r.name === 'eu-west')!.nodes[0]!.pid;

    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (await london.evaluate('window.__octomesh.state')) !== 'joined', 'london notices', 10_000);
    await eventually(async () => (await london.evaluate('window.__octomesh.state')) === 'joined', 'london rejoined', 30_000);
    assert.equal(await london.evaluate('window.__octomesh.region'), 'us-east', 'the next nearest region to London');
    await eventually(async () => (await decodingNow(london)) && (await decodingNow(tokyo)), 'both decode each other again', 30_000);
    t.diagnostic(`live video both ways again ${((performance.now() - t0) / 1000).toFixed(1)} s after the kill`);
  });
});
