import { createRequire } from 'node:module';
import type { HttpResponse } from 'uWebSockets.js';
import type { StaticFiles } from './StaticFiles.js';

// What the node, the geo-router's front and the bench share of uWebSockets.js.

/**
 * uWebSockets.js ships as CommonJS with a native addon: loaded through require, so the native
 * binary (not the package's pure-JS fallback) is what runs.
 */
export const uWS = createRequire(import.meta.url)('uWebSockets.js') as typeof import('uWebSockets.js');

const STATUS: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  400: '400 Bad Request',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** A JSON answer, never cached. */
export function json(res: HttpResponse, status: number, body: unknown): void {
  res.cork(() => {
    res.writeStatus(STATUS[status] ?? `${status}`).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(body));
  });
}

/** Answers with the file at `url` from `files` (revalidated on each use); false when there is none. */
export function sendStatic(res: HttpResponse, files: StaticFiles, url: string): boolean {
  const file = files.get(url);
  if (!file) return false;
  res.cork(() => res.writeHeader('content-type', file.type).writeHeader('cache-control', 'no-cache').end(file.body));
  return true;
}
