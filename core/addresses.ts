import type { NetworkInterfaceInfo } from 'node:os';
import { ConfigError } from './errors.js';

// What a node tells other hosts about itself: the WebSocket URL browsers open, the relay
// address other nodes dial, the address in its ICE candidates and the one other nodes' pipes
// send media to. A listener on a wildcard address (0.0.0.0, ::) is reachable on every address
// the host has, but "0.0.0.0" or "127.0.0.1" in a URL or candidate reaches nothing on another
// host. So: a configured public address wins; else, with exactly one address that is not
// loopback or link-local, that one; else the node refuses to start, naming the keys to set.
// A loopback listener (the local default) is advertised as is: only loopback peers use it.

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface AdvertiseInput {
  http: { host: string; publicWsUrl: string };
  media: { listenIp: string; announcedAddress: string };
  relay: { host: string; publicAddress: string; mediaAddress: string };
}

export interface Advertised {
  /** Host of the derived WebSocket URL (used when http.publicWsUrl is empty). */
  httpHost: string;
  /** Host of the derived relay address (used when relay.publicAddress is empty). */
  relayHost: string;
  /** Address put in ICE candidates; empty: the listen address itself. */
  announcedAddress: string;
  /** Address other nodes' PipeTransports send media to. */
  pipeAddress: string;
  /** The interface address that stands in for a wildcard, and the keys it stands in for. */
  derived?: { address: string; interface: string; keys: string[] };
}

export function isWildcard(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === '0.0.0.0' || (h.includes(':') && /^[0:]+$/.test(h));
}

/** Addresses other hosts may reach this one at: not loopback, not link-local; IPv4 first. */
export function reachableAddresses(interfaces: Interfaces, ipv6: boolean): { address: string; interface: string }[] {
  const v4: { address: string; interface: string }[] = [];
  const v6: { address: string; interface: string }[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      const family = String(a.family);
      if ((family === 'IPv4' || family === '4') && !a.address.startsWith('169.254.') && !a.address.startsWith('127.')) v4.push({ address: a.address, interface: name });
      else if ((family === 'IPv6' || family === '6') && !/^fe[89ab]/i.test(a.address) && a.address !== '::1') v6.push({ address: a.address, interface: name });
    }
  }
  const unique = (xs: typeof v4): typeof v4 => xs.filter((x, i) => xs.findIndex((y) => y.address === x.address) === i);
  return unique(v4.length > 0 || !ipv6 ? v4 : v6);
}

/** What the node advertises; a ConfigError naming the keys when a wildcard cannot be resolved. */
export function advertisedAddresses(input: AdvertiseInput, interfaces: Interfaces): Advertised {
  const { http, media, relay } = input;
  if (media.announcedAddress && isWildcard(media.announcedAddress)) throw new ConfigError('media.announcedAddress', `${media.announcedAddress} is not an address other hosts can reach`);
  if (relay.mediaAddress && isWildcard(relay.mediaAddress)) throw new ConfigError('relay.mediaAddress', `${relay.mediaAddress} is not an address other hosts can reach`);
  const needs: { key: string; listen: string }[] = [];
  if (!media.announcedAddress && isWildcard(media.listenIp)) needs.push({ key: 'media.announcedAddress', listen: `media.listenIp ${media.listenIp}` });
  if (!relay.publicAddress && isWildcard(relay.host)) needs.push({ key: 'relay.publicAddress', listen: `relay.host ${relay.host}` });
  if (!http.publicWsUrl && isWildcard(http.host)) needs.push({ key: 'http.publicWsUrl', listen: `http.host ${http.host}` });

  let derived: Advertised['derived'];
  if (needs.length > 0) {
    const ipv6 = [media.listenIp, relay.host, http.host].some((h) => isWildcard(h) && h.includes(':'));
    const found = reachableAddresses(interfaces, ipv6);
    const keys = needs.map((n) => n.key);
    if (found.length !== 1) {
      const what = found.length === 0 ? 'no address other hosts could reach' : `${found.length} addresses (${found.map((f) => f.address).join(', ')})`;
      throw new ConfigError(
        keys.join(', '),
        `${needs.map((n) => n.listen).join(', ')} listen on every address and this host has ${what}: set ${keys.join(', ')} to what other hosts and browsers reach (or listen on one address)`,
      );
    }
    derived = { address: found[0]!.address, interface: found[0]!.interface, keys };
  }
  const orDerived = (host: string): string => (isWildcard(host) && derived ? derived.address : host);
  const announcedAddress = media.announcedAddress || (isWildcard(media.listenIp) && derived ? derived.address : '');
  return {
    httpHost: orDerived(http.host),
    relayHost: orDerived(relay.host),
    announcedAddress,
    pipeAddress: relay.mediaAddress || announcedAddress || media.listenIp,
    ...(derived ? { derived } : {}),
  };
}

/** A host as it goes into a URL or host:port (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The page people open for a node whose WebSocket URL is `wsUrl` (ws -> http, wss -> https). */
export function pageUrlFor(wsUrl: string): string {
  try {
    const u = new URL(wsUrl);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/';
    u.search = '?room=demo&name=you';
    return u.toString();
  } catch {
    return wsUrl;
  }
}

/**
 * The page URL of a front (cluster or geo-router) listening on `host`: a wildcard is shown as
 * the host's one reachable address, or its name when it has several.
 */
export function frontUrl(host: string, port: number, secure: boolean, interfaces: Interfaces, hostname: string): string {
  let shown = host;
  if (isWildcard(host)) {
    const found = reachableAddresses(interfaces, host.includes(':'));
    shown = found.length === 1 ? found[0]!.address : hostname;
  }
  return `${secure ? 'https' : 'http'}://${urlHost(shown)}:${port}/?room=demo&name=you`;
}
