import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { crc32 } from 'node:zlib';
import * as mediasoup from 'mediasoup';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { WEB_APP_DIR } from '../../cli/paths.js';
import { loadConfig } from '../../core/config.js';
import { RegionNode } from '../../region-node/RegionNode.js';
import { launchChromium } from '../helpers/browser.js';
import { eventually, sleep } from '../helpers/node.js';
import { freePort } from '../helpers/ports.js';

/**
 * A network element that refuses ICE: on `address:port` it answers every STUN Binding request
 * with a Binding error response (400 Bad Request), signed as ICE requires (MESSAGE-INTEGRITY with
 * the node's ICE password for that username, FINGERPRINT). Chromium drops a candidate pair at such
 * an answer instead of waiting out ~15 s of retransmissions, so ICE fails within a second, as it
 * did in the lab. `passwords`: the node's ICE username fragment -> password.
 */
function iceRefuser(address: string, port: number, passwords: ReadonlyMap<string, string>): Promise<Socket> {
  const sock = createSocket('udp4');
  const attr = (type: number, value: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(type, 0);
    head.writeUInt16BE(value.length, 2);
    return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  };
  /** The USERNAME attribute's value ("nodeUfrag:browserUfrag"), or undefined. */
  const username = (msg: Buffer): string | undefined => {
    for (let at = 20; at + 4 <= msg.length; ) {
      const type = msg.readUInt16BE(at);
      const len = msg.readUInt16BE(at + 2);
      if (type === 0x0006) return msg.subarray(at + 4, at + 4 + len).toString();
      at += 4 + len + ((4 - (len % 4)) % 4);
    }
    return undefined;
  };
  sock.on('message', (msg, from) => {
    // STUN: type 0x0001 (Binding request), length, magic cookie 0x2112A442, 12-byte transaction id.
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== 0x2112a442) return;
    const password = passwords.get(username(msg)?.split(':')[0] ?? '');
    if (!password) return;
    const header = Buffer.alloc(20);
    header.writeUInt16BE(0x0111, 0); // Binding error response
    msg.copy(header, 4, 4, 20);
    let body = attr(0x0009, Buffer.concat([Buffer.from([0, 0, 4, 0]), Buffer.from('Bad Request')])); // ERROR-CODE 400
    // MESSAGE-INTEGRITY: HMAC-SHA1 over the message so far, its length field counting this attribute.
    header.writeUInt16BE(body.length + 24, 2);
    body = Buffer.concat([body, attr(0x0008, createHmac('sha1', password).update(Buffer.concat([header, body])).digest())]);
    // FINGERPRINT: CRC-32 of the message so far (length counting it) XOR 0x5354554e.
    header.writeUInt16BE(body.length + 8, 2);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE((crc32(Buffer.concat([header, body])) ^ 0x5354554e) >>> 0, 0);
    sock.send(Buffer.concat([header, body, attr(0x8028, crc)]), from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => resolve(sock));
  });
}

// A network where the browser's ICE cannot complete while signaling works: the node announces
// 127.0.0.2 in its ICE candidates, where nothing listens on TCP and a refuser answers every ICE
// check with an error (its worker is bound to 127.0.0.1). Every join succeeds, and every time the
// send transport then fails within a second. Before the back-off the web app rejoined about every
// 0.57 s (each successful join reset the failure count); now the joins thin out, the node counts
// them (its own "peer joined" log lines), and the page says what is wrong in words.

const OBSERVE_MS = 25_000;
/** The old behaviour made a join every ~0.6-1 s here (25-40 in 25 s); the back-off (0.3, 1, 2, 4, 8, 16 s plus ICE time) ~6. */
const MAX_JOINS = 10;

