import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { workerBin } from 'mediasoup';
import { workerCryptoBackend } from '../../region-node/workerCrypto.js';
import { useBrowserCluster } from '../helpers/browserCluster.js';
import { inPage, placeVideo, untilMediaKeepsArriving, waitInPage } from '../helpers/pageSdk.js';

// The install is only proven by a real browser: a worker built without the DTLS fix crashes
// on the first handshake. Two headless Chromium pages join one room through `octomesh start`.
describe('two browsers in one call through `npm start` (headless Chromium, fake devices)', () => {
  const call = useBrowserCluster();
  let alice: Page;
  let bob: Page;

  before(async () => {
    alice = await call.openApp('Alice', 'room=e2e-call&name=Alice');
    bob = await call.openApp('Bob', 'room=e2e-call&name=Bob');
  });

  it('both join and see each other by name, in region eu-west', async () => {
    for (const [page, other] of [[alice, 'Bob'], [bob, 'Alice']] as const) {
      await waitInPage(page, 'joined', (h) => h.state === 'joined');
      await waitInPage(page, `sees ${other}`, (h, name) => h.peers().some((p) => p.displayName === name), 30_000, other);
      assert.equal(await inPage(page, (h) => h.region), 'eu-west');
    }
    assert.match(await alice.textContent('body') ?? '', /Bob/);
  });

  it('each decodes the other one\'s video and receives audio, and the worker survives the DTLS handshake', async () => {
    for (const page of [alice, bob]) {
      await waitInPage(page, 'video frames decoded', async (h) => (await h.inboundStats()).video.framesDecoded > 10);
      await untilMediaKeepsArriving(page);
    }
    // The region node's own health (the cluster's entry point only routes).
    const route = (await (await fetch(`${call.cluster.base}/api/route?room=e2e-call`)).json()) as { wsUrl: string };
    const nodeHttp = route.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
    const health = (await (await fetch(`${nodeHttp}/healthz`)).json()) as { workers: { alive: boolean }[]; peers: number; consumers: number; crypto: { srtp: string } };
    assert.ok(health.workers.every((w) => w.alive), 'no worker died');
    // The SRTP suite Chromium picks with mediasoup, run by the libsrtp the node names.
    assert.equal(health.crypto.srtp, workerCryptoBackend(workerBin));
    for (const page of [alice, bob]) {
      const ciphers = await inPage(page, async (h) => {
        const out: string[] = [];
        (await h.client.getRecvStats())?.forEach((s) => { if (s['type'] === 'transport') out.push(String(s['srtpCipher'])); });
        return out;
      });
      assert.deepEqual(ciphers, ['SRTP_AEAD_AES_256_GCM']);
    }
    assert.equal(health.peers, 2);
    assert.equal(health.consumers, 4);
    assert.doesNotMatch(call.cluster.output(), /worker died/);
  });

  it('simulcast climbs above layer 0, and follows a preferred spatial layer of 0', async () => {
    // Regression check for abs-capture-time: with it negotiated, consumers stayed on layer 0.
    // Adaptive stream asks for the layer the tile needs: the tile is made big enough for the top one.
    const trackId = await inPage(alice, (h) => h.client.consumers.find((c) => c.kind === 'video')!.track.id);
    assert.ok(await placeVideo(alice, trackId, { top: 0, width: 1280, height: 720 }));
    await waitInPage(alice, 'video consumer on spatial layer >= 1', (h) =>
      h.consumers().some((c) => c.kind === 'video' && (c.currentLayers?.spatialLayer ?? 0) >= 1), 45_000);
    const consumerId = await inPage(alice, (h) => h.consumers().find((c) => c.kind === 'video')!.consumerId);
    await inPage(alice, (h, id) => h.client.setConsumerPreferredLayers(id, 0), consumerId);
    await waitInPage(alice, 'current spatial layer follows to 0', (h) =>
      h.consumers().some((c) => c.kind === 'video' && c.currentLayers?.spatialLayer === 0), 20_000);
  });

  it('chat reaches the other page, and leaving removes the peer', async () => {
    await inPage(alice, (h) => h.client.sendChat('hello from Alice'));
    await waitInPage(bob, 'chat arrives', (h) => h.chatLog.some((m) => m.text === 'hello from Alice' && m.displayName === 'Alice'));
    await inPage(alice, (h) => h.client.leave());
    await waitInPage(bob, 'Alice is gone', (h) => !h.peers().some((p) => p.displayName === 'Alice'), 10_000);
    await waitInPage(bob, 'her consumers are closed', (h) => h.consumers().length === 0, 10_000);
    assert.deepEqual(call.errors, []);
  });
});
