import type { NodeId } from '../core/ids.js';
import { asRoomId, type RoomId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { RoomName } from '../core/protocol.js';
import { clientAddress, type TrustedProxies } from './ClientAddress.js';
import type { GeoLocation, Locator } from './GeoLocator.js';
import type { Catalog, RegionSelector } from './RegionSelector.js';

// GET /api/route, apart from any HTTP server: what the request says in, status and body out.
// The server adapter reads the query, the socket's address and X-Forwarded-For, and writes
// the reply.

export interface RouteQuery {
  room: string;
  /** `?region=`: pins the region. */
  region?: string | undefined;
  /** `?avoid=a,b`: node ids the client just failed on, skipped for this answer (unknown ids are ignored). */
  avoid?: string | undefined;
  /** The TCP peer's address as the server reports it. */
  remoteAddress: string;
  /** Every X-Forwarded-For header of the request, joined with commas in order. */
  forwardedFor?: string | undefined;
}

export interface RouteTarget {
  region: string;
  nodeId: string;
  wsUrl: string;
  distanceKm: number | null;
}

export interface RouteBody extends RouteTarget {
  /** Next-nearest regions (one node each) the client may probe and take if clearly faster. */
  alternatives: RouteTarget[];
}

export interface ErrorBody {
  error: { code: 'bad_request' | 'no_nodes' | 'internal'; message: string };
}

export type RouteReply = { status: 200; body: RouteBody } | { status: 400 | 500 | 503; body: ErrorBody };

export interface RouteApiOptions {
  selector: RegionSelector;
  trustedProxies: TrustedProxies;
  /**
   * Where addresses are. A promise while the database loads (requests wait for it); one that
   * resolves to undefined or rejects means no database: every client is of unknown location.
   */
  locator: Locator | undefined | Promise<Locator | undefined>;
  /** Registered nodes as last reported by the registry, and the known regions. */
  catalog(): Catalog;
  roomNodes(room: RoomId): Promise<NodeId[]>;
  log: Logger;
}

/** The most node ids one request may name; a page names only the few it failed on. */
export const MAX_AVOID = 8;
const NODE_ID_RE = /^[^\s,]{1,128}$/;

/**
 * `avoid=a,b,…` as node ids. Lenient: a malformed or surplus entry is dropped, never an error,
 * since avoiding is a hint and a client that gets it wrong should still get a node.
 */
export function parseAvoid(raw: string | undefined): string[] {
  if (!raw) return [];
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => NODE_ID_RE.test(s));
  return [...new Set(ids)].slice(0, MAX_AVOID);
}

export class RouteApi {
  readonly #opts: RouteApiOptions;

  constructor(opts: RouteApiOptions) {
    this.#opts = opts;
  }

  async route(q: RouteQuery): Promise<RouteReply> {
    if (!RoomName.safeParse(q.room).success) {
      return { status: 400, body: { error: { code: 'bad_request', message: 'room: letters, digits, _ . ~ - only (1-128)' } } };
    }
    const { log } = this.#opts;
    const address = clientAddress(q.remoteAddress, q.forwardedFor, this.#opts.trustedProxies);
    let location: GeoLocation | undefined;
    let hosting: NodeId[];
    try {
      const [locator, nodes] = await Promise.all([
        Promise.resolve(this.#opts.locator).catch(() => undefined),
        this.#opts.roomNodes(asRoomId(q.room)),
      ]);
      location = address === undefined ? undefined : locator?.locate(address);
      hosting = nodes;
    } catch (err) {
      log.error({ err }, 'route lookup failed');
      return { status: 500, body: { error: { code: 'internal', message: 'route lookup failed' } } };
    }
    const avoid = parseAvoid(q.avoid);
    const sel = this.#opts.selector.select(this.#opts.catalog(), { client: location, hosting, pinned: q.region, avoid });
    if (!sel.ok) {
      return sel.code === 'unknown_region'
        ? { status: 400, body: { error: { code: 'bad_request', message: sel.message } } }
        : { status: 503, body: { error: { code: 'no_nodes', message: sel.message } } };
    }
    const target = (c: typeof sel.choice): RouteTarget => ({ region: c.region, nodeId: c.node.id, wsUrl: c.node.wsUrl, distanceKm: c.distanceKm });
    log.debug(
      { room: q.room, address, ...(avoid.length ? { avoid } : {}), country: location?.countryCode, city: location?.city, region: sel.choice.region, node: sel.choice.node.id, distanceKm: sel.choice.distanceKm },
      'routed',
    );
    return { status: 200, body: { ...target(sel.choice), alternatives: sel.alternatives.map(target) } };
  }
}
