import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, SCREEN_CAPTURE_ARGS } from '../helpers/browser.js';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { eventually } from '../helpers/node.js';
import { SignalClient } from '../helpers/SignalClient.js';

interface TileInfo { id: string; peerId: string; source: string; local: boolean; name: string; visible: boolean; width: number; height: number; speaking: boolean; muted: boolean; hasVideo: boolean; consumerId: string | null; quality: number }
interface LayoutInfo { mode: string; page: number; pages: number; cols: number; rows: number; main: string | null; visible: string[] }
interface VideoStats { consumerId: string; peerId: string; source: string; frameWidth: number; framesDecoded: number }
/** The page's test hook (client/app/hook.ts, window.__octomesh). */
interface Hook {
  state: string;
  peerId: string | null;
  tiles(): TileInfo[];
  layout(): LayoutInfo;
  videoStats(): Promise<VideoStats[]>;
  consumers(): { consumerId: string; kind: string; source: string; peerId: string }[];
  micLevel?(): number;
  previewWidth?(): number;
  client: {
    micEnabled: boolean;
    cameraEnabled: boolean;
    screenShare: { stop(): void; dispatchEvent(e: unknown): boolean; getSettings(): { width?: number } } | null;
    setConsumerPreferredLayers(id: string, s: number): Promise<void>;
  };
}

