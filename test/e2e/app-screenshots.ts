import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, SCREEN_CAPTURE_ARGS } from '../helpers/browser.js';
import { ROOT, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/node.js';

// Screenshots of the web app for the README and for a look by eye: pre-join, a call of three in
// the grid, the speaker view, a screen share, and a phone-sized page. Not a test (no asserts);
// run with `flock /tmp/cluster8080.lock node dist/test/e2e/app-screenshots.js` (the cluster's ports are fixed).

const OUT = path.join(ROOT, 'docs', 'img');

/** Waits (with a bound) until `expr`, run in the page, holds: what the next screenshot is to show. */
async function until(page: Page, what: string, expr: string, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(expr, undefined, { timeout: timeoutMs, polling: 100 }).catch((err: Error) => {
    throw new Error(`timed out: ${what} (${err.message})`);
  });
}

// Page-side conditions (sent as source; this file is compiled without DOM types).
/** Every tile that shows video has painted a frame (a track attached is not yet a picture), and no tile's size change is still being told to the node. */
const VIDEOS_SHOWN = `Array.from(document.querySelectorAll('.tile:not(.no-video) video')).every((v) => v.readyState >= 2 && v.videoWidth > 0)
  && window.__octomesh.tiles().every((t) => !t.visible || !t.consumerId || !window.__octomesh.client.viewState(t.consumerId)?.pending)`;
/** The pre-join screen: the preview plays, the pickers have the devices' names, the meter moves. */
const PREJOIN_READY = `(() => { const h = window.__octomesh; const cam = document.getElementById('device-videoinput');
  return !!h && h.state === 'prejoin' && h.previewWidth() > 0 && h.micLevel() > 0 && !!cam && cam.options.length > 0 && !cam.disabled; })()`;
/** Every remote tile on screen shows live video with its connection bars measured. */
const REMOTE_TILES_LIVE = `window.__octomesh.tiles().filter((t) => t.visible && !t.local).every((t) => t.hasVideo && !t.stalled && t.quality > 0) && ${VIDEOS_SHOWN}`;
/** The speaker view, its main tile showing live video. */
const SPEAKER_VIEW = `(() => { const h = window.__octomesh; const l = h.layout(); const main = h.tiles().find((t) => t.id === l.main);
  return l.mode === 'speaker' && !!main && main.visible && main.hasVideo && !main.stalled; })() && ${VIDEOS_SHOWN}`;

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const cluster = await startCluster();
  const browser = await launchChromium(SCREEN_CAPTURE_ARGS);
  try {
    const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(OUT, name) });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const pre = await ctx.newPage();
    await pre.goto(`${cluster.base}/?room=demo`);
    await until(pre, 'the pre-join screen is ready', PREJOIN_READY, 15_000);
    await shot(pre, 'app-prejoin.png');
    await pre.close();

    const pages: Page[] = [];
    // One person per region, so the tiles and the map show the cascade.
    for (const [name, region] of [['Ada Lovelace', 'eu-west'], ['Grace Hopper', 'us-east'], ['Alan Turing', 'ap-northeast']] as const) {
      const page = await ctx.newPage();
      await page.goto(`${cluster.base}/?room=demo&name=${encodeURIComponent(name)}&region=${region}`);
      pages.push(page);
    }
    const [ada, grace] = pages as [Page, Page, Page];
    for (const page of pages) {
      await eventually(async () => Number(await page.evaluate(`window.__octomesh.tiles().filter((t) => t.hasVideo).length`)) === 3, 'three videos', 30_000);
    }
    // Show what a tile says: Alan with his camera off (an avatar), Grace muted, a chat line.
    await pages[2]!.keyboard.press('v');
    await grace.keyboard.press('m');
    await grace.fill('#chat-input', 'Can everyone see my screen in a minute?');
    await grace.press('#chat-input', 'Enter');
    await grace.press('#chat-input', 'Escape');
    await until(ada, 'Ada sees Alan\'s avatar, Grace muted and her chat line, and live video with bars from Grace', `(() => {
      const h = window.__octomesh; const cam = (n) => h.tiles().find((t) => t.source === 'camera' && t.name === n);
      const alan = cam('Alan Turing'); const grace = cam('Grace Hopper');
      return !!alan && !alan.hasVideo && !!grace && grace.muted && grace.hasVideo && !grace.stalled && grace.quality > 0
        && h.chatLog.some((m) => m.text === 'Can everyone see my screen in a minute?'); })() && ${VIDEOS_SHOWN}`);
    await shot(ada, 'app-call.png');
    await pages[2]!.keyboard.press('v');
    await ada.keyboard.press('l');
    await until(ada, 'Ada\'s speaker view', SPEAKER_VIEW);
    await shot(ada, 'app-speaker.png');
    await ada.keyboard.press('l');
    await grace.click('#share-btn');
    await eventually(async () => Number(await ada.evaluate(`window.__octomesh.tiles().filter((t) => t.source === 'screen' && t.hasVideo).length`)) === 1, 'screen shown', 30_000);
    await until(ada, 'the screen plays', `window.__octomesh.tiles().some((t) => t.source === 'screen' && t.visible && t.hasVideo && !t.stalled) && ${VIDEOS_SHOWN}`);
    await shot(ada, 'app-screenshare.png');
    await grace.click('#share-btn');

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const mobile = await phone.newPage();
    await mobile.goto(`${cluster.base}/?room=demo&name=Katherine`);
    await eventually(async () => Number(await mobile.evaluate(`window.__octomesh.tiles().filter((t) => t.hasVideo).length`)) === 4, 'four videos', 30_000);
    await until(mobile, 'the phone\'s tiles play, with their bars', REMOTE_TILES_LIVE);
    await shot(mobile, 'app-mobile.png');
    await mobile.click('#settings-btn');
    // The panel focuses its first picker once it has listed the devices.
    await until(mobile, 'the devices panel, with the devices\' names', `(() => { const p = document.getElementById('settings-panel'); const cam = document.getElementById('call-device-videoinput');
      return !!p && !p.hidden && !!cam && cam.options.length > 0 && p.contains(document.activeElement); })()`);
    await shot(mobile, 'app-mobile-devices.png');
    await mobile.keyboard.press('Escape');
    await mobile.keyboard.press('l');
    await until(mobile, 'the phone\'s speaker view', SPEAKER_VIEW);
    await shot(mobile, 'app-mobile-speaker.png');
    const pre2 = await phone.newPage();
    await pre2.goto(`${cluster.base}/?room=demo`);
    await until(pre2, 'the phone\'s pre-join screen is ready', PREJOIN_READY, 15_000);
    await shot(pre2, 'app-mobile-prejoin.png');
  } finally {
    await browser.close();
    await cluster.stop();
  }
}

await main();
