import { timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import type { NodeRecord } from '../core/registry/Registry.js';
import { clientAddress, type TrustedProxies } from './ClientAddress.js';

// Operators add and remove regions of the local cluster at run time:
//   POST /admin/regions {name, lat, lon}   starts a region node for a new region
//   DELETE /admin/regions/NAME             drains it (no new joins, calls may finish), then stops it
// Only from a client on loopback, or with `Authorization: Bearer <admin.token>`. "On loopback"
// is the client that routing sees (the trusted-proxy rule), not the socket's peer: behind
// nginx or Caddy on the same host every socket peer is 127.0.0.1.

export interface ClusterAdmin {
  addRegion(region: { name: string; latitude: number; longitude: number }): Promise<NodeRecord>;
  removeRegion(name: string): Promise<void>;
  hasRegion(name: string): boolean;
}

const NewRegion = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});

const MAX_BODY = 4096;

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.') || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(address);
}

function tokenMatches(header: string, token: string): boolean {
  if (!token || !header.startsWith('Bearer ')) return false;
  const a = Buffer.from(header.slice(7));
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

type Json = (res: HttpResponse, status: number, body: unknown) => void;

/** Who may use the admin routes: the admin token, and the proxies whose X-Forwarded-For is believed. */
export interface AdminGate {
  token: string;
  trusted: TrustedProxies;
}

/** Every value of one header, in order, joined with commas (a proxy may add its own header rather than extend one). */
export function headerList(req: HttpRequest, name: string): string | undefined {
  const values: string[] = [];
  req.forEach((key, value) => {
    if (key === name) values.push(value);
  });
  return values.length > 0 ? values.join(',') : undefined;
}

/**
 * Whether the request's client is on this host, by the same rule routing uses: the socket's
 * peer, or, when that peer is a trusted proxy, the right-most X-Forwarded-For entry it did not
 * write itself. A proxy that forwards without X-Forwarded-For but says it forwarded (Forwarded,
 * X-Real-IP) leaves the client unknown, and an unknown client is not local.
 */
export function adminClientIsLocal(socketAddress: string, headers: { forwardedFor?: string | undefined; forwarded?: string | undefined; realIp?: string | undefined }, trusted: TrustedProxies): boolean {
  const client = clientAddress(socketAddress, headers.forwardedFor, trusted);
  if (client === undefined || !isLoopback(client)) return false;
  if (headers.forwardedFor === undefined && (headers.forwarded !== undefined || headers.realIp !== undefined)) return false;
  return true;
}

/** A local client, or the admin token; answers 403 otherwise. Reads `req` at once (uWS invalidates it after the handler returns). */
export function adminAllowed(res: HttpResponse, req: HttpRequest, gate: AdminGate, json: Json): boolean {
  const socket = Buffer.from(res.getRemoteAddressAsText()).toString();
  const local = adminClientIsLocal(socket, { forwardedFor: headerList(req, 'x-forwarded-for'), forwarded: headerList(req, 'forwarded'), realIp: headerList(req, 'x-real-ip') }, gate.trusted);
  if (local || tokenMatches(req.getHeader('authorization'), gate.token)) return true;
  json(res, 403, { error: { code: 'unauthorized', message: 'admin routes need a client on this host or the admin token' } });
  return false;
}

export function registerAdminRoutes(app: TemplatedApp, opts: { admin: ClusterAdmin; gate: AdminGate; log: Logger; json: Json }): void {
  const { admin, log, json } = opts;

  const allowed = (res: HttpResponse, req: HttpRequest): boolean => adminAllowed(res, req, opts.gate, json);

  app.post('/admin/regions', (res, req) => {
    if (!allowed(res, req)) return;
    let aborted = false;
    res.onAborted(() => (aborted = true));
    readBody(res, MAX_BODY).then(
      async (body) => {
        let parsed: z.infer<typeof NewRegion>;
        try {
          const r = NewRegion.safeParse(JSON.parse(body.toString('utf8')));
          if (!r.success) throw new Error(`${r.error.issues[0]!.path.join('.') || 'body'}: ${r.error.issues[0]!.message}`);
          parsed = r.data;
        } catch (err) {
          if (!aborted) json(res, 400, { error: { code: 'bad_request', message: (err as Error).message } });
          return;
        }
        if (admin.hasRegion(parsed.name)) {
          if (!aborted) json(res, 409, { error: { code: 'conflict', message: `region ${parsed.name} exists` } });
          return;
        }
        try {
          const node = await admin.addRegion({ name: parsed.name, latitude: parsed.lat, longitude: parsed.lon });
          log.info({ region: parsed.name, node: node.id }, 'region added');
          if (!aborted) json(res, 201, { region: { name: parsed.name, lat: parsed.lat, lon: parsed.lon }, node: { id: node.id, wsUrl: node.wsUrl, pid: node.pid } });
        } catch (err) {
          log.error({ err, region: parsed.name }, 'could not add region');
          if (!aborted) json(res, 503, { error: { code: 'internal', message: (err as Error).message } });
        }
      },
      (err: Error) => {
        if (!aborted) json(res, 413, { error: { code: 'bad_request', message: err.message } });
      },
    );
  });

  app.del('/admin/regions/:name', (res, req) => {
    if (!allowed(res, req)) return;
    const name = req.getParameter(0) ?? '';
    if (!admin.hasRegion(name)) {
      json(res, 404, { error: { code: 'not_found', message: `no region ${name.slice(0, 64)}` } });
      return;
    }
    let aborted = false;
    res.onAborted(() => (aborted = true));
    admin.removeRegion(name).then(
      () => {
        log.info({ region: name }, 'region removed');
        if (!aborted) json(res, 200, { removed: name });
      },
      (err: Error) => {
        if (!aborted) json(res, 500, { error: { code: 'internal', message: err.message } });
      },
    );
  });
}

function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(new Error(`body larger than ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after this call
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
  });
}
