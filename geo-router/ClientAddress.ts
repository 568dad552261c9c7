import { BlockList, isIP } from 'node:net';

// Which address a request came from. The socket's peer is the only address nobody can forge;
// X-Forwarded-For is a list anyone can write, so it counts only as far as it was written by
// proxies we run: read from the right, skip our own proxies, and the first other address is
// the client (anything left of it may be the client's own invention).

/** The proxies of a single machine: the local cluster runs behind nothing else. */
export const LOOPBACK_CIDRS: readonly string[] = ['127.0.0.0/8', '::1/128'];

const MAPPED_DOTTED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * The canonical text of an IP address, or undefined when `raw` is not one. Accepts what
 * sockets and proxies actually write: `[v6]:port`, `v4:port`, zone ids, IPv4-mapped IPv6
 * (a dual-stack socket reports IPv4 clients so, and a database keyed by IPv4 needs them back).
 */
export function normalizeAddress(raw: string): string | undefined {
  let s = raw.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.indexOf(':'));
  // A zone names an interface of the proxy's host: meaningless for the client's location.
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const version = isIP(s);
  if (version === 4) return s;
  if (version !== 6) return undefined;
  // The URL parser prints IPv6 in its one canonical (RFC 5952) form; it rejects nothing isIP accepted.
  s = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const dotted = MAPPED_DOTTED.exec(s);
  if (dotted) return dotted[1];
  const hex = MAPPED_HEX.exec(s);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return s;
}

/** A set of CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, or a bare address). */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly cidrs: readonly string[];

  /** @throws TypeError naming the first entry that is not a CIDR block. */
  constructor(cidrs: readonly string[]) {
    this.cidrs = [...cidrs];
    for (const cidr of cidrs) {
      const [addr = '', prefix, extra] = cidr.trim().split('/');
      const ip = normalizeAddress(addr);
      const type = ip && isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      const max = type === 'ipv4' ? 32 : 128;
      const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
      if (!ip || extra !== undefined || !(bits >= 0 && bits <= max)) throw new TypeError(`trusted proxy "${cidr}" is not a CIDR block`);
      this.#list.addSubnet(ip, bits, type);
    }
  }

  /** `address` must be normalized (normalizeAddress). */
  has(address: string): boolean {
    return this.#list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The client's address: the socket's peer, unless that peer is a trusted proxy, in which case
 * the right-most X-Forwarded-For entry that is not a trusted proxy. Undefined when the address
 * that counts is not an address (garbage or `unknown` written by a proxy): the caller then
 * knows nothing about the client, which is better than trusting the entry left of it.
 *
 * `forwardedFor`: every X-Forwarded-For header of the request, joined with commas in order.
 */
export function clientAddress(socketAddress: string, forwardedFor: string | undefined, trusted: TrustedProxies): string | undefined {
  const peer = normalizeAddress(socketAddress);
  if (peer === undefined || !forwardedFor || !trusted.has(peer)) return peer;
  const hops = forwardedFor.split(',').map((h) => h.trim()).filter((h) => h !== '');
  let nearest = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (hop === undefined || !trusted.has(hop)) return hop;
    nearest = hop;
  }
  // Every hop is one of ours (a request from a proxy's own host): that host is the client.
  return nearest;
}
