import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The built web app, read into memory once at start: it is a few hundred kB, and serving from
 * memory means no path from a URL ever reaches the file system.
 */
export class StaticFiles {
  readonly #files = new Map<string, StaticFile>();

  constructor(dir: string) {
    if (!dir || !existsSync(dir)) return;
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const full = path.join(d, name);
        if (statSync(full).isDirectory()) walk(full);
        else {
          const url = '/' + path.relative(dir, full).split(path.sep).join('/');
          this.#files.set(url, { body: readFileSync(full), type: TYPES[path.extname(name)] ?? 'application/octet-stream' });
        }
      }
    };
    walk(dir);
  }

  get size(): number {
    return this.#files.size;
  }

  get(url: string): StaticFile | undefined {
    return this.#files.get(url === '/' ? '/index.html' : url);
  }
}
