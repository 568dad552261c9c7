import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { eventually } from '../helpers/node.js';
import { installStampCamera, readGlassToGlass, startReader, summarize } from '../lab/measure/glassToGlass.js';
import { describeReceiver, lostStreams, measureWindow, snapshot, waitUntilDecodingAll } from '../lab/measure/quality.js';
import { formatGlassToGlass, formatSenderTable, formatTable, freezeMsPerMin } from '../lab/measure/report.js';

const REGIONS = ['eu-west', 'us-east', 'ap-northeast'] as const;
const USERS = REGIONS.map((r) => `user-${r}`);
const WINDOW_MS = Number(process.env.LAB_MEASURE_WINDOW_MS ?? 10_000);
/** The stamped camera's size, `WxH` (default the app's own camera constraint, 1280x720). */
const [CAM_W, CAM_H] = (process.env.LAB_MEASURE_CAMERA ?? '1280x720').split('x').map(Number) as [number, number];

// The lab's browser-side measurements, proven on loopback: three pages pinned to three region
// nodes of `octomesh start`, each sending the stamped canvas camera. Every receiver must decode
// both others' video over the window, no stream may be lost, and the glass-to-glass reader must
// read stamps back. Numbers are printed, not asserted beyond sanity (p50 in (0, 2 s)).
describe('lab measurement modules on loopback (npm start cluster, three headless Chromium pages)', () => {
  const call = useBrowserCluster();
  const pages: Page[] = [];

  const stampCamera = (page: Page): Promise<void> => installStampCamera(page, { width: CAM_W, height: CAM_H });

  before(async () => {
    for (const [i, region] of REGIONS.entries()) pages.push(await call.openApp(region, `room=lab-measure&name=${USERS[i]}&region=${region}`, { beforeLoad: stampCamera }));
  });

  it('measures every receiver decoding each remote stream, and reads glass-to-glass stamps back', async () => {
    const t0 = Date.now();
    const upMs = await waitUntilDecodingAll(pages, USERS, 60_000, { since: t0 });
    console.log(`every page decodes both others after ${upMs} ms`);
    await Promise.all(pages.map((p) => startReader(p)));
    const since = Date.now();
    const win = await measureWindow(pages, WINDOW_MS);
    console.log(formatTable(`loopback, ${REGIONS.join(' / ')}, stamped camera ${CAM_W}x${CAM_H}`, win.rows));
    console.log(formatSenderTable('loopback', win.senders));
    for (const s of win.senders) {
      assert.ok(s.sourceFps > 0, `${s.sender}'s camera gives frames`);
      assert.ok(s.layers.some((l) => l.fps > 0 && l.kbps > 0), `${s.sender} encodes and sends video`);
    }

    const missing = USERS.some((receiver) => USERS.some((sender) => sender !== receiver && win.rows.filter((r) => r.receiver === receiver && r.peerName === sender).length < 2));
    if (missing) for (const p of pages) console.log(await describeReceiver(p));
    for (const receiver of USERS) {
      for (const sender of USERS.filter((u) => u !== receiver)) {
        const video = win.rows.find((r) => r.receiver === receiver && r.peerName === sender && r.kind === 'video');
        assert.ok(video, `${receiver} has a video row from ${sender}`);
        assert.ok((video.fps ?? 0) > 0, `${receiver} decodes ${sender}'s video (fps ${video.fps})`);
        assert.ok(video.frameWidth > 0, `${receiver} knows ${sender}'s frame width`);
        const audio = win.rows.find((r) => r.receiver === receiver && r.peerName === sender && r.kind === 'audio');
        assert.ok(audio && audio.packetsReceived > 0, `${receiver} receives ${sender}'s audio`);
      }
    }
    assert.deepEqual(lostStreams(win.snapshots, USERS), []);
    const freeze = freezeMsPerMin(win.rows);
    console.log(`freezeMsPerMin ${freeze.freezeMsPerMin.toFixed(0)} (worst ${freeze.worstReceiver}); per receiver ${JSON.stringify(freeze.perReceiver)}`);

    const reads = await Promise.all(pages.map((p) => readGlassToGlass(p, { since })));
    for (const r of reads) {
      for (const sender of USERS.filter((u) => u !== r.receiver)) {
        const s = summarize(r, { peer: sender });
        const widths = [...new Set(r.good.filter((g) => g.peer === sender).map((g) => g.width))].join('/');
        console.log(`${formatGlassToGlass(`${sender} -> ${r.receiver}`, s)}; widths ${widths}; on presented frames: ${r.onPresentedFrames}`);
      }
    }
    const all = summarize(reads);
    console.log(formatGlassToGlass('all pairs', all));
    const euAp = summarize(reads.find((r) => r.receiver === 'user-ap-northeast')!, { peer: 'user-eu-west' });
    assert.ok(euAp.goodReads > 0, 'eu-west -> ap-northeast: good reads');
    for (const r of reads) assert.ok(r.good.length > 0, `${r.receiver}: good glass-to-glass reads`);
    assert.ok(all.p50Ms !== null && all.p50Ms > 0 && all.p50Ms < 2_000, `glass-to-glass p50 ${all.p50Ms} ms is positive and below 2 s`);
    assert.deepEqual(call.errors, []);
  });

  it('reads the code back from the lowest simulcast layer', async () => {
    const ap = pages[2]!;
    await startReader(ap); // (idempotent: this case must not depend on the first one's)
    const consumers = (await ap.evaluate(`window.__octomesh.consumers().filter((c) => c.kind === 'video').map((c) => c.consumerId)`)) as string[];
    for (const id of consumers) await ap.evaluate(`window.__octomesh.client.setConsumerPreferredLayers(${JSON.stringify(id)}, 0)`);
    const lowest = CAM_W / 4;
    let widths: number[] = [];
    await eventually(async () => {
      widths = (await snapshot(ap)).streams.filter((s) => s.kind === 'video').map((s) => s.frameWidth);
      return widths.length === 2 && widths.every((w) => w === lowest);
    }, 'both streams on the lowest layer', 20_000).catch(() => undefined); // the assertion below says what was seen
    assert.deepEqual(widths, [lowest, lowest], `both streams at ${lowest} px wide`);
    const since = Date.now();
    let reads = await readGlassToGlass(ap, { since });
    const lowReads = (): typeof reads.good => reads.good.filter((g) => g.width === lowest);
    await eventually(async () => {
      reads = await readGlassToGlass(ap, { since });
      return new Set(lowReads().map((g) => g.peer)).size === 2;
    }, 'stamps read back from both senders at the lowest layer', 15_000).catch(() => undefined); // asserted below
    const low = lowReads();
    console.log(`${formatGlassToGlass(`both -> user-ap-northeast at ${lowest} px`, summarize({ ...reads, good: low }))}`);
    assert.ok(low.length > 0, `good reads at ${lowest} px`);
    for (const id of consumers) await ap.evaluate(`window.__octomesh.client.setConsumerPreferredLayers(${JSON.stringify(id)}, 2)`);
  });

  it('gives an empty snapshot, not an error, for a page that cannot answer (closed)', async () => {
    const page = await call.browser.newPage();
    await page.goto(`${call.cluster.base}/?room=lab-measure-closed&name=gone-user`);
    await page.close();
    const snap = await snapshot(page);
    assert.equal(snap.receiver, 'gone-user');
    assert.match(snap.state, /^unreachable: /);
    assert.deepEqual(snap.streams, []);
  });

  it('times a failover: the ap-northeast node killed, until every page decodes both others again', async () => {
    const regions = (await (await fetch(`${call.cluster.base}/admin/regions`)).json()) as { regions: { name: string; nodes: { pid: number }[] }[] };
    const pid = regions.regions.find((r) => r.name === 'ap-northeast')!.nodes[0]!.pid;
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const ms = await waitUntilDecodingAll(pages, USERS, 60_000, { since: t0 }).catch(async (err: Error) => {
      for (const p of pages) console.log(await describeReceiver(p));
      console.log(call.cluster.output().slice(-3000));
      throw err;
    });
    console.log(`failover: every page decodes both others ${ms} ms after the SIGKILL`);
    assert.ok(ms > 0);
    // The stream from the rejoined user is a new one; the window counts it as such, and the
    // glass-to-glass reader has followed it to its new consumer.
    await Promise.all(pages.map((p) => startReader(p)));
    const since = Date.now();
    const win = await measureWindow(pages, 5_000);
    console.log(formatTable('loopback, after the ap-northeast node was killed', win.rows));
    const lost = lostStreams(win.snapshots, USERS);
    if (lost.length) {
      for (const p of pages) console.log(await describeReceiver(p));
      console.log(call.cluster.output().slice(-3000));
    }
    assert.deepEqual(lost, []);
    for (const r of win.rows.filter((r) => r.kind === 'video')) assert.ok((r.fps ?? 0) > 0 || r.gone, `${r.receiver} decodes ${r.peerName}`);
    const reads = await Promise.all(pages.map((p) => readGlassToGlass(p, { since })));
    const fromAp = summarize(reads, { peer: 'user-ap-northeast' });
    console.log(formatGlassToGlass('user-ap-northeast -> both, after its rejoin', fromAp));
    assert.ok(fromAp.goodReads > 0, 'the reader follows the rejoined user\'s new stream');
  });
});
