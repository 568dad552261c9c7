import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { workerBin } from 'mediasoup';
import { workerCryptoBackend } from '../../region-node/workerCrypto.js';
import { launchChromium } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/node.js';
import { inPage, placeVideo, untilMediaKeepsArriving } from '../helpers/pageSdk.js';

/** The page's test hook (client/app/main.ts, window.__octomesh). */
interface Hook {
  state: string;
  region: string | null;
  error?: string;
  peers(): { peerId: string; displayName: string }[];
  consumers(): { consumerId: string; kind: string; currentLayers: { spatialLayer: number; temporalLayer: number } | null }[];
  inboundStats(): Promise<{ audio: { packets: number; bytes: number }; video: { framesDecoded: number; bytes: number; frameWidth: number } }>;
  chatLog: { text: string; displayName: string }[];
  client: { setConsumerPreferredLayers(id: string, s: number, t?: number): Promise<void>; sendChat(t: string): Promise<void>; leave(): Promise<void> };
}

// The install is only proven by a real browser: a worker built without the DTLS fix crashes
// on the first handshake. Two headless Chromium pages join one room through `octomesh start`.
describe('two browsers in one call through `npm start` (headless Chromium, fake devices)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const errors: string[] = [];

  before(async () => {
    cluster = await startCluster();
    browser = await launchChromium();
    const open = async (name: string): Promise<Page> => {
      const page = await browser.newPage();
      page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
      await page.goto(`${cluster.base}/?room=e2e-call&name=${name}`);
      return page;
    };
    alice = await open('Alice');
    bob = await open('Bob');
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  // Functions are sent as source (this file is compiled without DOM types), so they must not
  // close over anything of this file; `arg` is passed as JSON.
  const hook = <T, A = undefined>(page: Page, fn: (h: Hook, arg: A) => T | Promise<T>, arg?: A): Promise<T> =>
    page.evaluate(`window.__octomesh ? (${fn.toString()})(window.__octomesh, ${JSON.stringify(arg ?? null)}) : undefined`) as Promise<T>;

  async function waitInPage<A>(page: Page, what: string, fn: (h: Hook, arg: A) => boolean | Promise<boolean>, timeoutMs = 30_000, arg?: A): Promise<void> {
    await eventually(async () => Boolean(await hook(page, fn, arg).catch(() => false)), what, timeoutMs);
  }

  it('both join and see each other by name, in region eu-west', async () => {
    for (const [page, other] of [[alice, 'Bob'], [bob, 'Alice']] as const) {
      await waitInPage(page, 'joined', (h) => h.state === 'joined');
      await waitInPage(page, `sees ${other}`, (h, name) => h.peers().some((p) => p.displayName === name), 30_000, other);
      assert.equal(await hook(page, (h) => h.region), 'eu-west');
    }
    assert.match(await alice.textContent('body') ?? '', /Bob/);
  });

  it('each decodes the other one\'s video and receives audio, and the worker survives the DTLS handshake', async () => {
    for (const page of [alice, bob]) {
      await waitInPage(page, 'video frames decoded', async (h) => (await h.inboundStats()).video.framesDecoded > 10);
      await untilMediaKeepsArriving(page);
    }
    // The region node's own health (the cluster's entry point only routes).
    const route = (await (await fetch(`${cluster.base}/api/route?room=e2e-call`)).json()) as { wsUrl: string };
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
    assert.doesNotMatch(cluster.output(), /worker died/);
  });

  it('simulcast climbs above layer 0, and follows a preferred spatial layer of 0', async () => {
    // Regression check for abs-capture-time: with it negotiated, consumers stayed on layer 0.
    // Adaptive stream asks for the layer the tile needs: the tile is made big enough for the top one.
    const trackId = await inPage(alice, (h) => h.client.consumers.find((c) => c.kind === 'video')!.track.id);
    assert.ok(await placeVideo(alice, trackId, { top: 0, width: 1280, height: 720 }));
    await waitInPage(alice, 'video consumer on spatial layer >= 1', (h) =>
      h.consumers().some((c) => c.kind === 'video' && (c.currentLayers?.spatialLayer ?? 0) >= 1), 45_000);
    const consumerId = await hook(alice, (h) => h.consumers().find((c) => c.kind === 'video')!.consumerId);
    await hook(alice, (h, id) => h.client.setConsumerPreferredLayers(id, 0), consumerId);
    await waitInPage(alice, 'current spatial layer follows to 0', (h) =>
      h.consumers().some((c) => c.kind === 'video' && c.currentLayers?.spatialLayer === 0), 20_000);
  });

  it('chat reaches the other page, and leaving removes the peer', async () => {
    await hook(alice, (h) => h.client.sendChat('hello from Alice'));
    await waitInPage(bob, 'chat arrives', (h) => h.chatLog.some((m) => m.text === 'hello from Alice' && m.displayName === 'Alice'));
    await hook(alice, (h) => h.client.leave());
    await waitInPage(bob, 'Alice is gone', (h) => !h.peers().some((p) => p.displayName === 'Alice'), 10_000);
    await waitInPage(bob, 'her consumers are closed', (h) => h.consumers().length === 0, 10_000);
    assert.deepEqual(errors, []);
  });
});
