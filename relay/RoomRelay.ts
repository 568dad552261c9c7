import type * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../core/ids.js';
import type { Link } from './Link.js';
import type { LinkMessage } from './proto.js';

/**
 * What a Room needs of the relay: its links to the other nodes hosting it. The Cascade implements
 * it; the room makes it, starts it once its presence is in the registry, hands it the incoming
 * links the node's relay server accepted for it, and closes it.
 */
export interface RoomRelay {
  /** Follows the registry's presence of the room: dials or awaits each other host. */
  start(): void;
  /** An authenticated incoming link stream from `remote`. */
  accept(remote: NodeId, stream: grpc.ServerDuplexStream<LinkMessage, LinkMessage>): void;
  /** Every link, and those not closed (the room tells these its events). */
  links(): Link[];
  openLinks(): Link[];
  /** A new link exists (not yet up): the room attaches its listeners to it. */
  on(event: 'link', listener: (link: Link) => void): unknown;
  /** Synchronous, idempotent, never throws. */
  close(): void;
}