// The web app in headless Chromium against `octomesh start`: the pre-join screen, the grid and
// speaker view, keyboard toggles, and a screen share seen by another page.
describe('web app (headless Chromium, fake devices and a fake screen)', () => {
  const call = useBrowserCluster({ launch: () => launchChromium(SCREEN_CAPTURE_ARGS) });
  let ctx: BrowserContext;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  const room = 'webapp';

  before(async () => {
    ctx = await call.browser.newContext({ viewport: { width: 1280, height: 720 } });
  });

  const open = (query: string, label: string): Promise<Page> => call.openApp(label, query, { context: ctx });
  // Functions are sent as source (this file is compiled without DOM types), so they must not
  // close over anything of this file; `arg` is passed as JSON.
  const hook = <T, A = undefined>(page: Page, fn: (h: Hook, arg: A) => T | Promise<T>, arg?: A): Promise<T> =>
    page.evaluate(`window.__octomesh ? (${fn.toString()})(window.__octomesh, ${JSON.stringify(arg ?? null)}) : undefined`) as Promise<T>;
  const waitInPage = async <A>(page: Page, what: string, fn: (h: Hook, arg: A) => boolean | Promise<boolean>, arg?: A, timeoutMs = 30_000): Promise<void> => {
    await eventually(async () => Boolean(await hook(page, fn, arg).catch(() => false)), what, timeoutMs);
  };
  const tiles = (page: Page): Promise<TileInfo[]> => hook(page, (h) => h.tiles());

  it('shows the pre-join screen without &name= (camera preview, microphone level, pickers), and remembers the name', async () => {
    carol = await open(`room=${room}`, 'Carol');
    assert.equal(await carol.isVisible('#join-view'), true);
    assert.equal(await carol.isVisible('#call-view'), false);
    await waitInPage(carol, 'camera preview plays', (h) => (h.previewWidth?.() ?? 0) > 0);
    await waitInPage(carol, 'microphone level moves', (h) => (h.micLevel?.() ?? 0) > 0);
    assert.ok((await carol.locator('#device-videoinput option').count()) >= 1, 'camera picker lists a camera');
    assert.ok((await carol.locator('#device-audioinput option').count()) >= 1, 'microphone picker lists a microphone');
    await carol.fill('#join-name', 'Carol');
    await carol.click('#preview-mic'); // joins with the microphone off
    assert.equal(await carol.getAttribute('#preview-mic', 'aria-pressed'), 'true');
    await carol.click('#join-form button[type=submit]');
    await waitInPage(carol, 'Carol joined', (h) => h.state === 'joined');
    assert.equal(await hook(carol, (h) => h.client.micEnabled), false, 'the pre-join choice holds in the call');
    await carol.click('#mic-btn');
    await waitInPage(carol, 'mic on again', (h) => h.client.micEnabled);
    assert.equal(await carol.isVisible('#join-view'), false);
    assert.doesNotMatch(carol.url(), /name=/, 'the address keeps the room, not the name (an invite)');
    const again = await open(`room=${room}`, 'Carol again');
    assert.equal(await again.inputValue('#join-name'), 'Carol', 'the name is remembered');
    await again.close();
  });

  it('skips the pre-join screen with &name=, and three pages see three tiles each with names', async () => {
    alice = await open(`room=${room}&name=Alice`, 'Alice');
    bob = await open(`room=${room}&name=Bob`, 'Bob');
    assert.equal(await alice.isVisible('#join-view'), false);
    for (const page of [alice, bob, carol]) {
      await waitInPage(page, 'three tiles with video', (h) => h.tiles().filter((t) => t.source === 'camera' && t.hasVideo && t.visible).length === 3);
    }
    const names = (await tiles(alice)).map((t) => t.name).sort();
    assert.deepEqual(names, ['Alice', 'Bob', 'Carol']);
    assert.equal((await hook(alice, (h) => h.layout())).mode, 'grid');
    await waitInPage(alice, 'connection bars on remote tiles', (h) => h.tiles().filter((t) => !t.local).every((t) => t.quality > 0));
    // The fake microphone beeps: its level (and the node's active speaker) lights a ring.
    await waitInPage(alice, 'a speaking ring on a remote tile', (h) => h.tiles().some((t) => !t.local && t.speaking));
    const bars = await alice.getAttribute('.tile:not(.local) .bars', 'title');
    assert.match(bars ?? '', /^Connection: (good|fair|poor) · round trip \d+ ms/, 'the bars say the figures on hover');
    await alice.click('#invite-btn');
    await eventually(async () => /Invite link copied|room=webapp/.test((await alice.textContent('.toast')) ?? ''), 'the invite link is copied (or shown)', 5_000);
  });

  it('re-flows the grid when the viewport changes', async () => {
    const size = async (): Promise<number[]> => (await tiles(alice)).map((t) => t.width);
    const wide = await size();
    await alice.setViewportSize({ width: 800, height: 900 });
    await eventually(async () => (await size()).every((w, i) => w !== wide[i]), 'tile sizes follow the viewport', 10_000);
    const tall = await hook(alice, (h) => h.layout());
    assert.ok(tall.cols < 3, `a tall stage stacks the tiles (${tall.cols} columns)`);
    await alice.setViewportSize({ width: 1280, height: 720 });
    await eventually(async () => (await size()).every((w, i) => w === wide[i]), 'back to the first sizes', 10_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(wide)} then ${JSON.stringify(tall)}`);
    });
  });

  it('toggles the speaker view with L (not while typing in the chat), and the mic and camera with M and V', async () => {
    await alice.locator('body').press('l');
    const speaker = await hook(alice, (h) => h.layout());
    assert.equal(speaker.mode, 'speaker');
    // Laid out on the next animation frame.
    await waitInPage(alice, 'one tile large, the others small', (h, main) => {
      const all = h.tiles();
      const big = all.find((t) => t.id === main);
      return !!big && all.filter((t) => t !== big).every((t) => t.visible && t.width < big.width / 2);
    }, speaker.main, 10_000);
    await alice.fill('#chat-input', 'hello l');
    await alice.press('#chat-input', 'l');
    assert.equal((await hook(alice, (h) => h.layout())).mode, 'speaker', 'typing an L in the chat does not switch');
    await alice.press('#chat-input', 'Escape');
    await alice.locator('body').press('l');
    assert.equal((await hook(alice, (h) => h.layout())).mode, 'grid');

    await alice.locator('body').press('m');
    await waitInPage(alice, 'mic off', (h) => !h.client.micEnabled);
    await waitInPage(bob, 'Bob sees Alice muted', (h) => h.tiles().some((t) => t.name === 'Alice' && t.muted));
    await alice.locator('body').press('v');
    await waitInPage(alice, 'camera off', (h) => !h.client.cameraEnabled);
    await waitInPage(bob, 'Bob sees Alice\'s avatar', (h) => h.tiles().some((t) => t.name === 'Alice' && !t.hasVideo));
    await alice.locator('body').press('m');
    await alice.locator('body').press('v');
    await waitInPage(bob, 'Alice back', (h) => h.tiles().some((t) => t.name === 'Alice' && !t.muted && t.hasVideo));
  });

  it('pins a person: their tile goes large in the speaker view whoever speaks, and unpinning lets go', async () => {
    const bobTile = (await tiles(alice)).find((t) => t.name === 'Bob' && t.source === 'camera')!;
    await alice.click(`.tile[data-peer-id="${bobTile.peerId}"][data-source="camera"] .pin-btn`, { force: true });
    await waitInPage(alice, 'speaker view with Bob large', (h, id) => h.layout().mode === 'speaker' && h.layout().main === id, bobTile.id, 10_000);
    assert.equal(await alice.getAttribute(`.tile[data-peer-id="${bobTile.peerId}"] .pin-btn`, 'aria-pressed'), 'true');
    await alice.click(`.tile[data-peer-id="${bobTile.peerId}"][data-source="camera"] .pin-btn`, { force: true });
    assert.equal(await alice.getAttribute(`.tile[data-peer-id="${bobTile.peerId}"] .pin-btn`, 'aria-pressed'), 'false');
    await alice.locator('body').press('l');
    await waitInPage(alice, 'back to the grid', (h) => h.layout().mode === 'grid', undefined, 10_000);
  });

  it('the devices panel moves the camera to the chosen device in the call (replaceTrack), and the others keep decoding it', async () => {
    const before = await hook(alice, (h) => (h.client as unknown as { localMedia: { video: { id: string } } }).localMedia.video.id);
    await alice.click('#settings-btn');
    assert.equal(await alice.isVisible('#settings-panel'), true);
    const camera = await alice.locator('#call-device-videoinput option').first().getAttribute('value');
    await alice.selectOption('#call-device-videoinput', camera!);
    await waitInPage(alice, 'a new camera track', (h, id) => (h.client as unknown as { localMedia: { video: { id: string } | null } }).localMedia.video?.id !== id, before, 10_000);
    await alice.keyboard.press('Escape');
    assert.equal(await alice.isVisible('#settings-panel'), false);
    const aliceId = await hook(alice, (h) => h.peerId);
    const frames = async (): Promise<number> => (await hook(bob, (h) => h.videoStats())).find((s) => s.peerId === aliceId && s.source === 'camera')?.framesDecoded ?? 0;
    const first = await frames();
    await eventually(async () => (await frames()) > first + 10, 'Bob keeps decoding Alice\'s camera', 15_000);
  });

  it('a screen share is shown large to the others and decoded at a higher resolution than the sharer\'s camera tile', async () => {
    await bob.click('#share-btn');
    await waitInPage(bob, 'Bob shares', (h) => h.client.screenShare !== null);
    const captured = await hook(bob, (h) => h.client.screenShare?.getSettings().width ?? 0);
    await waitInPage(alice, 'Alice shows Bob\'s screen large', (h) => {
      const l = h.layout();
      return l.mode === 'speaker' && h.tiles().some((t) => t.id === l.main && t.source === 'screen' && t.name === 'Bob' && t.hasVideo);
    });
    // Bob's camera is a small strip tile now: adaptive stream asks for a small layer by its size.
    const bobId = await hook(bob, (h) => h.peerId);
    let last: VideoStats[] = [];
    await eventually(async () => {
      last = (await hook(alice, (h) => h.videoStats())).filter((s) => s.peerId === bobId);
      const screen = last.find((s) => s.source === 'screen');
      const cam = last.find((s) => s.source === 'camera');
      return !!screen && !!cam && cam.frameWidth > 0 && screen.frameWidth >= captured && screen.frameWidth > cam.frameWidth;
    }, 'screen decoded wider than the camera layer', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)} (captured ${captured})`);
    });
    const screenTile = (await tiles(alice)).find((t) => t.source === 'screen')!;
    const cameraTile = (await tiles(alice)).find((t) => t.source === 'camera' && t.name === 'Bob')!;
    assert.ok(screenTile.width > cameraTile.width * 2, 'the screen is the large tile');
  });

  it('ending the capture from the browser ("Stop sharing": the track ends) removes the share for everyone', async () => {
    // What the browser's own bar does: the track stops and fires 'ended' (stop() alone does not fire it).
    await hook(bob, (h) => {
      const track = h.client.screenShare!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    for (const page of [alice, carol]) {
      await waitInPage(page, 'no screen consumer', (h) => !h.consumers().some((c) => c.source === 'screen'), undefined, 15_000);
      await waitInPage(page, 'no screen tile, back to the grid', (h) => !h.tiles().some((t) => t.source === 'screen') && h.layout().mode === 'grid');
    }
    assert.equal(await hook(bob, (h) => h.client.screenShare), null);
    assert.deepEqual(call.errors, []);
  });

  it('pages the grid beyond 25 tiles; a peer without video shows an avatar', async () => {
    // 26 signaling-only peers (no media) and one page: 27 tiles, two pages.
    const route = (await (await fetch(`${call.cluster.base}/api/route?room=webapp-pages`)).json()) as { wsUrl: string };
    const bots: SignalClient[] = [];
    try {
      for (let i = 0; i < 26; i++) {
        const bot = await SignalClient.connect(route.wsUrl);
        const caps = await bot.request('getRouterRtpCapabilities');
        await bot.request('join', { room: 'webapp-pages', displayName: `Bot ${String(i).padStart(2, '0')}`, rtpCapabilities: caps });
        bots.push(bot);
      }
      const page = await open('room=webapp-pages&name=Eve', 'Eve');
      await waitInPage(page, '27 tiles', (h) => h.tiles().length === 27);
      const first = await hook(page, (h) => h.layout());
      assert.equal(first.pages, 2);
      assert.equal(first.visible.length, 25);
      assert.equal(await page.isVisible('.pager'), true);
      const bot = (await tiles(page)).find((t) => t.name === 'Bot 00')!;
      assert.equal(bot.hasVideo, false);
      assert.equal(await page.isVisible(`.tile[data-peer-id="${bot.peerId}"] .avatar`), true, 'an avatar, not a black frame');
      assert.equal(await page.textContent(`.tile[data-peer-id="${bot.peerId}"] .avatar`), 'B0');
      await page.click('.pager button[aria-label="Next page"]');
      const second = await hook(page, (h) => h.layout());
      assert.equal(second.page, 1);
      assert.equal(second.visible.length, 2);
      assert.ok(second.visible.every((id) => !first.visible.includes(id)), 'the second page shows the others');
      const shown = (await tiles(page)).filter((t) => t.visible).map((t) => t.id).sort();
      assert.deepEqual(shown, [...second.visible].sort(), 'only the current page\'s tiles are drawn');
      await page.close();
    } finally {
      for (const bot of bots) bot.close();
    }
  });

  it('keeps working on a phone-sized viewport (390x844): tiles stacked, controls and chat on screen', async () => {
    const phone = await call.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const dan = await call.openApp('Dan', `room=${room}&name=Dan`, { context: phone });
    await waitInPage(dan, 'four tiles with video', (h) => h.tiles().filter((t) => t.hasVideo && t.visible).length === 4);
    const all = await tiles(dan);
    assert.ok(all.every((t) => t.width <= 390 && t.width >= 150), `tiles fit the width: ${all.map((t) => t.width).join(', ')}`);
    for (const id of ['#mic-btn', '#cam-btn', '#leave-btn', '#chat-input']) {
      const box = await dan.locator(id).boundingBox();
      assert.ok(box && box.y + box.height <= 844 && box.x + box.width <= 390, `${id} on screen: ${JSON.stringify(box)}`);
    }
    await phone.close();
    assert.deepEqual(call.errors, []);
  });
});
