import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asRegionName } from '../../core/ids.js';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { NodeRecord } from '../../core/registry/Registry.js';
import { RegionSelector } from '../../geo-router/RegionSelector.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startTestNode } from '../helpers/node.js';
import { freePort } from '../helpers/ports.js';
import { startRtpSender } from '../helpers/rtp.js';
import { audioRtpParameters, type SignalClient } from '../helpers/SignalClient.js';

// Two real nodes in one region, as the geo-router sees them through the registry. One forwards
// real RTP to many consumers, the other holds more people who send nothing. By peers the busy
// one would get the next room (and by id it wins ties); by the CPU it reports, the idle one does.

const PUBLISHERS = 3;
const WATCHERS = 14;
const IDLE_PEERS = 20;

describe('least-loaded by measured CPU: two nodes in one region', () => {
  const registry = new LocalRegistry();
  let busy: RegionNode;
  let idle: RegionNode;
  const clients: SignalClient[] = [];
  const senders: { start: () => void; stop: () => void }[] = [];
  const selector = new RegionSelector({ defaultRegion: asRegionName('eu-west'), maxPeersPerNode: 100, maxAlternatives: 0 });

  const records = async (): Promise<{ busy: NodeRecord; idle: NodeRecord; all: NodeRecord[] }> => {
    const all = await registry.nodes();
    return { busy: all.find((n) => n.id === busy.nodeId)!, idle: all.find((n) => n.id === idle.nodeId)!, all };
  };
  /** The node a new room goes to, by the router's rules over the registry's records now. */
  const newRoomGoesTo = async (): Promise<string> => {
    const sel = selector.select({ nodes: (await records()).all, regions: [] }, { client: undefined, hosting: [] });
    assert.ok(sel.ok);
    return sel.choice.node.id;
  };
  const loads = async (): Promise<string> => {
    const r = await records();
    return `busy ${JSON.stringify(r.busy?.load)}, idle ${JSON.stringify(r.idle?.load)}`;
  };

  before(async () => {
    const limits = { maxPeersPerRoom: 100, messagesPerSecond: 1000, messageBurst: 1000 };
    // Ids order ties: the busy node would win one.
    busy = await startTestNode({ nodeId: 'load-a-busy', region: 'eu-west', limits }, { registry });
    idle = await startTestNode({ nodeId: 'load-b-idle', region: 'eu-west', limits }, { registry });
    for (let i = 0; i < IDLE_PEERS; i++) clients.push((await joinRoom(idle, 'quiet', `q${i}`)).client);

    // The consumers' RTP goes to a port nobody reads: the worker does the same work wherever it
    // sends, and this process (whose CPU both in-process nodes report as their own) reads none.
    const nowhere = await freePort();
    for (let i = 0; i < WATCHERS; i++) {
      const { client } = await joinRoom(busy, 'loud', `w${i}`);
      clients.push(client);
      client.ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.notification === 'newConsumer') client.call('resumeConsumer', { consumerId: m.data.consumerId }).catch(() => undefined);
      });
      const t = await client.request('createPlainTransport', { direction: 'recv' });
      await client.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: nowhere });
    }
    for (let i = 0; i < PUBLISHERS; i++) {
      const { client } = await joinRoom(busy, 'loud', `p${i}`);
      clients.push(client);
      const t = await client.request('createPlainTransport', { direction: 'send' });
      const ssrc = 5000 + i;
      await client.request('produce', { transportId: t.transportId, kind: 'audio', rtpParameters: audioRtpParameters(ssrc) });
      // Up to ~1500 packets/s each (15 every 10 ms), started by the test.
      let rtp: ReturnType<typeof startRtpSender> | undefined;
      senders.push({
        start: () => (rtp = startRtpSender({ ip: t.ip, port: t.port }, { ssrc, payloadType: 100, intervalMs: 10, size: 160, burst: 15 })),
        stop: () => {
          rtp?.stop();
          rtp = undefined;
        },
      });
    }
    await eventually(() => busy.rooms().get('loud' as never)?.counts().consumers === PUBLISHERS * WATCHERS, 'every watcher consumes every publisher', 10_000);
  });

  after(() => {
    for (const s of senders) s.stop();
    for (const c of clients) c.close();
    busy?.close();
    idle?.close();
    registry.close();
  });

  it('while both are quiet, the node with fewer peers gets the new room', async (t) => {
    await eventually(
      async () => {
        const r = await records();
        return r.busy.load.peers === PUBLISHERS + WATCHERS && r.idle.load.peers === IDLE_PEERS && (await newRoomGoesTo()) === busy.nodeId;
      },
      'both nodes report their peers, and the busy-to-be node is chosen on them',
      20_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await loads()}`);
    });
    t.diagnostic(`quiet: ${await loads()}`);
  });

  it('once it forwards media, the busy node reports its CPU and loses new rooms to the idle one', async (t) => {
    for (const s of senders) s.start();
    // The selector treats CPU in steps of 0.1: a lead of 0.1 always puts the nodes in different
    // steps. (How far above it goes depends on how much of a core the worker gets on this host.)
    await eventually(
      async () => {
        const r = await records();
        return r.busy.load.cpu >= r.idle.load.cpu + 0.1;
      },
      'the busy node reports CPU clearly above the idle one',
      30_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await loads()}`);
    });
    const r = await records();
    t.diagnostic(`busy: ${await loads()}`);
    assert.ok(r.busy.load.peers < r.idle.load.peers, 'the busy node still has fewer peers');
    assert.equal(await newRoomGoesTo(), idle.nodeId);
  });

  it('when its media stops, its CPU falls back and it takes new rooms again', async (t) => {
    for (const s of senders) s.stop();
    await eventually(async () => (await newRoomGoesTo()) === busy.nodeId, 'the quiet node chosen again on peers', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await loads()}`);
    });
    t.diagnostic(`after: ${await loads()}`);
  });
});
