import type { RegionNode } from '../region-node/RegionNode.js';
import { Publisher, type Sink, Subscriber } from './bots.js';
import { sleep } from './harness.js';
import type { BenchSignal } from './signal.js';

/** How a churn visit ends: `leave` asks first, `drop` vanishes after its stay, `early` vanishes with a setup request in flight. */
export type ChurnExit = 'leave' | 'drop' | 'early';
export const CHURN_EXITS: readonly ChurnExit[] = ['leave', 'drop', 'early'];

export interface ChurnTally {
  attempts: number;
  /** Visits whose setup finished (joined, transport open, producing or consuming). */
  joins: number;
  leaves: number;
  drops: number;
  earlyDrops: number;
  /** Producers closed by the client before it left (the `closeProducer` path). */
  producersClosed: number;
  publishers: number;
  subscribers: number;
  /** Unconnected WebRTC transports the visits opened besides their plain ones. */
  webrtcTransports: number;
  /** Errors a visit got that it did not cause itself, by message. */
  errors: Map<string, number>;
}

export const newTally = (): ChurnTally => ({ attempts: 0, joins: 0, leaves: 0, drops: 0, earlyDrops: 0, producersClosed: 0, publishers: 0, subscribers: 0, webrtcTransports: 0, errors: new Map() });

export interface ChurnOptions {
  nodes: readonly RegionNode[];
  /** The room of the next visit. */
  room: () => string;
  sink: Sink;
  stayMs: readonly [number, number];
  /** Uniform in [0, 1): the soak's seeded generator. */
  random: () => number;
  stopping: () => boolean;
  tally: ChurnTally;
  /** Called with the room and node of every visit that set up, for the room-span figure. */
  onJoined?: (room: string, node: number) => void;
}

function countError(t: ChurnTally, err: unknown): void {
  const msg = (err as Error).message;
  t.errors.set(msg, (t.errors.get(msg) ?? 0) + 1);
}

/**
 * One churning client, visit after visit until `stopping()`: a random room on a random node, as
 * a publisher (plain RTP, Opus-like, a quarter also VP8-like) or a subscriber (plain receive
 * transport into the shared sink), sometimes with an extra WebRTC transport, a random stay,
 * then one of the exits, taken in turn so that every bot takes all three.
 */
export async function churnBot(bot: number, o: ChurnOptions): Promise<void> {
  const t = o.tally;
  for (let visit = 0; !o.stopping(); visit++) {
    const exit = CHURN_EXITS[(bot + visit) % CHURN_EXITS.length]!;
    const room = o.room();
    const nodeIndex = Math.floor(o.random() * o.nodes.length);
    const node = o.nodes[nodeIndex]!;
    const publisher = o.random() < 0.5;
    const video = o.random() < 0.25;
    // Requests a setup sends: caps, join, transport, then produce (x1-2) or connect (and resumes after it).
    const dropAfter = 1 + Math.floor(o.random() * (publisher ? (video ? 5 : 4) : 5));
    const stay = o.stayMs[0] + o.random() * (o.stayMs[1] - o.stayMs[0]);
    const name = `soak-${bot}-${visit}`;
    let signal: BenchSignal | undefined;
    const onSignal = (s: BenchSignal): void => {
      signal = s;
      if (exit === 'early') s.dropAfterRequests(dropAfter);
    };
    t.attempts++;
    let client: Publisher | Subscriber;
    try {
      client = publisher ? await Publisher.create(node, room, name, { video, onSignal }) : await Subscriber.create(node, room, name, o.sink, { onSignal });
    } catch (err) {
      signal?.drop();
      if (exit === 'early') t.earlyDrops++;
      else countError(t, err);
      continue;
    }
    t.joins++;
    if (publisher) t.publishers++;
    else t.subscribers++;
    // A WebRTC transport too, now and then, never connected (bots speak no ICE): it lives on
    // the worker's WebRtcServer, and as a publisher's receive transport it gets consumers.
    if (o.random() < 0.25) {
      await client.signal.request('createWebRtcTransport', { direction: publisher ? 'recv' : 'send' }).then(() => t.webrtcTransports++, (err) => countError(t, err));
    }
    o.onJoined?.(room, nodeIndex);
    if (client instanceof Publisher) client.start();
    await sleep(stay);
    if (exit === 'leave') {
      if (client instanceof Publisher && o.random() < 0.5) {
        await client.signal.request('closeProducer', { producerId: client.producerIds[0] }).then(() => t.producersClosed++, (err) => countError(t, err));
      }
      await client.signal.request('leave').then(() => t.leaves++, (err) => countError(t, err));
    } else {
      client.signal.drop();
      if (exit === 'early') t.earlyDrops++;
      else t.drops++;
    }
    client.close();
  }
}
