import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { after, before, describe, it } from 'node:test';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startTestNode } from '../helpers/node.js';
import { startRtpSink } from '../helpers/rtp.js';
import { audioRtpParameters, type SignalClient } from '../helpers/SignalClient.js';

// Issue #11 item 8: room events made while a relay link is being set up must reach the far
// node. Two real nodes in this process (A dials, B accepts), no browser. The link is broken and
// re-dialled again and again; each time, at one await of its setup (on A or on B), a burst of
// room events is made on both nodes through signaling: a new producer, a producer closed, one
// paused and one resumed, a peer joining and one leaving. The burst is either waited for at
// that point ("hold") or fired and left to land k event-loop turns later while setup goes on
// ("k turns"), which sweeps the moments in between. After each round, each node's view of the
// other must be exactly the other's state, and a watcher on each node must consume every live
// producer of the room with the right pause state.

const ROOM = 'setup-race';
type SideName = 'A' | 'B';
type Point = 'dial' | 'pipe:before' | 'pipe:after' | 'connect:before' | 'connect:after';

/** One-shot actions at the awaits of a link's setup, on each node's real objects. */
class SetupHooks {
  readonly #armed = new Map<string, () => Promise<void>>();
  arm(side: SideName, point: Point, action: () => Promise<void>): void {
    this.#armed.set(`${side}:${point}`, action);
  }
  get idle(): boolean {
    return this.#armed.size === 0;
  }
  /** The armed action's promise, or nothing (no await, so an unarmed point adds no delay). */
  hit(side: SideName, point: Point): Promise<void> | undefined {
    const action = this.#armed.get(`${side}:${point}`);
    if (!action) return undefined;
    this.#armed.delete(`${side}:${point}`);
    return action();
  }
}

interface SideState {
  name: SideName;
  node: RegionNode;
  pub: SignalClient;
  sendTransportId: string;
  live: { id: string; paused: boolean }[];
  extras: SignalClient[];
  watcherId: string;
  pubId: string;
  /** Set by a `micro` round: the next producer made is held here until the round lets it go. */
  hold?: { made: () => void; release: Promise<number> };
}

