import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { types } from 'mediasoup';
import type { Page } from 'playwright-core';
import { WEB_APP_DIR } from '../../cli/paths.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { useBrowser } from '../helpers/browserCluster.js';
import { RELAY_PORTS, startCoturn, type Coturn } from '../helpers/coturn.js';
import { eventually, sleep, startTestNode } from '../helpers/node.js';
import { inPage, untilMediaKeepsArriving, waitInPage } from '../helpers/pageSdk.js';

/** How long the refused page is watched for a transport that connects anyway (ICE over loopback takes well under a second). */
const REFUSED_WATCH_MS = 3000;

/** The remote ends mediasoup sees on a node's WebRTC transports (where the media comes from). */
function remoteTuples(node: RegionNode): { peerId: string; port: number | undefined; iceState: string }[] {
  return [...node.rooms().values()].flatMap((room) =>
    [...room.peers.values()].flatMap((peer) =>
      [...peer.transports.values()].map((t) => {
        const w = t as unknown as types.WebRtcTransport;
        return { peerId: peer.id, port: w.iceSelectedTuple?.remotePort, iceState: w.iceState };
      }),
    ),
  );
}

// Strict NAT, simulated: every page may use relay candidates only (iceTransportPolicy 'relay'),
// so media flows browser -> coturn -> mediasoup or not at all. Loopback only: coturn, the node
// and Chromium share this machine.
describe('TURN-only browser call through coturn (Debian coturn on loopback, headless Chromium)', () => {
  let coturn: Coturn;
  let node: RegionNode;
  let wrongSecretNode: RegionNode;
  const browser = useBrowser();

  before(async () => {
    coturn = await startCoturn();
    const turn = (secret: string) => ({ urls: `turn:127.0.0.1:${coturn.port}?transport=udp`, secret });
    node = await startTestNode({ region: 'eu-west', http: { port: 0, staticDir: WEB_APP_DIR }, turn: turn(coturn.secret) });
    wrongSecretNode = await startTestNode({ region: 'eu-west', http: { port: 0, staticDir: WEB_APP_DIR }, turn: turn(`${coturn.secret}-wrong`) });
  });

  after(async () => {
    node?.close();
    wrongSecretNode?.close();
    await coturn?.stop();
  });

  /** coturn's log lines about one peer's minted username, for assertion messages. */
  const turnLog = (peerId: string | null): string => coturn.output().split('\n').filter((l) => peerId && l.includes(`:${peerId}>`)).join('\n');
  const allocated = (peerId: string | null): RegExp => new RegExp(`user <\\d+:${peerId}>: incoming packet ALLOCATE processed, success`);

  const open = (target: RegionNode, room: string, name: string): Promise<Page> =>
    browser.open(name, `http://127.0.0.1:${target.port}/?room=${room}&name=${name}&iceTransportPolicy=relay`);

  it('two relay-only pages decode each other\'s video and audio, every transport on a relay candidate', async (t) => {
    const started = Date.now();
    const pages = [await open(node, 'turn-call', 'Alice'), await open(node, 'turn-call', 'Bob')];
    for (const page of pages) {
      await waitInPage(page, 'video frames decoded through TURN', async (h) => (await h.inboundStats()).video.framesDecoded > 10, 45_000);
    }
    t.diagnostic(`both pages decoding video via TURN ${Date.now() - started} ms after the first page opened`);
    for (const page of pages) {
      await untilMediaKeepsArriving(page);
      const routes = await inPage(page, (h) => h.iceRoutes());
      assert.deepEqual(routes, { send: { local: 'relay', remote: 'host', relayProtocol: 'udp' }, recv: { local: 'relay', remote: 'host', relayProtocol: 'udp' } });
    }
    // The node's side: every transport's media arrives from one of coturn's relay ports.
    const tuples = remoteTuples(node);
    assert.equal(tuples.length, 4);
    for (const tuple of tuples) {
      assert.ok(tuple.port !== undefined && tuple.port >= RELAY_PORTS.min && tuple.port <= RELAY_PORTS.max, `remote port ${tuple.port} is a coturn relay port`);
    }
    // coturn's side: allocations under each peer's minted "<expiry>:<peerId>" username.
    for (const page of pages) {
      const peerId = await inPage(page, (h) => h.peerId);
      assert.match(coturn.output(), allocated(peerId), `coturn allocated for ${peerId}:\n${turnLog(peerId)}`);
    }
    assert.deepEqual(browser.errors, []);
  });

  it('with a wrong TURN secret, coturn refuses the credentials and relay-only transports never connect', async () => {
    const page = await open(wrongSecretNode, 'turn-refused', 'Carol');
    await waitInPage(page, 'joined (signaling needs no TURN)', (h) => h.state === 'joined');
    const peerId = await inPage(page, (h) => h.peerId);
    // The first ALLOCATE of any client is refused with 401 (it carries no credentials yet); this
    // is the second one, made with the minted username and a wrong HMAC.
    const refused = new RegExp(`user <\\d+:${peerId}>: incoming packet message processed, error 401`);
    await eventually(() => refused.test(coturn.output()), 'coturn refuses the minted credentials', 15_000);
    // A negative check needs a window: a transport that could connect would have within it, and
    // nothing in the page or the node says "will never connect". (Alone in the room, Carol's
    // receive transport never gathers; her sending one is what coturn refused.)
    await sleep(REFUSED_WATCH_MS);
    assert.deepEqual(await inPage(page, (h) => h.iceRoutes()), { send: null, recv: null });
    const tuples = remoteTuples(wrongSecretNode);
    assert.equal(tuples.length, 2, 'both transports exist on the node');
    for (const tuple of tuples) assert.equal(tuple.iceState, 'new', 'no ICE check ever reached the node');
    assert.doesNotMatch(coturn.output(), allocated(peerId), `no allocation for the refused peer:\n${turnLog(peerId)}`);
  });
});
