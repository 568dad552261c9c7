import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// `octomesh bench` is the same program as `npm run bench --`: its arguments and exit code pass through.
const BIN = fileURLToPath(new URL('../../../bin/octomesh.js', import.meta.url));
const octomesh = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('octomesh bench', () => {
  it('prints the bench usage and exits 0 for --help', () => {
    const r = octomesh('bench', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /scenarios: fanout, crossing, route, relay, join, soak/);
  });

  it('passes a bad scenario on, with the bench exit code 2', () => {
    const r = octomesh('bench', 'nosuch');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown scenario nosuch/);
  });
});
