import os from 'node:os';
import { frontUrl } from '../core/addresses.js';
import type { RegionName } from '../core/ids.js';
import type { HttpTlsFiles } from '../core/tlsFiles.js';
import type { Logger } from '../core/logger.js';
import type { NodeRecord, Registry, Unsubscribe } from '../core/registry/Registry.js';
import { startClusterHttp, type ClusterHttp } from './RouterHttp.js';
import type { ClusterView } from './ClusterView.js';
import type { RoutingSettings } from './routingSettings.js';

// `octomesh geo-router`: the local cluster's front door without the cluster. It owns no region
// node; it reads them from the shared registry (Consul), so any number of geo-routers can run
// behind one load balancer, each answering from its own watch.

export interface GeoRouterOptions {
  host: string;
  port: number;
  staticDir: string;
  registry: Registry;
  log: Logger;
  routing: RoutingSettings;
  defaultRegion: RegionName;
  adminToken: string;
  /** HTTPS with these files (config http.tls); plain HTTP when absent. */
  tls?: HttpTlsFiles;
}

interface RegionInfo {
  name: RegionName;
  latitude: number;
  longitude: number;
}

export class GeoRouter {
  readonly #http: ClusterHttp;
  readonly #unwatch: Unsubscribe;

  private constructor(http: ClusterHttp, unwatch: Unsubscribe) {
    this.#http = http;
    this.#unwatch = unwatch;
  }

  static async start(opts: GeoRouterOptions): Promise<GeoRouter> {
    let nodes: readonly NodeRecord[] = [];
    // Regions are learnt from their nodes and kept after the last one goes: an operator reading
    // /admin/regions during an outage should see "eu-west: no nodes", not no eu-west at all.
    const regions = new Map<string, RegionInfo>();
    const view: ClusterView = {
      nodes: () => nodes,
      // Not ready without a node: a load balancer should not send browsers to a router that
      // can only answer 503 no_nodes.
      ready: () => nodes.length > 0,
      get regions() {
        return [...regions.values()];
      },
      defaultRegion: opts.defaultRegion,
      roomNodes: (room) => opts.registry.roomNodes(room),
    };
    const unwatch = opts.registry.watchNodes((next) => {
      nodes = next;
      for (const n of next) if (!regions.has(n.region)) regions.set(n.region, { name: n.region, latitude: n.latitude, longitude: n.longitude });
    });
    try {
      const http = await startClusterHttp({ host: opts.host, port: opts.port, staticDir: opts.staticDir, view, log: opts.log, adminToken: opts.adminToken, routing: opts.routing, ...(opts.tls ? { tls: opts.tls } : {}) });
      opts.log.info({ url: frontUrl(opts.host, http.port, http.secure, os.networkInterfaces(), os.hostname()) }, 'geo-router listening');
      return new GeoRouter(http, unwatch);
    } catch (err) {
      unwatch();
      throw err;
    }
  }

  get port(): number {
    return this.#http.port;
  }

  /** Serves the certificate files' current contents to new connections (SIGHUP). */
  reloadTls(reason = 'SIGHUP'): boolean {
    return this.#http.reloadTls(reason);
  }

  /** Stops listening and watching; the registry is the caller's to close. */
  close(): void {
    this.#unwatch();
    this.#http.close();
  }
}
