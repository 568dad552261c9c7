import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually, sleep } from '../helpers/node.js';

// Three people in three regions. A region node dies mid-call (SIGKILL): its user's page notices
// the closed socket, asks the geo-router again (which no longer offers the dead node), rejoins
// on the next nearest region, and everyone sees everyone again. Then a mediasoup worker dies
// inside a live node: the node replaces it and tells that worker's peers to rejoin. Last, the
// default region's node freezes (SIGSTOP of it and its worker: a host cut off from the network
// while its process runs): no FIN reaches the pages and the registry still lists it, so only
// the pages' heartbeat notices, and only their avoid= keeps the router from sending them back
// (London's pin to eu-west included).
// Recovery times are reported, not asserted (the machine is shared and noisy).
/** Two reads of framesDecoded this far apart tell a live stream from a frozen one (~9 frames at 30 fps). */
const DECODE_SAMPLE_MS = 300;

describe('failover: a region node and then a worker killed mid-call (npm start cluster, headless Chromium)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let browser: Browser;
  const pages: Record<'london' | 'virginia' | 'tokyo', Page> = {} as never;

  before(async () => {
    cluster = await startCluster();
    browser = await launchChromium();
    const open = async (name: keyof typeof pages, ip: string, query = ''): Promise<void> => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': ip } });
      const page = await context.newPage();
      await page.goto(`${cluster.base}/?room=e2e-failover&name=${name}${query}`);
      pages[name] = page;
    };
    // London also pins its own region, as the lab pins its users: when that region's node
    // freezes, the pin must yield rather than send London back to it.
    await open('london', '212.58.244.22', '&region=eu-west');
    await open('virginia', '17.0.0.1');
    await open('tokyo', '203.178.141.194');
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  /** framesDecoded of every inbound video stream, by stats id. */
  const decoded = (page: Page): Promise<Record<string, number>> =>
    page.evaluate(`(async () => {
      const stats = await window.__octomesh.client.getRecvStats();
      const out = {};
      (stats || new Map()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') out[s.id] = s.framesDecoded || 0; });
      return out;
    })()`) as Promise<Record<string, number>>;

  /** This page is decoding video from both other people right now. */
  const seesEveryone = async (page: Page): Promise<boolean> => {
    const a = await decoded(page);
    // A sampling interval inside a poll: "decoding" is frames rising between two reads (a frozen
    // stream from a dead node keeps its count), and no page event says a stream decodes.
    await sleep(DECODE_SAMPLE_MS);
    const b = await decoded(page);
    return Object.entries(b).filter(([id, n]) => n > (a[id] ?? Infinity)).length >= 2;
  };
  const everyoneSeesEveryone = async (): Promise<boolean> => (await Promise.all(Object.values(pages).map(seesEveryone))).every(Boolean);

  const secondsSince = (t0: number, t1 = performance.now()): string => ((t1 - t0) / 1000).toFixed(1);
  const region = (page: Page): Promise<string> => page.evaluate('window.__octomesh.region') as Promise<string>;
  const state = (page: Page): Promise<string> => page.evaluate('window.__octomesh.state') as Promise<string>;
  const describeAll = async (): Promise<string> => {
    const states = await Promise.all(
      Object.entries(pages).map(async ([name, page]) => `${name}: ${String(await page.evaluate('JSON.stringify({s: window.__octomesh.state, r: window.__octomesh.region, rejoins: window.__octomesh.reconnects, p: window.__octomesh.peers(), c: window.__octomesh.consumers()})'))}`),
    );
    return `${states.join('\n')}\n${cluster.output().slice(-4000)}`;
  };
  const untilEveryoneSeesEveryone = (what: string, timeoutMs: number): Promise<void> =>
    eventually(everyoneSeesEveryone, what, timeoutMs).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await describeAll()}`);
    });

  it('brings everyone back to live video when the Tokyo node is killed', async (t) => {
    await untilEveryoneSeesEveryone('call up', 45_000);
    const reconnects = async (): Promise<string> => JSON.stringify(await Promise.all(Object.values(pages).map((p) => p.evaluate('window.__octomesh.reconnects'))));
    assert.deepEqual([await region(pages.london), await region(pages.virginia), await region(pages.tokyo)], ['eu-west', 'us-east', 'ap-northeast'], `rejoins so far: ${await reconnects()}`);
    const regions = (await (await fetch(`${cluster.base}/admin/regions`)).json()) as { regions: { name: string; nodes: { pid: number }[] }[] };
    const pid = regions.regions.find((r) => r.name === 'ap-northeast')!.nodes[0]!.pid;

    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (await state(pages.tokyo)) !== 'joined', 'tokyo notices', 10_000);
    const noticed = performance.now();
    await eventually(async () => (await state(pages.tokyo)) === 'joined', 'tokyo rejoined', 30_000);
    const rejoined = performance.now();
    assert.equal(await region(pages.tokyo), 'eu-west', 'the next nearest region to Tokyo');
    await untilEveryoneSeesEveryone('everyone decodes everyone again', 30_000);
    t.diagnostic(`node kill: live video among all three again ${secondsSince(t0)} s after the SIGKILL (noticed after ${secondsSince(t0, noticed)} s, rejoined after ${secondsSince(t0, rejoined)} s)`);
  });

  it('brings everyone back when the mediasoup worker under London and Tokyo dies', async (t) => {
    const health = (await (await fetch('http://127.0.0.1:8081/healthz')).json()) as { region: string; workers: { pid: number }[] };
    assert.equal(health.region, 'eu-west');
    const workerPid = health.workers[0]!.pid;
    const t0 = performance.now();
    process.kill(workerPid, 'SIGKILL');
    await eventually(async () => (await state(pages.london)) !== 'joined', 'london is told to rejoin', 10_000);
    const told = performance.now();
    await eventually(async () => (await state(pages.london)) === 'joined' && (await state(pages.tokyo)) === 'joined', 'london and tokyo rejoined', 30_000);
    const rejoined = performance.now();
    await untilEveryoneSeesEveryone('everyone decodes everyone again', 30_000);
    t.diagnostic(`worker kill: live video among all three again ${secondsSince(t0)} s after the SIGKILL (told to rejoin after ${secondsSince(t0, told)} s, rejoined after ${secondsSince(t0, rejoined)} s)`);
    const after = (await (await fetch('http://127.0.0.1:8081/healthz')).json()) as { workers: { pid: number; alive: boolean }[] };
    assert.ok(after.workers[0]!.alive && after.workers[0]!.pid !== workerPid, 'a new worker took its place');
    assert.equal(await region(pages.london), 'eu-west', `the node itself lives: London stays in its region (London's rejoins: ${JSON.stringify(await pages.london.evaluate('window.__octomesh.reconnects'))})`);
  });

  it('brings everyone back when the default region\'s node is cut off but still listed (SIGSTOP)', async (t) => {
    const health = (await (await fetch('http://127.0.0.1:8081/healthz')).json()) as { region: string; nodeId: string; workers: { pid: number }[] };
    assert.equal(health.region, 'eu-west');
    const regions = (await (await fetch(`${cluster.base}/admin/regions`)).json()) as { regions: { name: string; nodes: { pid: number }[] }[] };
    const pid = regions.regions.find((r) => r.name === 'eu-west')!.nodes[0]!.pid;
    const frozen = [pid, ...health.workers.map((w) => w.pid)];
    const t0 = performance.now();
    for (const p of frozen) process.kill(p, 'SIGSTOP');
    try {
      // Each on its own: the first may be back in a call before the second notices.
      const gone = async (page: Page): Promise<boolean> => (await state(page)) !== 'joined' || (await region(page)) !== 'eu-west';
      await Promise.all([pages.london, pages.tokyo].map((page) => eventually(() => gone(page), 'the page notices the silence', 15_000)));
      const noticed = performance.now();
      // The registry still lists the frozen node (its process lives): the router would offer it
      // again to anyone who did not just fail on it.
      const listed = (await (await fetch(`${cluster.base}/admin/regions`)).json()) as { regions: { name: string; nodes: unknown[] }[] };
      assert.equal(listed.regions.find((r) => r.name === 'eu-west')?.nodes.length, 1, 'the frozen node is still registered');
      const route = (await (await fetch(`${cluster.base}/api/route?room=e2e-failover`)).json()) as { nodeId: string };
      assert.equal(route.nodeId, health.nodeId, 'a client that names nothing still gets it');
      await eventually(async () => (await state(pages.london)) === 'joined' && (await state(pages.tokyo)) === 'joined', 'london and tokyo rejoined', 30_000);
      const rejoined = performance.now();
      assert.deepEqual([await region(pages.london), await region(pages.tokyo)], ['us-east', 'us-east'], 'both skipped the frozen node');
      const seen: Record<string, string> = {};
      await Promise.all(Object.entries(pages).map(([name, page]) => eventually(() => seesEveryone(page), `${name} decodes both others`, 30_000).then(() => (seen[name] = secondsSince(t0)))));
      await untilEveryoneSeesEveryone('everyone decodes everyone again', 30_000);
      t.diagnostic(`frozen node: live video among all three again ${secondsSince(t0)} s after the SIGSTOP (noticed after ${secondsSince(t0, noticed)} s, rejoined after ${secondsSince(t0, rejoined)} s; each page first decoded both others at ${JSON.stringify(seen)} s)`);
    } finally {
      for (const p of frozen) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
