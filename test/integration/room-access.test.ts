import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { after, before, describe, it } from 'node:test';
import { makeRoomToken, parseTtl } from '../../cli/token.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { startTestNode } from '../helpers/node.js';
import { SignalClient } from '../helpers/SignalClient.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const enc = new TextEncoder();

async function tryJoin(node: RegionNode, room: string, token: string | undefined) {
  const client = await SignalClient.connect(node.wsUrl);
  const caps = await client.request('getRouterRtpCapabilities');
  const r = await client.call('join', { room, displayName: 'Someone', rtpCapabilities: caps, ...(token !== undefined ? { token } : {}) });
  return { client, r };
}

describe('room access with JWT (HS256 secret)', () => {
  let node: RegionNode;
  let insider: SignalClient;
  before(async () => {
    node = await startTestNode({ auth: { jwtSecret: SECRET } as never });
    const ok = await tryJoin(node, 'locked', await makeRoomToken({ secret: SECRET, room: 'locked', ttlSec: 60 }));
    assert.equal(ok.r.ok, true, JSON.stringify(ok.r));
    insider = ok.client;
  });
  after(() => {
    insider?.close();
    node?.close();
  });

  const now = Math.floor(Date.now() / 1000);
  const hs = (claims: Record<string, unknown>, key = SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(key));
  const cases: { name: string; token: () => Promise<string | undefined> }[] = [
    { name: 'no token', token: async () => undefined },
    { name: 'garbage', token: async () => 'not.a.jwt' },
    { name: 'an expired token', token: () => hs({ room: 'locked', exp: now - 10 }) },
    { name: 'a token not valid yet', token: () => hs({ room: 'locked', nbf: now + 600, exp: now + 900 }) },
    { name: 'a token without exp', token: () => hs({ room: 'locked' }) },
    { name: 'a wrongly signed token', token: () => hs({ room: 'locked', exp: now + 60 }, 'another-secret-of-sufficient-length-xxxx') },
    { name: 'another room\'s token', token: () => hs({ room: 'elsewhere', exp: now + 60 }) },
    {
      name: 'an alg:none token',
      token: async () => {
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ room: 'locked', exp: now + 60 })}.`;
      },
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with unauthorized, and shows nothing of the room`, async () => {
      const { client, r } = await tryJoin(node, 'locked', await c.token());
      assert.equal(r.ok, false);
      assert.equal(r.error?.code, 'unauthorized');
      assert.equal(r.data, undefined);
      // Still outside: nothing of the room reaches it, and the insider never saw it come.
      assert.equal((await client.call('chat', { text: 'hi' })).error?.code, 'invalid_state');
      assert.equal(client.notifications.length, 0);
      assert.equal(insider.notifications.filter((n) => n.notification === 'peerJoined').length, 0);
      assert.equal(node.rooms().get('locked' as never)!.peers.size, 1);
      client.close();
    });
  }

  it('admits a "*" token to any room, with the name it carries', async () => {
    const token = await makeRoomToken({ secret: SECRET, room: '*', name: 'Operator', ttlSec: 60 });
    const { client, r } = await tryJoin(node, 'locked', token);
    assert.equal(r.ok, true);
    const joined = await insider.waitFor('peerJoined');
    assert.equal(joined.data.displayName, 'Operator', 'the token\'s name wins over the one the client sent');
    client.close();
  });

  it('parses token lifetimes', () => {
    assert.equal(parseTtl('1h'), 3600);
    assert.equal(parseTtl('90s'), 90);
    assert.equal(parseTtl('2d'), 172800);
    assert.equal(parseTtl('soon'), undefined);
    assert.equal(parseTtl('0m'), undefined);
  });
});

describe('room access with an RS256 public key file', () => {
  let node: RegionNode;
  let privatePem: string;
  before(async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dir = mkdtempSync(path.join(tmpdir(), 'octomesh-jwt-'));
    const pub = path.join(dir, 'public.pem');
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    node = await startTestNode({ auth: { jwtPublicKeyFile: pub, issuer: 'https://auth.example', audience: 'octomesh' } as never });
  });
  after(() => node?.close());

  const rs = async (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1m').sign(await importPKCS8(privatePem, 'RS256'));

  it('admits a token signed by the private key with the configured issuer and audience', async () => {
    const { client, r } = await tryJoin(node, 'rs-room', await rs({ room: 'rs-room', iss: 'https://auth.example', aud: 'octomesh' }));
    assert.equal(r.ok, true, JSON.stringify(r.error));
    client.close();
  });

  it('refuses a wrong audience, and an HS256 token made with the public key as secret', async () => {
    let { client, r } = await tryJoin(node, 'rs-room', await rs({ room: 'rs-room', iss: 'https://auth.example', aud: 'someone-else' }));
    assert.equal(r.error?.code, 'unauthorized');
    client.close();
    const forged = await new SignJWT({ room: 'rs-room', iss: 'https://auth.example', aud: 'octomesh' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(enc.encode('-----BEGIN PUBLIC KEY----- pretend this is the public key'));
    ({ client, r } = await tryJoin(node, 'rs-room', forged));
    assert.equal(r.error?.code, 'unauthorized');
    client.close();
  });
});
