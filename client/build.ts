import { build } from 'esbuild';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// Bundles the browser app into dist/client/public. Runs compiled, as dist/client/build.js, so
// the project root is two levels up from this file whatever the working directory is.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const appDir = join(root, 'client', 'app');
const outDir = join(root, 'dist', 'client', 'public');
const outFile = join(outDir, 'app.js');

await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [join(appDir, 'main.ts')],
  outfile: outFile,
  bundle: true,
  platform: 'browser',
  // iife, not esm: one classic deferred script, nothing to configure for module MIME types.
  format: 'iife',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
await Promise.all(['index.html', 'app.css'].map((name) => copyFile(join(appDir, name), join(outDir, name))));

const js = await readFile(outFile);
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
console.log(`client: ${relative(root, outFile)} ${kib(js.length)} (${kib(gzipSync(js).length)} gzipped) + index.html, app.css, app.js.map`);
