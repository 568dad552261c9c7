import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { eventually, sleep } from '../helpers/node.js';
import { inboundVideo, inPage, takeOverView, untilFramesStop, waitInPage } from '../helpers/pageSdk.js';

// Last-N and the active speaker end to end (#12), headless Chromium through `octomesh start`
// with rooms.lastN = 2: in a room of four each page is forwarded two videos; a page that joins
// after the speaker started talking shows the speaking ring at once (the join answer says who).

/** Makes a page's getUserMedia leave the microphone out: a page without a mic never becomes the speaker. */
const NO_MIC = `(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => gum({ ...(c || {}), audio: false });
})();`;

/**
 * Which videos flow is read from frames decoded over this window: the forwarded ones must rise in
 * it and the others must not, and a stream staying silent has no event to wait for.
 */
const FLOW_WATCH_MS = 2500;

describe('last-N and the active speaker (headless Chromium, rooms.lastN = 2)', () => {
  const call = useBrowserCluster({ env: { OCTOMESH_ROOMS_LAST_N: '2' } });

  const open = (room: string, name: string, mic: boolean): Promise<Page> =>
    call.openApp(name, `room=${room}&name=${name}`, { viewport: { width: 1000, height: 700 }, beforeLoad: mic ? undefined : (page) => page.addInitScript(NO_MIC) });
  const peerIdOf = (page: Page): Promise<string> => inPage(page, (h) => h.client.self!.peerId);

  it('last-N with N=2 in a room of 4 forwards 2 videos', async () => {
    // Only Ann has a mic, so the speaker order is fixed: Ann first, then the others by join.
    const pages: Page[] = [];
    for (const [name, mic] of [['Ann', true], ['Ben', false], ['Cat', false], ['Dan', false]] as const) pages.push(await open('e2e-lastn', name, mic));
    for (const page of pages) {
      await waitInPage(page, 'three video consumers', (h) => h.client.consumers.filter((c) => c.kind === 'video').length === 3, 60_000);
    }
    // The app puts everyone on its page: its own setView has reached the node once all three
    // others are forwarded. It declares it again on each layout pass, so the test takes the view
    // over (once, under a full suite, a layout pass put all three back mid-measurement).
    for (const page of pages) await waitInPage(page, 'the app\'s view (everyone on its page) is applied', (h) => h.client.forwardedPeers?.length === 3, 15_000);
    // An empty view leaves last-N alone to choose.
    for (const page of pages) {
      await takeOverView(page);
      await inPage(page, (h) => h.client.testView!({ pinned: [], page: [] }));
    }
    for (const page of pages) await waitInPage(page, 'two peers forwarded', (h) => h.client.forwardedPeers?.length === 2, 15_000);
    const videoTracks = (page: Page): Promise<{ peerId: string; trackId: string; forwarded: boolean }[]> =>
      inPage(page, (h) => h.client.consumers.filter((c) => c.kind === 'video').map((c) => ({ peerId: c.peerId, trackId: c.track.id, forwarded: h.client.isForwarded(c.peerId) })));
    for (const page of pages) {
      const paused = (await videoTracks(page)).filter((t) => !t.forwarded).map((t) => t.trackId);
      await untilFramesStop(page, paused, 'frames in flight when the others were paused are decoded');
    }
    const ann = await peerIdOf(pages[0]!);
    for (const page of pages) {
      const tracks = await videoTracks(page);
      const first = await inboundVideo(page);
      await sleep(FLOW_WATCH_MS);
      const second = await inboundVideo(page);
      const flowing = tracks.filter((t) => (second[t.trackId]?.frames ?? 0) > (first[t.trackId]?.frames ?? 0)).map((t) => t.peerId).sort();
      const forwarded = (await inPage(page, (h) => h.client.forwardedPeers))!.sort();
      assert.deepEqual(flowing, forwarded, 'exactly the forwarded peers\' videos are decoded');
      assert.equal(flowing.length, 2);
      const self = await peerIdOf(page);
      if (self !== ann) assert.ok(forwarded.includes(ann), 'the one who speaks is among the forwarded');
      const told = await inPage(page, (h) => h.client.consumers.filter((c) => c.kind === 'video').map((c) => h.client.isForwarded(c.peerId)));
      assert.equal(told.filter(Boolean).length, 2, 'isForwarded agrees');
    }
    // Pinning the third one forwards it too.
    const dan = pages[3]!;
    const notForwarded = await inPage(dan, (h) => h.client.consumers.find((c) => c.kind === 'video' && !h.client.isForwarded(c.peerId))!.peerId);
    await inPage(dan, (h, id) => h.client.testView!({ pinned: [id], page: [] }), notForwarded);
    await waitInPage(dan, 'the pinned peer is forwarded', (h, id) => h.client.isForwarded(id) && h.client.forwardedPeers?.length === 3, 15_000, notForwarded);
    const track = await inPage(dan, (h, id) => h.client.consumers.find((c) => c.kind === 'video' && c.peerId === id)!.track.id, notForwarded);
    const before = (await inboundVideo(dan))[track]?.frames ?? 0;
    await eventually(async () => ((await inboundVideo(dan))[track]?.frames ?? 0) > before + 10, 'the pinned video plays', 15_000);
    for (const page of pages) await page.close();
  });

  it('a page that joins after the speaker started talking shows the speaking ring within 2 s', async () => {
    const speaker = await open('e2e-speaker', 'Sue', true);
    await waitInPage(speaker, 'Sue is the active speaker', (h) => h.client.self !== null && h.client.activeSpeaker === h.client.self.peerId, 30_000);
    const sue = await peerIdOf(speaker);
    const late = await open('e2e-speaker', 'Lou', false);
    await late.waitForFunction('window.__octomesh && window.__octomesh.state === "joined"', undefined, { polling: 'raf', timeout: 30_000 });
    const joinedAt = Date.now();
    // Known from the join answer, not from a change announced later (Sue is still the speaker).
    assert.equal(await inPage(late, (h) => h.client.activeSpeaker), sue, 'the SDK knows the speaker as soon as it is joined');
    // The app marks the speaker's tile with the class "speaking".
    await late.waitForFunction('document.querySelector(".tile.speaking") !== null', undefined, { polling: 'raf', timeout: 2_000 });
    console.log(`# the ring showed ${Date.now() - joinedAt} ms after Lou's page was joined`);
    assert.deepEqual(call.errors, []);
  });
});