describe('rejoin back-off when ICE cannot complete (headless Chromium, one node announcing a dead address)', () => {
  let node: RegionNode;
  let browser: Browser;
  let page: Page;
  let refuser: Socket | undefined;
  const joinedAt: number[] = [];

  before(async () => {
    // Count joins where they land: the node's log.
    const lines = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line.includes('"msg":"peer joined"')) joinedAt.push(performance.now());
        done();
      },
    });
    const rtcPort = await freePort();
    // The node's ICE passwords, from mediasoup's own observer (this process runs the node).
    const passwords = new Map<string, string>();
    mediasoup.observer.on('newworker', (w) => w.observer.on('newrouter', (r) => r.observer.on('newtransport', (tr) => {
      if (tr.type === 'webrtc') {
        const ice = (tr as mediasoup.types.WebRtcTransport).iceParameters;
        passwords.set(ice.usernameFragment, ice.password);
      }
    })));
    refuser = await iceRefuser('127.0.0.2', rtcPort, passwords);
    const config = loadConfig({
      env: {},
      overrides: {
        nodeId: 'ice-blocked-1',
        http: { port: 0, staticDir: WEB_APP_DIR },
        media: { workers: 1, rtcPort, listenIp: '127.0.0.1', announcedAddress: '127.0.0.2' },
        relay: { port: 0, secret: 'test-secret' },
        log: { level: 'info', pretty: 'false' },
      },
    });
    node = await RegionNode.start(config, pino({ level: 'info' }, lines));
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    node?.close();
    refuser?.close();
  });

  const hook = <T>(expr: string): Promise<T> => page.evaluate(`window.__octomesh ? (${expr}) : undefined`) as Promise<T>;

  it('backs off, keeps the node from being hammered, and tells the person why', async (t) => {
    const t0 = performance.now();
    await page.goto(`http://127.0.0.1:${node.port}/?room=ice-blocked&name=Blocked`);
    await eventually(async () => ((await hook<{ cause: string }[]>('window.__octomesh.reconnects')) ?? []).some((r) => r.cause === 'media'), 'ICE fails and the page schedules a rejoin', 20_000);
    // The observation window: joins are counted over OBSERVE_MS from the page load; a rate has no event to wait for.
    await sleep(Math.max(0, OBSERVE_MS - (performance.now() - t0)));
    const joins = joinedAt.filter((at) => at >= t0).length;
    const reconnects = (await hook<{ cause: string; delayMs: number }[]>('window.__octomesh.reconnects')) ?? [];
    const notice = (await hook<string | null>('window.__octomesh.notice')) ?? '';
    const shown = (await page.textContent('#call-notice')) ?? '';
    const visible = await page.isVisible('#call-notice');
    const gaps = joinedAt.slice(1).map((at, i) => ((at - joinedAt[i]!) / 1000).toFixed(1));
    t.diagnostic(`${joins} joins in ${((performance.now() - t0) / 1000).toFixed(0)} s (gaps between joins, s: ${gaps.join(', ')}); rejoin delays scheduled, ms: ${reconnects.map((r) => r.delayMs).join(', ')}`);
    t.diagnostic(`the page says: "${shown}"`);

    // The premise: ICE really failed more than once, so a page without back-off would have rejoined all along.
    assert.ok(reconnects.filter((r) => r.cause === 'media').length >= 2, `ICE failed repeatedly: ${JSON.stringify(reconnects)}`);
    assert.ok(joins >= 2, `the page kept trying: ${joins} joins`);
    assert.ok(joins <= MAX_JOINS, `at most ${MAX_JOINS} joins in ${OBSERVE_MS / 1000} s, got ${joins}`);
    // Growing delays: the last one scheduled is longer than the first.
    assert.ok(reconnects.at(-1)!.delayMs > reconnects[0]!.delayMs, `delays grow: ${reconnects.map((r) => r.delayMs).join(', ')}`);
    // Said in words a person can act on, on the page itself.
    assert.ok(visible, 'the notice is shown');
    assert.equal(shown, notice);
    assert.match(shown, /audio and video cannot get through/);
    assert.match(shown, /firewall|network/);
  });
});
