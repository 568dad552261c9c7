import { after, before } from 'node:test';
import type { Config, DeepPartial } from '../../core/config.js';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import type { Link } from '../../relay/Link.js';
import { joinRoom, startTestNode } from './node.js';
import { startRtpSender, startRtpSink } from './rtp.js';
import { audioRtpParameters, videoRtpParameters, type Notification, type SignalClient } from './SignalClient.js';

/** One RTP stream into a plain send transport: Opus on payload type 100, or VP8 on 101. */
export interface PlainStream {
  kind: 'audio' | 'video';
  ssrc: number;
  intervalMs: number;
  size: number;
  /** Audio only: ssrc-audio-level under this extension id, negotiated and sent (a loud voice). */
  audioLevelExtId?: number;
}

/** Two real nodes on one local registry, for relay tests: A in eu-west, B in us-east. */
export interface NodePair {
  a: RegionNode;
  b: RegionNode;
  /** What the test opens on them (signaling clients, RTP senders and sinks), closed with them. */
  clients: SignalClient[];
  stops: (() => void)[];
  /** `node`'s link to `remote` in the pair's room. */
  linkTo(node: RegionNode, remote: RegionNode): Link | undefined;
  /** Joins the room on `node` as `name` (the client closes with the pair). */
  join(node: RegionNode, name: string): Promise<{ client: SignalClient; join: any }>;
  /** Joins the room on `node` as `name` and publishes `stream` over a plain transport, sending. */
  publish(node: RegionNode, name: string, stream: PlainStream): Promise<{ client: SignalClient; join: any; producerId: string }>;
  /** Joins the room on `node` as `name` with a plain receive transport that sends to a local RTP sink. */
  watch(node: RegionNode, name: string): Promise<{ client: SignalClient; join: any; sink: Awaited<ReturnType<typeof startRtpSink>> }>;
  /**
   * A publisher of `stream` on A ('Pub') and a watcher on B ('Far') whose consumer of it B has
   * made (paused, as every consumer starts): media across the relay, one resume away.
   */
  across(stream: PlainStream): Promise<{ pub: { client: SignalClient; join: any; producerId: string }; far: { client: SignalClient; join: any; sink: Awaited<ReturnType<typeof startRtpSink>> }; newConsumer: Notification }>;
  close(): void;
}

export async function startNodePair(room: string, ids: { a: string; b: string }, bOverrides: DeepPartial<Config> = {}): Promise<NodePair> {
  const registry = new LocalRegistry();
  const a = await startTestNode({ nodeId: ids.a }, { registry });
  const b = await startTestNode({ nodeId: ids.b, region: 'us-east', latitude: 38.9, longitude: -77.04, ...bOverrides }, { registry });
  const clients: SignalClient[] = [];
  const stops: (() => void)[] = [];
  const joined = async (node: RegionNode, name: string) => {
    const j = await joinRoom(node, room, name);
    clients.push(j.client);
    return j;
  };
  const pair: NodePair = {
    a,
    b,
    clients,
    stops,
    linkTo: (node, remote) => node.rooms().get(room as never)?.cascade?.links().find((l) => l.remoteNode === remote.nodeId),
    join: joined,
    async publish(node, name, stream) {
      const { client, join } = await joined(node, name);
      const send = await client.request('createPlainTransport', { direction: 'send' });
      const rtpParameters = (stream.kind === 'audio' ? audioRtpParameters(stream.ssrc) : videoRtpParameters(stream.ssrc)) as { codecs: { payloadType: number }[]; headerExtensions: unknown[] };
      if (stream.audioLevelExtId !== undefined) rtpParameters.headerExtensions = [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: stream.audioLevelExtId }];
      const { producerId } = await client.request('produce', { transportId: send.transportId, kind: stream.kind, rtpParameters });
      const rtp = startRtpSender({ ip: send.ip, port: send.port }, { ...stream, payloadType: rtpParameters.codecs[0]!.payloadType });
      stops.push(rtp.stop);
      return { client, join, producerId };
    },
    async watch(node, name) {
      const { client, join } = await joined(node, name);
      const sink = await startRtpSink();
      stops.push(sink.close);
      const recv = await client.request('createPlainTransport', { direction: 'recv' });
      await client.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: sink.port });
      return { client, join, sink };
    },
    async across(stream) {
      const pub = await pair.publish(a, 'Pub', stream);
      const far = await pair.watch(b, 'Far');
      const newConsumer = await far.client.waitFor('newConsumer', (d) => d.producerId === pub.producerId, 10_000);
      return { pub, far, newConsumer };
    },
    close: () => {
      for (const s of stops) s();
      for (const c of clients) c.close();
      a.close();
      b.close();
      registry.close();
    },
  };
  return pair;
}

/**
 * A NodePair for the enclosing describe block: started in its `before`, closed in its `after`.
 * Its fields are read inside hooks and tests (before the pair is up they throw).
 */
export function nodePairFor(room: string, ids: { a: string; b: string }, bOverrides: DeepPartial<Config> = {}): NodePair {
  let pair: NodePair | undefined;
  before(async () => {
    pair = await startNodePair(room, ids, bOverrides);
  });
  after(() => pair?.close());
  const up = (): NodePair => {
    if (!pair) throw new Error('the node pair starts in before()');
    return pair;
  };
  return {
    get a() { return up().a; },
    get b() { return up().b; },
    get clients() { return up().clients; },
    get stops() { return up().stops; },
    linkTo: (node, remote) => up().linkTo(node, remote),
    join: (node, name) => up().join(node, name),
    publish: (node, name, stream) => up().publish(node, name, stream),
    watch: (node, name) => up().watch(node, name),
    across: (stream) => up().across(stream),
    close: () => up().close(),
  };
}
