import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { WEB_APP_DIR } from '../../cli/paths.js';
import { makeRoomToken } from '../../cli/token.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { launchChromium } from '../helpers/browser.js';
import { eventually, sleep, startTestNode } from '../helpers/node.js';

// Room tokens through the real web app: `/?room=R&name=N&token=T` on a node that requires them.
// A good token lets the page in (under the token's name); every bad one ends in the page's
// error state with `unauthorized`, and the people inside never see the caller.

const SECRET = 'e2e-room-token-secret-0123456789abcdef';
const ROOM = 'locked';
const enc = new TextEncoder();
/** How long a refused page is watched for a join that slips in late (a join on loopback takes a few ms). */
const LATE_JOIN_WATCH_MS = 300;

describe('room tokens through the web app (headless Chromium)', () => {
  let node: RegionNode;
  let browser: Browser;
  let insider: Page;
  const now = Math.floor(Date.now() / 1000);
  const hs = (claims: Record<string, unknown>, key = SECRET): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(key));
  const hook = <T>(page: Page, expr: string): Promise<T> => page.evaluate(`window.__octomesh ? (${expr}) : undefined`) as Promise<T>;
  const open = async (name: string, token: string | undefined): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${node.port}/?room=${ROOM}&name=${name}${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}`);
    return page;
  };
  const roomPeers = (): number => node.rooms().get(ROOM as never)?.counts().peers ?? 0;

  before(async () => {
    node = await startTestNode({ http: { port: 0, staticDir: WEB_APP_DIR }, auth: { jwtSecret: SECRET } as never });
    browser = await launchChromium();
    insider = await open('ignored', await makeRoomToken({ secret: SECRET, room: ROOM, name: 'Insider', ttlSec: 600 }));
    await eventually(async () => (await hook<string>(insider, 'window.__octomesh.state')) === 'joined', 'the insider joined', 30_000);
  });

  after(async () => {
    await browser?.close();
    node?.close();
  });

  it('lets a good token in, under the name the token carries', async () => {
    const page = await open('Mallory', await makeRoomToken({ secret: SECRET, room: ROOM, name: 'Guest', ttlSec: 600 }));
    await eventually(async () => (await hook<string>(page, 'window.__octomesh.state')) === 'joined', 'the guest joined', 30_000);
    await eventually(async () => ((await hook<{ displayName: string }[]>(insider, 'window.__octomesh.peers()')) ?? []).some((p) => p.displayName === 'Guest'), 'the insider sees the guest under the token\'s name');
    assert.equal(roomPeers(), 2);
    await page.close();
    await eventually(() => roomPeers() === 1, 'the guest left with its page');
  });

  const cases: { name: string; token: () => Promise<string | undefined> }[] = [
    { name: 'no token', token: async () => undefined },
    { name: 'garbage', token: async () => 'not.a.jwt' },
    { name: 'an expired token', token: () => hs({ room: ROOM, exp: now - 10 }) },
    { name: 'a wrongly signed token', token: () => hs({ room: ROOM, exp: now + 600 }, 'another-secret-of-sufficient-length-xxxx') },
    { name: "another room's token", token: () => hs({ room: 'elsewhere', exp: now + 600 }) },
    {
      name: 'an alg:none token',
      token: async () => {
        const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ room: ROOM, exp: now + 600 })}.`;
      },
    },
  ];
  for (const c of cases) {
    it(`shows ${c.name} the door: unauthorized, nothing of the room`, async () => {
      const page = await open('Intruder', await c.token());
      await eventually(async () => (await hook<string>(page, 'window.__octomesh.state')) === 'error', 'the page ends in its error state', 30_000);
      assert.equal(await hook(page, 'window.__octomesh.errorCode'), 'unauthorized', String(await hook(page, 'window.__octomesh.error')));
      assert.deepEqual(await hook(page, 'window.__octomesh.peers()'), [], 'the page learnt no peer');
      assert.equal(await hook(page, 'window.__octomesh.peerId'), null);
      // A negative check needs a window: nothing announces a join that did not happen.
      await sleep(LATE_JOIN_WATCH_MS);
      assert.equal(roomPeers(), 1, 'only the insider is in the room');
      assert.deepEqual((await hook<{ displayName: string }[]>(insider, 'window.__octomesh.peers()')).map((p) => p.displayName), [], 'the insider saw nobody come in');
      await page.close();
    });
  }
});
