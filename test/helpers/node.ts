import assert from 'node:assert/strict';
import { loadConfig, type Config, type DeepPartial } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { RegionNode, type RegionNodeDeps } from '../../region-node/RegionNode.js';
import { audioRtpParameters, SignalClient, videoRtpParameters } from './SignalClient.js';
import { eventually as poll, sleep } from '../../core/wait.js';

/** A real region node on ephemeral ports (HTTP and WebRTC), one worker, quiet logs. */
export async function startTestNode(overrides: DeepPartial<Config> = {}, deps: RegionNodeDeps = {}): Promise<RegionNode> {
  const config = loadConfig({
    env: {},
    overrides: {
      nodeId: `test-${Math.random().toString(36).slice(2, 8)}`,
      http: { port: 0 },
      media: { workers: 1, rtcPort: 0, plainTransports: true },
      relay: { port: 0, secret: 'test-secret', pipeGraceSec: 0.3 },
      log: { level: (process.env.TEST_LOG_LEVEL as Config['log']['level']) ?? 'silent', pretty: 'false' },
      ...overrides,
    },
  });
  return RegionNode.start(config, createLogger({ level: config.log.level, pretty: false }), deps);
}

/** Connects, loads capabilities and joins `room`; returns the client and the join response. */
export async function joinRoom(node: RegionNode, room: string, displayName: string): Promise<{ client: SignalClient; join: any; caps: any }> {
  const client = await SignalClient.connect(node.wsUrl);
  const caps = await client.request('getRouterRtpCapabilities');
  const join = await client.request('join', { room, displayName, rtpCapabilities: caps });
  return { client, join, caps };
}

export { sleep };

/** Polls `check` until it returns true or `timeoutMs` passes (tests wait 5 s unless told). */
export function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  return poll(check, what, timeoutMs);
}

/**
 * Waits until exactly the counters at the indexes in `flowing` grow, on two polls in a row (a
 * poll is about 50 ms): a pause, a resume or a layer switch has taken effect and what was in
 * flight before it has landed, so a window opened now sees only what flows after it. `read`
 * returns packet counters (per layer, per stream); `flowing: []` waits for all of them to stop.
 */
export async function untilFlowing(read: () => Promise<number[]>, flowing: number[], what: string, timeoutMs = 10_000): Promise<void> {
  let last = await read();
  let streak = 0;
  await poll(async () => {
    const now = await read();
    const matches = now.every((n, i) => (n > last[i]!) === flowing.includes(i));
    last = now;
    streak = matches ? streak + 1 : 0;
    return streak >= 2;
  }, what, timeoutMs);
}

/**
 * A one-way call in `room`: `names[0]` joins and sends one stream (`kind`, `ssrc`) over a WebRTC
 * send transport, then `names[1]` joins with a receive transport and gets its consumer (paused,
 * as made). The sender's transport is returned for more producers.
 */
export async function oneWayCall(node: RegionNode, room: string, names: [string, string], stream: { kind: 'audio' | 'video'; ssrc: number }) {
  const a = await joinRoom(node, room, names[0]);
  const send = await a.client.request('createWebRtcTransport', { direction: 'send' });
  const rtpParameters = stream.kind === 'audio' ? audioRtpParameters(stream.ssrc) : videoRtpParameters(stream.ssrc);
  const { producerId } = await a.client.request('produce', { transportId: send.transportId, kind: stream.kind, rtpParameters });
  const b = await joinRoom(node, room, names[1]);
  await b.client.request('createWebRtcTransport', { direction: 'recv' });
  const newConsumer = await b.client.waitFor('newConsumer', (d) => d.producerId === producerId);
  return { a, b, sendTransportId: send.transportId as string, producerId: producerId as string, newConsumer };
}

/** A call in progress that abuse elsewhere on the node must leave alone: A sends video, B watches it. */
export interface BystanderCall {
  a: SignalClient;
  b: SignalClient;
  room: string;
  producerId: string;
  consumerId: string;
  /** The room, its counts, both sockets and the node's health are as they were. */
  assertUnharmed(): Promise<void>;
  close(): void;
}

export async function startBystanderCall(node: RegionNode, room = 'bystanders'): Promise<BystanderCall> {
  const { a, b, producerId, newConsumer: nc } = await oneWayCall(node, room, ['A', 'B'], { kind: 'video', ssrc: 777 });
  await b.client.request('resumeConsumer', { consumerId: nc.data.consumerId });
  return {
    a: a.client,
    b: b.client,
    room,
    producerId,
    consumerId: nc.data.consumerId,
    async assertUnharmed() {
      const r = node.rooms().get(room as never);
      assert.ok(r && !r.closed, `the ${room} room is open`);
      assert.deepEqual(r.counts(), { peers: 2, producers: 1, consumers: 1 });
      await a.client.request('ping');
      await b.client.request('ping');
      assert.equal(node.health().ok, true);
    },
    close() {
      a.client.close();
      b.client.close();
    },
  };
}