describe('cascade: room events during a link\'s setup reach the far node', () => {
  const registry = new LocalRegistry();
  const hooks = new SetupHooks();
  const clients: SignalClient[] = [];
  const closers: (() => void)[] = [];
  let a: RegionNode;
  let b: RegionNode;
  const sides = {} as Record<SideName, SideState>;
  let ssrc = 5000;
  let extraCount = 0;
  let starting: SideName = 'A';

  const linkTo = (node: RegionNode, remote: RegionNode) =>
    node.rooms().get(ROOM as never)?.cascade?.openLinks().find((l) => l.remoteNode === remote.nodeId);

  /** Hooks on the room's router (createPipeTransport) and on each pipe transport (connect). */
  function hookRouter(side: SideName, router: types.Router): void {
    if (router.appData.roomId !== ROOM) return;
    const createPipeTransport = router.createPipeTransport.bind(router);
    router.createPipeTransport = (async (options: types.PipeTransportOptions) => {
      const before = hooks.hit(side, 'pipe:before');
      if (before) await before;
      const transport = await createPipeTransport(options);
      const connect = transport.connect.bind(transport);
      transport.connect = async (params) => {
        const before = hooks.hit(side, 'connect:before');
        if (before) await before;
        await connect(params);
        const after = hooks.hit(side, 'connect:after');
        if (after) await after;
      };
      const after = hooks.hit(side, 'pipe:after');
      if (after) await after;
      return transport;
    }) as typeof router.createPipeTransport;
  }

  function onNewWorker(worker: types.Worker): void {
    const side = starting;
    worker.observer.on('newrouter', (router) => hookRouter(side, router));
  }

  before(async () => {
    mediasoup.observer.on('newworker', onNewWorker);
    // The dialling side's first await: the registry lookup of the far node's address.
    const nodes = registry.nodes.bind(registry);
    registry.nodes = async () => {
      const hook = hooks.hit('A', 'dial');
      if (hook) await hook;
      return nodes();
    };
    starting = 'A';
    a = await startTestNode({ nodeId: 'race-a' }, { registry });
    starting = 'B';
    b = await startTestNode({ nodeId: 'race-b', region: 'us-east', latitude: 38.9, longitude: -77.04 }, { registry });
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      const w = await joinRoom(node, ROOM, `Watcher${name}`);
      const sink = await startRtpSink();
      closers.push(sink.close);
      const recv = await w.client.request('createPlainTransport', { direction: 'recv' });
      await w.client.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: sink.port });
      const p = await joinRoom(node, ROOM, `Pub${name}`);
      const send = await p.client.request('createPlainTransport', { direction: 'send' });
      clients.push(w.client, p.client);
      sides[name] = { name, node, pub: p.client, sendTransportId: send.transportId, live: [], extras: [], watcherId: w.join.peerId, pubId: p.join.peerId };
      holdable(sides[name]);
    }
    await eventually(() => !!linkTo(a, b)?.up && !!linkTo(b, a)?.up, 'the first link is up', 10_000);
  });

  after(() => {
    mediasoup.observer.off('newworker', onNewWorker);
    for (const s of Object.values(sides)) for (const c of s.extras) c.close();
    for (const c of clients) c.close();
    for (const close of closers) close();
    a?.close();
    b?.close();
    registry.close();
  });

  /** One burst of room events on one node, its requests pipelined. */
  async function burst(s: SideState): Promise<void> {
    const ops: Promise<unknown>[] = [];
    const toClose = s.live.length >= 2 ? s.live.shift() : undefined;
    const toPause = s.live.find((p) => !p.paused);
    const toResume = s.live.find((p) => p.paused);
    ops.push(
      s.pub
        .request('produce', { transportId: s.sendTransportId, kind: 'audio', rtpParameters: { ...(audioRtpParameters(ssrc) as object), mid: String(ssrc++) } })
        .then((r: { producerId: string }) => s.live.push({ id: r.producerId, paused: false })),
    );
    if (toClose) ops.push(s.pub.request('closeProducer', { producerId: toClose.id }));
    if (toPause) {
      toPause.paused = true;
      ops.push(s.pub.request('pauseProducer', { producerId: toPause.id }));
    }
    if (toResume) {
      toResume.paused = false;
      ops.push(s.pub.request('resumeProducer', { producerId: toResume.id }));
    }
    ops.push(joinRoom(s.node, ROOM, `Extra${++extraCount}`).then((j) => s.extras.push(j.client)));
    if (s.extras.length > 1) s.extras.shift()!.close();
    await Promise.all(ops);
  }

  /** The room as it is on `node`: peers, and live producers with their pause state. */
  function origin(node: RegionNode): { peers: string[]; producers: Map<string, boolean> } {
    const room = node.rooms().get(ROOM as never)!;
    const producers = new Map<string, boolean>();
    for (const peer of room.peers.values()) for (const p of peer.producers.values()) if (!p.closed) producers.set(p.id, p.paused);
    return { peers: [...room.peers.keys()], producers };
  }

  const fmt = (m: Map<string, boolean>): string => [...m].map(([id, paused]) => `${id.slice(0, 8)}${paused ? '(paused)' : ''}`).sort().join(' ');
  const fmtIds = (ids: string[]): string => ids.map((id) => id.slice(0, 8)).sort().join(' ');

  /** What differs between each node's view of the other and the other's real state ('' if nothing). */
  function differences(): string {
    const st = { A: origin(a), B: origin(b) };
    const all = new Map([...st.A.producers, ...st.B.producers]);
    const out: string[] = [];
    for (const [y, x] of [['B', 'A'], ['A', 'B']] as const) {
      const link = linkTo(sides[y].node, sides[x].node);
      if (!link?.up) {
        out.push(`${y} has no link up to ${x}`);
        continue;
      }
      const seen = new Map(link.remoteProducers().map((p) => [p.producerId, p.paused]));
      if (fmt(seen) !== fmt(st[x].producers)) out.push(`${y} knows ${x}'s producers as [${fmt(seen)}], ${x} has [${fmt(st[x].producers)}]`);
      const peers = link.remotePeers().map((p) => p.peerId);
      if (fmtIds(peers) !== fmtIds(st[x].peers)) out.push(`${y} knows ${x}'s peers as [${fmtIds(peers)}], ${x} has [${fmtIds(st[x].peers)}]`);
      const room = sides[y].node.rooms().get(ROOM as never)!;
      const roomPeers = room.allPeers().map((p) => p.peerId);
      const want = [...st.A.peers, ...st.B.peers];
      if (fmtIds(roomPeers) !== fmtIds(want)) out.push(`${y}'s room lists peers [${fmtIds(roomPeers)}], want [${fmtIds(want)}]`);
      const watcher = room.peers.get(sides[y].watcherId as never)!;
      const consumed = new Map([...watcher.consumers.values()].filter((c) => !c.closed).map((c) => [c.producerId, c.producerPaused]));
      if (fmt(consumed) !== fmt(all)) out.push(`${y}'s watcher consumes [${fmt(consumed)}], live are [${fmt(all)}]`);
    }
    return out.join('; ');
  }

  const points: [SideName, Point][] = [
    ['A', 'dial'],
    ['A', 'pipe:before'],
    ['A', 'pipe:after'],
    ['A', 'connect:before'],
    ['A', 'connect:after'],
    ['B', 'pipe:before'],
    ['B', 'pipe:after'],
    ['B', 'connect:before'],
    ['B', 'connect:after'],
  ];

  /** 'hold': the burst is made at the point, setup waits for it. `turns`: fired, setup goes on
   *  after k event-loop turns. `micro`: the new producer of the side being set up, back from its
   *  worker, is held at the point and handed to the room k microtasks after setup goes on, so
   *  that it lands at every step between two awaits of setup (in production mediasoup answers
   *  several requests in one read of its channel, which puts them that close). */
  type Mode = 'hold' | { turns: number } | { micro: number };
  const modes: Mode[] = ['hold', { turns: 1 }, ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 10].map((micro) => ({ micro }))];
  const modeName = (m: Mode): string => (m === 'hold' ? 'held' : 'turns' in m ? `${m.turns} turns` : `producer ${m.micro} microtasks later`);

  /** The publisher's send transport hands a held producer to the room only when told. */
  function holdable(s: SideState): void {
    const peer = s.node.rooms().get(ROOM as never)!.peers.get(s.pubId as never)!;
    const transport = peer.transport(s.sendTransportId);
    const produce = transport.produce.bind(transport);
    transport.produce = (async (options: types.ProducerOptions) => {
      const producer = await produce(options);
      const hold = s.hold;
      if (hold) {
        s.hold = undefined;
        hold.made();
        const micro = await hold.release;
        for (let i = 0; i < micro; i++) await Promise.resolve();
      }
      return producer;
    }) as typeof transport.produce;
  }

  it('every live producer, pause state, and peer reaches the far node, whatever point of setup the events hit', async (t) => {
    const failures: string[] = [];
    for (const [side, point] of points) {
      for (const mode of modes) {
        const name = `${side} ${point}, ${modeName(mode)}`;
        const bursts: Promise<void>[] = [];
        hooks.arm(side, point, async () => {
          let made = Promise.resolve();
          let release = (_micro: number): void => undefined;
          if (typeof mode === 'object' && 'micro' in mode) {
            let madeNow!: () => void;
            made = new Promise<void>((r) => (madeNow = r));
            sides[side].hold = { made: madeNow, release: new Promise<number>((r) => (release = r)) };
          }
          const fired = Promise.all([burst(sides.A), burst(sides.B)]).then(() => undefined);
          bursts.push(fired);
          if (mode === 'hold') await fired;
          else if ('turns' in mode) for (let i = 0; i < mode.turns; i++) await nextTurn();
          else {
            await made;
            release(mode.micro);
          }
        });
        const old = linkTo(a, b)!;
        old.close(); // as if the stream had failed: A dials again
        await eventually(() => hooks.idle && bursts.length === 1, `${name}: the setup reached the hook`, 10_000);
        await bursts[0];
        await eventually(() => linkTo(a, b) !== old && !!linkTo(a, b)?.up && !!linkTo(b, a)?.up, `${name}: the link is up again`, 10_000);
        // Converged, or the difference that stays is the failure of this round.
        let diff = '';
        await eventually(() => (diff = differences()) === '', name, 3000).catch(() => undefined);
        if (diff) failures.push(`${name}: ${diff}`);
      }
    }
    t.diagnostic(`${points.length * modes.length} link setups, ${failures.length} ended with the far node wrong`);
    assert.deepEqual(failures, []);
  });
});
