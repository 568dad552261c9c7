import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { ErrorCode } from '../../core/errors.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { answerKeyOf, makeFrame, Rng, type Frame, type FuzzContext, type Json } from '../helpers/mutate.js';
import { processCpuMs, workerCpuMs } from '../../bench/harness.js';
import { eventually, startBystanderCall, startTestNode, type BystanderCall } from '../helpers/node.js';

// A storm of generated frames (valid requests and mutations of them, from several sockets at
// once, pipelined) against a real node: every frame is answered with its id (or with id null
// when the id cannot be read), unless the server closed the socket for a frame that deserves
// it; nothing leaks, and a call on the same node goes on. FUZZ_SEED replays a run's frames
// (the interleaving of the sockets is left to the event loop); FUZZ_COUNT sets its size.

const STABLE_CODES: readonly ErrorCode[] = ['bad_request', 'unknown_method', 'invalid_state', 'not_found', 'rate_limited', 'unauthorized', 'room_full', 'draining', 'internal'];
const TOTAL = Number(process.env.FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const SOCKETS = 8;
const MAX_MESSAGE_BYTES = 32 * 1024;
// A frame still unanswered after this long with nothing else arriving on its socket is lost:
// the bound only ends the wait, it asserts no speed.
const STALL_MS = 15_000;

interface Stats {
  sent: number;
  answeredOk: number;
  answeredByCode: Map<string, number>;
  byMutation: Map<string, number>;
  serverCloses: Map<string, number>;
  lostToServerClose: number;
  okByMethod: Map<string, number>;
  /** internal hides the cause from the client: by method, where the cause is to be looked for. */
  internalByMethod: Map<string, number>;
  clientAborts: number;
  lostToClientAbort: number;
  lives: number;
  failures: string[];
}

function bump(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function describeFrame(f: Frame): string {
  const text = typeof f.payload === 'string' ? f.payload : `<${f.binary ? 'binary' : 'text'} ${f.payload.length} bytes>`;
  return `[${f.mutation}] ${text.slice(0, 300)}`;
}

describe('signaling fuzz', () => {
  let node: RegionNode;
  let bystanders: BystanderCall;
  let sink: dgram.Socket;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  before(async () => {
    node = await startTestNode({
      limits: { messagesPerSecond: 1e6, messageBurst: 1e6, maxMessageBytes: MAX_MESSAGE_BYTES, maxPeersPerRoom: 1000 } as never,
    });
    bystanders = await startBystanderCall(node);
    sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  });

  after(() => {
    bystanders?.close();
    node?.close();
    sink?.close();
  });

  it(`answers ${TOTAL} generated frames or closes the socket for a reason, and leaks nothing`, async (t) => {
    t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const caps = (await bystanders.a.request('getRouterRtpCapabilities')) as Json;
    const foreign: string[] = [bystanders.producerId, bystanders.consumerId];
    const stats: Stats = {
      sent: 0, answeredOk: 0, answeredByCode: new Map(), byMutation: new Map(), serverCloses: new Map(),
      lostToServerClose: 0, internalByMethod: new Map(), okByMethod: new Map(), clientAborts: 0, lostToClientAbort: 0, lives: 0, failures: [],
    };

    /** One socket from open to close: a run of pipelined frames, then a wait for the answers or an abort. */
    async function life(rng: Rng, name: string): Promise<void> {
      stats.lives++;
      const ws = new WebSocket(node.wsUrl);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('error', () => undefined);
      const ctx: FuzzContext = {
        caps, rooms: ['fuzz-a', 'fuzz-b', 'fuzz-c', `fuzz-${name}`], joined: false,
        sendTransports: [], recvTransports: [], plainTransports: [], producers: [], consumers: [],
        foreign, sinkPort: (sink.address() as { port: number }).port, nextSsrc: 10_000 + rng.int(1e6) * 100,
      };
      const pending = new Map<string, Frame[]>();
      let outstanding = 0;
      let closedBy: { code: number; reason: string } | undefined;
      let closerSent: Frame | undefined;
      let wake: () => void = () => undefined;
      const progress = (): Promise<boolean> =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), STALL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
      const own = (list: string[], id: unknown): void => {
        if (typeof id !== 'string') return;
        list.push(id);
        if (foreign.length < 500) foreign.push(id);
      };

      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString());
        if ('notification' in msg) {
          if (msg.notification === 'newConsumer') own(ctx.consumers, msg.data.consumerId);
          return;
        }
        // Matched by id: exact for the counts; with duplicate ids (a mutation) an answer may be
        // put down to the wrong one of the frames sharing its id.
        const key = JSON.stringify(msg.id);
        const frame = pending.get(key)?.shift();
        if (!frame) {
          stats.failures.push(`${name}: a response nobody asked for: ${raw.toString().slice(0, 300)}`);
          return;
        }
        outstanding--;
        if (msg.ok === true) {
          stats.answeredOk++;
          const data = msg.data ?? {};
          // The frame may be another one with the same id (see above): nothing in it is taken for granted.
          const request = typeof frame.payload === 'string' ? (JSON.parse(frame.payload) as { method?: unknown; data?: { direction?: unknown } }) : undefined;
          const method = String(request?.method);
          const direction = request?.data?.direction;
          bump(stats.okByMethod, method);
          if (method === 'join') ctx.joined = true;
          else if (method === 'leave') Object.assign(ctx, { joined: false, sendTransports: [], recvTransports: [], plainTransports: [], producers: [], consumers: [] });
          else if (method === 'createWebRtcTransport') own(direction === 'send' ? ctx.sendTransports : ctx.recvTransports, data.transportId);
          else if (method === 'createPlainTransport') {
            own(ctx.plainTransports, data.transportId);
            if (direction === 'send' && typeof data.transportId === 'string') ctx.sendTransports.push(data.transportId);
          } else if (method === 'produce') own(ctx.producers, data.producerId);
        } else if (msg.ok === false && STABLE_CODES.includes(msg.error?.code)) {
          bump(stats.answeredByCode, msg.error.code);
          if (msg.error.code === 'internal') bump(stats.internalByMethod, frame.method);
        } else {
          stats.failures.push(`${name}: a response off the protocol: ${raw.toString().slice(0, 300)} for ${describeFrame(frame)}`);
        }
        wake();
      });
      const closed = new Promise<void>((resolve) =>
        ws.on('close', (code, reason) => {
          closedBy = { code, reason: reason.toString() };
          wake();
          resolve();
        }),
      );

      const budget = 100 + rng.int(1500);
      const window = 1 + rng.int(48);
      const recentIds: Json[] = [];
      const lastSent: Frame[] = [];
      let clientClosed = false;
      for (let id = 1; id <= budget && stats.sent < TOTAL && !closedBy; id++) {
        while (outstanding >= window && !closedBy) {
          if (!(await progress())) break;
        }
        if (closedBy || stats.sent >= TOTAL) break;
        if (outstanding >= window) {
          stats.failures.push(`${name}: no answer in ${STALL_MS} ms to any of ${outstanding} frames, e.g. ${describeFrame([...pending.values()].flat()[0]!)}`);
          break;
        }
        const frame = makeFrame(rng, ctx, { id, recentIds, maxMessageBytes: MAX_MESSAGE_BYTES });
        recentIds.push(id);
        if (recentIds.length > 16) recentIds.shift();
        stats.sent++;
        bump(stats.byMutation, frame.mutation.split(/[:,]/)[0]!);
        if (frame.payload instanceof Buffer && !frame.binary) frame.answerKey = answerKeyOfBuffer(frame.payload);
        const queue = pending.get(frame.answerKey) ?? [];
        queue.push(frame);
        pending.set(frame.answerKey, queue);
        outstanding++;
        if (frame.closes) closerSent ??= frame;
        lastSent.push(frame);
        if (lastSent.length > 3) lastSent.shift();
        ws.send(frame.payload, { binary: frame.binary });
      }

      // Most lives wait for every answer; some hang up with requests in flight, as a tab that
      // closes mid-call does.
      if (!closedBy && rng.chance(0.15)) {
        stats.clientAborts++;
        stats.lostToClientAbort += outstanding;
        clientClosed = true;
        if (rng.chance(0.5)) ws.terminate();
        else ws.close();
      } else {
        while (outstanding > 0 && !closedBy) {
          if (!(await progress())) {
            const lost = [...pending.values()].flat();
            stats.failures.push(`${name}: ${lost.length} frames never answered, e.g. ${lost.slice(0, 3).map(describeFrame).join(' | ')}`);
            break;
          }
        }
      }
      if (closedBy && !clientClosed) {
        // uWS drops the connection on a frame it refuses (1006, no reason): the frame is the reason.
        bump(stats.serverCloses, `${closedBy.code} ${closedBy.reason || '(no reason)'} after ${!closerSent ? 'nothing' : closerSent.mutation === 'invalid UTF-8' ? 'invalid UTF-8' : 'a frame over maxMessageBytes'}`);
        stats.lostToServerClose += outstanding;
        if (!closerSent) stats.failures.push(`${name}: the server closed the socket (${closedBy.code} ${closedBy.reason}) though no frame called for it; last sent: ${lastSent.map(describeFrame).join(' | ')}`);
      }
      if (!closedBy) ws.close();
      await closed;
    }

    const worker = node.pool.slots[0]!.worker;
    const handlersBefore = (await worker.dump()).channelMessageHandlers.channelRequestHandlers.length;
    const started = Date.now();
    const cpuBefore = { test: processCpuMs(), worker: await workerCpuMs(node) };
    await Promise.all(
      Array.from({ length: SOCKETS }, async (_, i) => {
        const rng = new Rng(SEED + i * 0x9e3779b9);
        // Stops at the first failure: a node that lost its answers would stall every later socket.
        for (let n = 0; stats.sent < TOTAL && stats.failures.length === 0; n++) await life(rng, `s${i}.${n}`);
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    // CPU as well as wall time: on a shared machine the rate says as much about the neighbours.
    const cpu = { test: (processCpuMs() - cpuBefore.test) / 1000, worker: ((await workerCpuMs(node)) - cpuBefore.worker) / 1000 };

    const sorted = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(', ');
    t.diagnostic(`${stats.sent} frames in ${seconds.toFixed(1)} s (${Math.round(stats.sent / seconds)}/s) over ${stats.lives} socket lives, ${SOCKETS} at a time; CPU ${cpu.test.toFixed(1)} s in this process (node and clients), ${cpu.worker.toFixed(1)} s in the mediasoup worker`);
    t.diagnostic(`frames: ${sorted(stats.byMutation)}`);
    t.diagnostic(`answered ok: ${stats.answeredOk} (${sorted(stats.okByMethod)})`);
    t.diagnostic(`answered with an error: ${sorted(stats.answeredByCode)}`);
    t.diagnostic(`internal errors by method: ${sorted(stats.internalByMethod) || 'none'}`);
    t.diagnostic(`closed by the server: ${sorted(stats.serverCloses) || 'none'} (${stats.lostToServerClose} frames unanswered behind those closes)`);
    t.diagnostic(`hung up by the client: ${stats.clientAborts} sockets with ${stats.lostToClientAbort} frames in flight`);

    assert.deepEqual(stats.failures.slice(0, 10), [], `${stats.failures.length} failures (seed ${SEED})`);
    assert.equal(stats.sent, TOTAL);
    // internal is what the node says of its own faults: none of these frames is one.
    assert.deepEqual(Object.fromEntries(stats.internalByMethod), {}, 'no internal errors');
    for (const method of ['produce', 'createWebRtcTransport', 'connectWebRtcTransport', 'resumeConsumer']) {
      assert.ok(stats.okByMethod.has(method), `the frames reached past the schema into mediasoup: ${method} succeeded`);
    }
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys, 'Object.prototype untouched');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    // Every fuzz peer has left with its socket: only the bystanders' room and objects remain.
    await eventually(() => node.rooms().size === 1, 'fuzz rooms closed', 10_000).catch(() => undefined);
    assert.deepEqual([...node.rooms().keys()], [bystanders.room], 'only the bystanders room is left');
    await bystanders.assertUnharmed();
    const dump = await worker.dump();
    assert.equal(dump.routerIds.length, 1, 'one router (the bystanders room) on the worker');
    assert.equal(dump.channelMessageHandlers.channelRequestHandlers.length, handlersBefore, 'as many mediasoup objects in the worker as before');
    const routerDump = await node.rooms().get(bystanders.room as never)!.router.dump();
    assert.equal(routerDump.transportIds.length, 2, 'the bystanders have their two transports, nothing more');
    assert.equal(routerDump.mapProducerIdConsumerIds.length, 1, 'one producer');
    assert.equal(routerDump.mapConsumerIdProducerId.length, 1, 'one consumer');
  });
});

function answerKeyOfBuffer(payload: Buffer): string {
  // A text frame that is valid UTF-8 reaches the server's parser like any other: the same rule applies.
  const text = payload.toString('utf8');
  return Buffer.from(text, 'utf8').equals(payload) ? answerKeyOf(text) : 'null';
}
