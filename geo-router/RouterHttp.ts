import type { HttpResponse } from 'uWebSockets.js';
import { HttpListener, routeTable } from '../core/HttpListener.js';
import type { HttpTlsFiles } from '../core/tlsFiles.js';
import type { Logger } from '../core/logger.js';
import type { RouteQuery } from './RouteApi.js';
import type { ClusterView } from './ClusterView.js';
import { StaticFiles } from '../core/StaticFiles.js';
import { json, sendStatic } from '../core/uws.js';
import { TrustedProxies } from './ClientAddress.js';
import { CLUSTER_ROUTING, clusterRouteApi, type RoutingSettings } from './routingSettings.js';
import { adminAllowed, headerList, registerAdminRoutes, type AdminGate, type ClusterAdmin } from './AdminRoutes.js';

// The local cluster's front door on :8080: the web app, routing to a region node (the
// geo-router's modules, routingSettings.ts), and the cluster's health.

/** What the HTTP side reads from the cluster. */

export interface ClusterHttp {
  readonly port: number;
  /** Serving HTTPS (config http.tls). */
  readonly secure: boolean;
  /** Re-reads the certificate files (SIGHUP); false when nothing changed or they are bad. */
  reloadTls(reason?: string): boolean;
  close(): void;
}

export async function startClusterHttp(opts: { host: string; port: number; staticDir: string; view: ClusterView; log: Logger; admin?: ClusterAdmin; adminToken?: string; routing?: RoutingSettings; tls?: HttpTlsFiles }): Promise<ClusterHttp> {
  const { view, log } = opts;
  const files = new StaticFiles(opts.staticDir);
  if (files.size === 0) log.warn({ dir: opts.staticDir }, 'no built web app found; run `npm run build`');
  // Recorded once, replayed onto each app a certificate reload makes (core/HttpListener.ts).
  const { app, replay } = routeTable();
  // Admin routes trust X-Forwarded-For exactly as far as routing does.
  const gate: AdminGate = { token: opts.adminToken ?? '', trusted: new TrustedProxies(opts.routing?.trustedProxies ?? CLUSTER_ROUTING.trustedProxies) };

  app.get('/healthz', (res) => {
    const nodes = view.nodes().map((n) => ({ id: n.id, region: n.region, wsUrl: n.wsUrl, pid: n.pid, draining: n.draining, peers: n.load.peers }));
    const ok = view.ready();
    json(res, ok ? 200 : 503, { ok, nodes });
  });

  // Public: where the regions are, for the web app's map (nothing about nodes or load).
  app.get('/api/regions', (res) => {
    json(res, 200, { regions: view.regions.map((r) => ({ name: r.name, lat: r.latitude, lon: r.longitude })) });
  });

  // Node pids and addresses are for operators: the same gate as the admin routes that change things.
  app.get('/admin/regions', (res, req) => {
    if (!adminAllowed(res, req, gate, json)) return;
    const nodes = view.nodes();
    const regions = new Map(view.regions.map((r) => [r.name as string, { name: r.name as string, lat: r.latitude, lon: r.longitude, nodes: [] as unknown[] }]));
    for (const n of nodes) {
      let region = regions.get(n.region);
      if (!region) regions.set(n.region, (region = { name: n.region, lat: n.latitude, lon: n.longitude, nodes: [] }));
      // NodeRecord carries no room count (yet): 0 until it does. Only registered nodes are listed.
      region.nodes.push({ id: n.id, pid: n.pid, wsUrl: n.wsUrl, peers: n.load.peers, rooms: n.load.rooms, draining: n.draining, healthy: true });
    }
    json(res, 200, { regions: [...regions.values()] });
  });

  const routeApi = clusterRouteApi(view, log, opts.routing);
  app.get('/api/route', (res, req) => {
    // req is only valid until the first await: read everything now.
    const query: RouteQuery = {
      room: req.getQuery('room') ?? '',
      region: req.getQuery('region') || undefined,
      avoid: req.getQuery('avoid') || undefined,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      forwardedFor: headerList(req, 'x-forwarded-for'),
    };
    let aborted = false;
    res.onAborted(() => (aborted = true));
    routeApi.route(query).then(
      (reply) => {
        if (!aborted) json(res, reply.status, reply.body);
      },
      (err: Error) => {
        log.error({ err }, 'route lookup failed');
        if (!aborted) json(res, 500, { error: { code: 'internal', message: 'route lookup failed' } });
      },
    );
  });

  if (opts.admin) registerAdminRoutes(app, { admin: opts.admin, gate, log, json });

  app.get('/*', (res, req) => {
    if (!sendStatic(res, files, req.getUrl())) notFound(res);
  });
  app.any('/*', (res, req) => {
    if (API_PATHS.has(req.getUrl()) || req.getUrl().startsWith('/admin/')) json(res, 405, { error: { code: 'bad_request', message: 'method not allowed' } });
    else notFound(res);
  });

  const listener = await HttpListener.listen({ host: opts.host, port: opts.port, tls: opts.tls, routes: replay, log });
  return {
    port: listener.port,
    secure: listener.secure,
    reloadTls: (reason) => listener.reload(reason),
    close: () => listener.close(),
  };
}

const API_PATHS = new Set(['/healthz', '/admin/regions', '/api/route', '/api/regions']);

function notFound(res: HttpResponse): void {
  json(res, 404, { error: { code: 'not_found', message: 'not found' } });
}
