import type * as grpc from '@grpc/grpc-js';
import { EnhancedEventEmitter } from '../core/EnhancedEventEmitter.js';
import type { NodeId, RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Registry, Unsubscribe } from '../core/registry/Registry.js';
import { Link, type LinkOptions } from './Link.js';
import type { LinkMessage } from './proto.js';
import type { RelayDialer } from './RelayDialer.js';
import type { RoomRelay } from './RoomRelay.js';

export interface CascadeOptions {
  room: RoomId;
  self: NodeId;
  registry: Registry;
  dialer: RelayDialer;
  /** Everything a Link needs but its remote node and logger. */
  link: Omit<LinkOptions, 'remoteNode' | 'log' | 'room' | 'localNode'>;
  log: Logger;
}

export type CascadeEvents = {
  /** A new Link exists (not yet up): the room attaches its listeners to it. */
  link: [Link];
};

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 1_000;

/**
 * Re-dial backoff: 250 ms, doubling, at most 1 s, counted from the start of the failed dial.
 * The cap is what a path that comes back costs: a link cut by an outage (one longer than
 * keepalive's 8 s, or a peer that restarted) is dialled again at most 1 s after the path returns,
 * plus one connect (a stalled connect is abandoned after 1 s, see RELAY_CONNECT_STALL_MS). At
 * 5 s, the backoff had grown to 2-4 s by then. A dial is cheap (one gRPC stream on a shared channel), and a refused one (room
 * not there yet) comes back at most once a second per room and remote node.
 */
export function redialDelayMs(attempt: number, sinceDialStartMs: number): number {
  return Math.max(0, Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) - sinceDialStartMs);
}

/**
 * The links of one room on this node: one per other node hosting the room, following the
 * registry's room presence. The node with the smaller id dials; a link that breaks while both
 * nodes still host the room is dialled again with backoff; a node that leaves the room (or
 * the registry) loses its link.
 */
export class Cascade extends EnhancedEventEmitter<CascadeEvents> implements RoomRelay {
  readonly #o: CascadeOptions;
  readonly #links = new Map<NodeId, Link>();
  /** Pending dials, shared: two reconciles never make two links to one node. */
  readonly #dialing = new Map<NodeId, Promise<void>>();
  /** Per remote node: failed dials in a row, the pending re-dial, when the last dial began
   *  (until its link is up). */
  readonly #retry = new Map<NodeId, { attempt: number; timer?: NodeJS.Timeout; dialedAt?: number }>();
  #hosts = new Set<NodeId>();
  #unwatch: Unsubscribe | undefined;
  #closed = false;

  constructor(o: CascadeOptions) {
    super(o.log);
    this.#o = o;
  }

  start(): void {
    this.#unwatch = this.#o.registry.watchRoom(this.#o.room, (ids) => this.#reconcile(ids));
  }

  links(): Link[] {
    return [...this.#links.values()];
  }

  /** Links not closed (up, or with Hello sent and the remote's awaited). */
  openLinks(): Link[] {
    return this.links().filter((l) => !l.closed);
  }

  /** An authenticated incoming stream from `remote` for this room. */
  accept(remote: NodeId, stream: grpc.ServerDuplexStream<LinkMessage, LinkMessage>): void {
    if (this.#closed) {
      stream.end();
      return;
    }
    // The remote side decided to (re-)dial: any link we still hold to it is stale.
    this.#links.get(remote)?.close();
    this.#open(remote, stream);
  }

  /** Synchronous, idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    for (const r of this.#retry.values()) if (r.timer) clearTimeout(r.timer);
    this.#retry.clear();
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
  }

  #reconcile(ids: NodeId[]): void {
    if (this.#closed) return;
    this.#hosts = new Set(ids.filter((id) => id !== this.#o.self));
    for (const [remote, link] of this.#links) if (!this.#hosts.has(remote)) link.close();
    for (const remote of this.#hosts) if (this.#o.self < remote) this.#ensure(remote);
  }

  #ensure(remote: NodeId): void {
    if (this.#closed || this.#links.has(remote) || this.#dialing.has(remote) || this.#retry.get(remote)?.timer) return;
    const r = this.#retry.get(remote) ?? { attempt: 0 };
    r.dialedAt = performance.now();
    this.#retry.set(remote, r);
    const dial = this.#dial(remote).finally(() => this.#dialing.delete(remote));
    this.#dialing.set(remote, dial);
  }

  async #dial(remote: NodeId): Promise<void> {
    try {
      const node = (await this.#o.registry.nodes()).find((n) => n.id === remote);
      if (!node?.relayAddress) throw new Error('no relay address in the registry');
      if (this.#closed || !this.#hosts.has(remote)) return;
      this.#open(remote, this.#o.dialer.open(node.relayAddress, this.#o.room));
    } catch (err) {
      this.#o.log.warn({ err, remote }, 'link dial failed');
      this.#scheduleRetry(remote);
    }
  }

  /**
   * Makes the link and registers it in one synchronous step: the Link takes the room's
   * snapshot for its Hello as it is made, and from the same moment the room tells it every
   * event (queued on the link until Hello is out). Nothing can happen between the two.
   */
  #open(remote: NodeId, stream: grpc.ClientDuplexStream<LinkMessage, LinkMessage> | grpc.ServerDuplexStream<LinkMessage, LinkMessage>): void {
    // The stream may fail while the Link is still being made; the Link sees it as destroyed.
    stream.on('error', () => undefined);
    const link = new Link(
      { ...this.#o.link, room: this.#o.room, localNode: this.#o.self, remoteNode: remote, log: this.#o.log.child({ link: remote }) },
      stream,
    );
    this.#links.set(remote, link);
    link.once('up', () => this.#retry.delete(remote));
    link.once('@close', () => {
      if (this.#links.get(remote) === link) this.#links.delete(remote);
      if (!this.#closed && this.#hosts.has(remote) && this.#o.self < remote) this.#scheduleRetry(remote);
    });
    this.safeEmit('link', link);
  }

  #scheduleRetry(remote: NodeId): void {
    if (this.#closed) return;
    const r = this.#retry.get(remote) ?? { attempt: 0 };
    if (r.timer) return;
    // A dial that never came up counts the time it took (a stalled connect took a second); a
    // link that was up and broke starts over at the shortest delay.
    const delay = redialDelayMs(r.attempt, r.dialedAt === undefined ? 0 : performance.now() - r.dialedAt);
    r.dialedAt = undefined;
    r.attempt++;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (this.#hosts.has(remote)) this.#ensure(remote);
    }, delay);
    r.timer.unref();
    this.#retry.set(remote, r);
  }
}
