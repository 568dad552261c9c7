import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Paths of the installed package, from dist/cli/ where this file runs once compiled.
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_APP_DIR = path.join(ROOT, 'dist', 'client', 'public');
/** The `octomesh` command; the local cluster forks it once per region node. */
export const OCTOMESH_BIN = path.join(ROOT, 'bin', 'octomesh.js');
