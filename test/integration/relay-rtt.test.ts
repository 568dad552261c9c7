import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PING_EVERY_MS } from '../../relay/LinkRtt.js';
import { eventually } from '../helpers/node.js';
import { nodePairFor } from '../helpers/nodePair.js';

// A relay link measures its path's RTT (ping/pong on its gRPC stream), and a consumer of media
// relayed over it tells its client that RTT (newConsumer.relayRttMs, then consumerRelayRtt once
// measured), so the browser can let its jitter buffer wait for repairs across the relay.
// Media from the node's own peers carries no relayRttMs.
const ROOM = 'rtt';

describe('relay link RTT: measured on both ends and carried to relayed consumers', () => {
  const pair = nodePairFor(ROOM, { a: 'rtt-a', b: 'rtt-b' });

  it('gives the link an RTT on both sides, in its stats and /metrics', async () => {
    const { a, b, linkTo } = pair;
    const { pub, far: { client: far }, newConsumer: farNc } = await pair.across({ kind: 'audio', ssrc: 3131, intervalMs: 10, size: 160 });
    const { producerId } = pub;
    const local = (await pair.watch(a, 'Local')).client;
    const localNc = await local.waitFor('newConsumer', (d) => d.producerId === producerId, 10_000);

    await eventually(() => (linkTo(a, b)?.rttMs ?? 0) > 0 && (linkTo(b, a)?.rttMs ?? 0) > 0, 'both ends of the link measured an RTT', 3 * PING_EVERY_MS + 5_000);
    for (const [name, link] of [['A', linkTo(a, b)!], ['B', linkTo(b, a)!]] as const) {
      const stats = await link.stats();
      assert.ok(stats.rttMs > 0, `${name}'s link stats carry rttMs (${stats.rttMs})`);
      assert.equal(stats.rttMs, link.rttMs);
    }

    // Media from this node's own peer: nothing about a relay.
    assert.equal(localNc.data.relayRttMs, undefined, 'a local producer\'s consumer has no relayRttMs');
    // Media relayed from A: the path's RTT, in newConsumer if measured by then, else in the
    // consumerRelayRtt that follows the first measurement.
    assert.equal(typeof farNc.data.relayRttMs, 'number', 'a relayed consumer carries relayRttMs');
    let told = farNc.data.relayRttMs as number;
    if (!(told > 0)) {
      const upd = await far.waitFor('consumerRelayRtt', (d) => d.consumerId === farNc.data.consumerId && d.relayRttMs > 0, 3 * PING_EVERY_MS + 5_000);
      told = upd.data.relayRttMs;
    }
    assert.ok(told > 0, `the far client is told the relay RTT (${told} ms)`);
    assert.equal(local.notifications.filter((n) => n.notification === 'consumerRelayRtt').length, 0, 'no relay RTT for a local consumer');

    const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    const m = /octomesh_relay_link_rtt_ms\{remote_node="rtt-a"[^}]*\} ([0-9.]+)/.exec(metrics);
    assert.ok(m && Number(m[1]) > 0, 'B\'s /metrics has the link\'s RTT');
  });
});
