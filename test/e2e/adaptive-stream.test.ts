import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { eventually, sleep } from '../helpers/node.js';
import { inboundVideo, inPage, outboundVideo, placeVideo, untilFramesStop, waitInPage, type ConsumerView } from '../helpers/pageSdk.js';

// Adaptive stream and dynacast end to end (#12): two headless Chromium pages through
// `octomesh start`. Bob draws Alice's video at sizes the test sets; what his node forwards follows
// the tile (layer by size, paused off screen or in a hidden tab), and Alice's browser switches off
// the simulcast encodings nobody watches.

/**
 * How long a stream that should be silent (an inactive encoding, a paused consumer) is watched
 * for bytes or frames: proving that nothing comes needs a window, there is no event for it.
 */
const QUIET_WATCH_MS = 2000;
/** The scroll flood's pace: a tile moved on and off screen every 20 ms, well inside the SDK's 250 ms debounce. */
const SCROLL_STEP_MS = 20;

describe('adaptive stream and dynacast (headless Chromium, fake devices)', () => {
  const call = useBrowserCluster();
  const open = (name: string, query = ''): Promise<Page> => call.openApp(name, `room=e2e-adaptive&name=${name}${query}`, { viewport: { width: 1400, height: 900 } });
  let alice: Page;
  let bob: Page;
  /** Bob's consumer of Alice's camera, and its track id (what the inbound stats are keyed by). */
  let consumerId: string;
  let trackId: string;

  const bobView = (): Promise<{ told: ConsumerView; wanted: ConsumerView; pending: boolean; requests: number } | null> =>
    inPage(bob, (h, id) => h.client.viewState(id), consumerId);
  const framesOf = async (): Promise<number> => (await inboundVideo(bob))[trackId]?.frames ?? 0;
  const aliceActive = async (): Promise<boolean[] | null> => (await inPage(alice, (h) => h.client.dynacastState()))?.active ?? null;

  before(async () => {
    alice = await open('Alice');
    bob = await open('Bob');
  });

  it('the camera is produced with its capture height, and Bob\'s tile of Alice is attached and resumed at its size', async () => {
    await waitInPage(bob, 'Bob has a video consumer', (h) => h.client.consumers.some((c) => c.kind === 'video'));
    ({ consumerId, trackId } = await inPage(bob, (h) => {
      const c = h.client.consumers.find((x) => x.kind === 'video')!;
      return { consumerId: c.consumerId, trackId: c.track.id };
    }));
    await eventually(async () => (await framesOf()) > 10, 'Bob decodes Alice', 30_000);
    const state = await bobView();
    assert.equal(state?.told.paused, false, 'resumed');
    assert.ok(state?.told.view && state.told.view.width > 0, `the tile's size was sent (${JSON.stringify(state?.told.view)})`);
    // What the fake camera gives and what Chromium makes of three simulcast encodings.
    const settings = await alice.evaluate('(() => { const t = window.__octomesh.client.localMedia.video; return t && t.getSettings(); })()') as { width: number; height: number };
    await eventually(async () => (await outboundVideo(alice)).filter((e) => e.height > 0).length >= 2, 'Alice sends simulcast', 20_000);
    console.log(`# Alice's capture ${settings.width}x${settings.height}; encodings ${JSON.stringify(await outboundVideo(alice))}`);
    // Audio consumers are resumed as before (no element to attach).
    const audio = await inPage(bob, (h) => h.client.consumers.filter((c) => c.kind === 'audio').map((c) => h.client.viewState(c.consumerId)));
    assert.ok(audio.length === 1 && audio[0]?.told.paused === false && audio[0].mode === 'free', JSON.stringify(audio));
  });

  it('a remote tile resized small drops its consumer to layer 0', async () => {
    assert.ok(await placeVideo(bob, trackId, { top: 0, width: 1280, height: 720 }), 'Bob draws Alice in a <video>');
    await waitInPage(bob, 'a big tile climbs to layer >= 1', (h, id) => (h.client.consumers.find((c) => c.consumerId === id)?.currentLayers?.spatialLayer ?? 0) >= 1, 60_000, consumerId);
    const big = (await inboundVideo(bob))[trackId]!;
    await placeVideo(bob, trackId, { top: 0, width: 160, height: 90 });
    await waitInPage(bob, 'the small tile is on layer 0', (h, id) => h.client.consumers.find((c) => c.consumerId === id)?.currentLayers?.spatialLayer === 0, 20_000, consumerId);
    await eventually(async () => ((await inboundVideo(bob))[trackId]?.height ?? 0) < big.height, 'the decoded frames shrink', 20_000);
    const small = (await inboundVideo(bob))[trackId]!;
    console.log(`# Bob's inbound ${big.width}x${big.height} at 1280x720 CSS px, ${small.width}x${small.height} at 160x90`);
    assert.deepEqual((await bobView())?.told.view, { width: 160, height: 90 });
  });

  it('with only small tiles watching, the publisher\'s top encoding is reported inactive in its outbound-rtp stats', async () => {
    await eventually(async () => JSON.stringify(await aliceActive()) === '[true,false,false]', 'Alice keeps only encoding 0 on', 20_000);
    await eventually(async () => (await outboundVideo(alice)).filter((e) => !e.active).length === 2, 'outbound-rtp says the upper two are inactive', 10_000);
    const enc = await outboundVideo(alice);
    const top = enc.at(-1)!;
    assert.equal(top.active, false, JSON.stringify(enc));
    await sleep(QUIET_WATCH_MS);
    const later = (await outboundVideo(alice)).at(-1)!;
    assert.equal(later.bytes, top.bytes, 'the top encoding sends nothing');
    // Needed again: back on (the node raises demand at once).
    const t0 = Date.now();
    await placeVideo(bob, trackId, { top: 0, width: 1280, height: 720 });
    await eventually(async () => JSON.stringify(await aliceActive()) === '[true,true,true]', 'every encoding back on', 10_000);
    const onAfterMs = Date.now() - t0;
    await eventually(async () => ((await outboundVideo(alice)).at(-1)?.bytes ?? 0) > later.bytes, 'the top encoding sends again', 10_000);
    console.log(`# dynacast: encodings back on ${onAfterMs} ms after the tile grew (incl. Bob's 250 ms debounce and the polling), top layer sending ${Date.now() - t0} ms after`);
  });

  it('a hidden tile pauses its consumer (off screen, then a hidden tab), and shown again it resumes', async () => {
    await placeVideo(bob, trackId, { top: 5000, width: 320, height: 180 });
    await eventually(async () => (await bobView())?.told.paused === true, 'Bob told the node to pause', 10_000);
    await untilFramesStop(bob, [trackId], 'what was in flight when the consumer paused is decoded');
    const before = await framesOf();
    await sleep(QUIET_WATCH_MS);
    assert.equal(await framesOf(), before, 'no frames while off screen');
    // Nobody watches Alice any more: her node tells her to switch every encoding off.
    await eventually(async () => JSON.stringify(await aliceActive()) === '[false,false,false]', 'Alice switches all encodings off', 10_000);

    await placeVideo(bob, trackId, { top: 0, width: 320, height: 180 });
    await eventually(async () => (await bobView())?.told.paused === false, 'resumed when shown', 10_000);
    const shown = await framesOf();
    await eventually(async () => (await framesOf()) > shown + 10, 'frames again (a key frame was asked for)', 15_000);
    await eventually(async () => (await aliceActive())?.[0] === true, 'Alice sends again', 10_000);

    // A hidden tab (headless pages are always visible: the page is told otherwise).
    const setHidden = (hidden: boolean): Promise<unknown> => inPage(bob, (_h, hide) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hide ? 'hidden' : 'visible') });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    await setHidden(true);
    await eventually(async () => (await bobView())?.told.paused === true, 'paused in a hidden tab', 10_000);
    await setHidden(false);
    await eventually(async () => (await bobView())?.told.paused === false, 'resumed in a visible tab', 10_000);
    const visible = await framesOf();
    await eventually(async () => (await framesOf()) > visible + 10, 'frames again', 15_000);
  });

  it('across the relay: a watcher on another region\'s node alone decides which encodings Alice sends', async () => {
    const carl = await open('Carl', '&region=us-east');
    await waitInPage(carl, 'Carl has Alice\'s video', (h) => h.client.consumers.filter((c) => c.kind === 'video').length === 2, 30_000);
    const aliceId = await inPage(alice, (h) => h.client.self!.peerId);
    const far = await inPage(carl, (h, id) => h.client.consumers.find((c) => c.kind === 'video' && c.peerId === id)!.track.id, aliceId);
    assert.ok(await placeVideo(carl, far, { top: 0, width: 160, height: 90 }));
    await placeVideo(bob, trackId, { top: 5000, width: 320, height: 180 }); // Bob (Alice's node) stops watching
    await eventually(async () => JSON.stringify(await aliceActive()) === '[true,false,false]', 'only layer 0, for the far watcher', 20_000);
    await eventually(async () => ((await inboundVideo(carl))[far]?.frames ?? 0) > 10, 'Carl decodes Alice across the relay', 20_000);
    await placeVideo(carl, far, { top: 5000, width: 160, height: 90 });
    await eventually(async () => JSON.stringify(await aliceActive()) === '[false,false,false]', 'nobody anywhere: every encoding off', 20_000);
    await placeVideo(carl, far, { top: 0, width: 1280, height: 720 });
    await eventually(async () => JSON.stringify(await aliceActive()) === '[true,true,true]', 'a big far tile: every encoding on', 20_000);
    await eventually(async () => ((await inboundVideo(carl))[far]?.height ?? 0) > 180, 'Carl receives more than layer 0', 30_000);
    await placeVideo(bob, trackId, { top: 0, width: 320, height: 180 });
    await carl.close();
  });

  it('a scroll flood settles on the final state with few requests, and nothing broke', async () => {
    const before = (await bobView())!.requests;
    for (let i = 0; i < 30; i++) {
      await placeVideo(bob, trackId, { top: i % 2 === 0 ? 5000 : 0, width: 320, height: 180 });
      await sleep(SCROLL_STEP_MS);
    }
    // The last placement (i = 29) is on screen.
    await eventually(async () => { const s = await bobView(); return s !== null && !s.pending && s.told.paused === false; }, 'settled', 10_000);
    const sent = (await bobView())!.requests - before;
    assert.ok(sent <= 6, `30 flips sent ${sent} requests`);
    assert.deepEqual(call.errors, []);
    assert.doesNotMatch(call.cluster.output(), /worker died/);
  });
});

declare const document: { dispatchEvent(e: unknown): void };
declare class Event { constructor(type: string) }
