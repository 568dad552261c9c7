import type { types } from 'mediasoup';
import type { Logger } from '../core/logger.js';
import type { RoomId } from '../core/ids.js';
import { Cascade, type CascadeOptions } from '../relay/Cascade.js';
import type { RoomRelay } from '../relay/RoomRelay.js';
import type { ProducerInfoMsg } from '../relay/proto.js';
import type { ProducerAppData } from './mediaAppData.js';
import type { Peer } from './Peer.js';

// How a room is linked to the other nodes hosting it: its Cascade, made from the room's own
// state (what the Hello snapshot says, which producers a far node may ask for).

/** What a room's Cascade needs from its node: the registry, the dialer, this node's addresses. */
export interface RelaySettings extends Pick<CascadeOptions, 'self' | 'registry' | 'dialer'> {
  region: string;
  listenIp: string;
  mediaAddress: string;
  pipeGraceMs: number;
}

/** What the cascade reads of its room. */
export interface CascadeRoom {
  id: RoomId;
  router: types.Router;
  peers(): Iterable<Peer>;
  activeSpeaker(): string | null;
}

/** The room's Cascade: owned, started and closed by the room. */
export function makeRoomCascade(room: CascadeRoom, r: RelaySettings, log: Logger): RoomRelay {
  return new Cascade({
    room: room.id,
    self: r.self,
    registry: r.registry,
    dialer: r.dialer,
    log,
    link: {
      localRegion: r.region,
      router: room.router,
      listenIp: r.listenIp,
      mediaAddress: r.mediaAddress,
      pipeGraceMs: r.pipeGraceMs,
      snapshot: () => {
        const peers = [...room.peers()];
        return {
          activeSpeaker: room.activeSpeaker(),
          peers: peers.map((p) => p.info),
          producers: peers.flatMap((p) => [...p.producers.values()].filter((pr) => !pr.closed).map((pr) => producerInfo(p, pr))),
        };
      },
      // Never a pipe producer: nothing is relayed twice.
      localProducer: (producerId) => {
        for (const p of room.peers()) {
          const pr = p.producers.get(producerId);
          if (pr) return pr;
        }
        return undefined;
      },
    },
  });
}

/** A local producer as the relay announces it. */
export function producerInfo(owner: Peer, producer: types.Producer): ProducerInfoMsg {
  const app = producer.appData as ProducerAppData;
  return { producerId: producer.id, peerId: owner.id, kind: producer.kind, source: String(app.source ?? producer.kind), paused: producer.paused, layerHeights: app.layerHeights ?? [] };
}

/**
 * Whether a consumer's client should hear of a new relay RTT: the first measurement, or a change
 * of more than 10 ms and 20 %. The client sizes its jitter buffer from it only while it sees
 * repairs, to ~RTT plus a margin, so small drifts do not matter and are not worth a message.
 */
export function relayRttWorthTelling(toldMs: number, nowMs: number): boolean {
  if (nowMs <= 0) return false;
  if (toldMs <= 0) return true;
  const d = Math.abs(nowMs - toldMs);
  return d > 10 && d > 0.2 * toldMs;
}
