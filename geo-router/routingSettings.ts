import { commaList } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { LOOPBACK_CIDRS, TrustedProxies } from './ClientAddress.js';
import { dbipCityFiles, GeoLocator, type Locator } from './GeoLocator.js';
import { RegionSelector } from './RegionSelector.js';
import { RouteApi } from './RouteApi.js';
import type { ClusterView } from './ClusterView.js';

// The local cluster's GET /api/route: the geo-router's modules with the cluster's settings.

export const CLUSTER_ROUTING = {
  /** Nothing stands in front of :8080 but, possibly, a proxy on the same machine. */
  trustedProxies: LOOPBACK_CIDRS,
  /**
   * Each cluster node runs one worker. Measured: a core forwards ~330 SRTP streams, and a
   * peer in a small call (3–4 people, audio + simulcast video) consumes ~6 of them.
   */
  maxPeersPerNode: 50,
  maxAlternatives: 2,
  /** The GeoIP files are polled this often; a replaced file is used without a restart. */
  geoWatchIntervalMs: 10_000,
} as const;

/** What an operator sets (config `geo.*`); the defaults are the local cluster's. */
export interface RoutingSettings {
  mmdbFiles: string[];
  trustedProxies: readonly string[];
  maxPeersPerNode: number;
}

export function routingSettings(geo: { mmdbFiles: string; trustedProxies: string; maxPeersPerNode: number }): RoutingSettings {
  const trustedProxies = commaList(geo.trustedProxies);
  try {
    new TrustedProxies(trustedProxies);
  } catch (err) {
    throw new ConfigError('geo.trustedProxies', (err as Error).message);
  }
  return { mmdbFiles: commaList(geo.mmdbFiles), trustedProxies, maxPeersPerNode: geo.maxPeersPerNode };
}

let sharedLocator: Promise<Locator | undefined> | undefined;

/**
 * One database per process, whatever number of HTTP fronts (tests start several): it is
 * ~130 MB in memory. Never rejects: without a database every client is of unknown location
 * and goes to the default region, which is a degraded cluster, not a broken one.
 */
export function clusterLocator(log: Logger, files: string[] = []): Promise<Locator | undefined> {
  sharedLocator ??= Promise.resolve()
    .then(() => GeoLocator.open({ files: files.length ? files : dbipCityFiles(), log, watchIntervalMs: CLUSTER_ROUTING.geoWatchIntervalMs }))
    .catch((err: unknown) => {
      log.error({ err }, 'GeoIP database unavailable; every client goes to the default region');
      return undefined;
    });
  return sharedLocator;
}

export function clusterRouteApi(
  view: ClusterView,
  log: Logger,
  settings: RoutingSettings = { mmdbFiles: [], trustedProxies: CLUSTER_ROUTING.trustedProxies, maxPeersPerNode: CLUSTER_ROUTING.maxPeersPerNode },
  locator: Promise<Locator | undefined> = clusterLocator(log, settings.mmdbFiles),
): RouteApi {
  return new RouteApi({
    selector: new RegionSelector({
      defaultRegion: view.defaultRegion,
      maxPeersPerNode: settings.maxPeersPerNode,
      maxAlternatives: CLUSTER_ROUTING.maxAlternatives,
    }),
    trustedProxies: new TrustedProxies(settings.trustedProxies),
    locator,
    catalog: () => ({ nodes: view.nodes(), regions: view.regions }),
    roomNodes: (room) => view.roomNodes(room),
    log,
  });
}
