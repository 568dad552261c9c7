import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeCert, tempDir } from '../helpers/certs.js';

// A certificate reload while 16 clients open TLS connections in a tight loop: every connection
// gets one of the two certificates, none is reset, when Linux migrates the closing listener's
// queue (net.ipv4.tcp_migrate_req=1). Without it the count of resets is reported, not asserted
// (it is the kernel's doing: core/HttpListener.ts, #retire). Runs in a network namespace of its
// own (root and `unshare` needed, as in CI), so the sysctl and the traffic stay there.

const STORM = fileURLToPath(new URL('../helpers/tlsReloadStorm.js', import.meta.url));

function canUnshare(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

function storm(migrate: 0 | 1, dir: string, seconds: number): { reloads: number; seen: Record<string, number> } {
  const out = execFileSync('unshare', ['-n', process.execPath, STORM, 'server', String(migrate), dir, String(seconds)], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('certificate reload under a connection storm', { skip: canUnshare() ? false : 'needs root and unshare (a private network namespace)' }, () => {
  const dir = tempDir();
  for (const name of ['a', 'b']) {
    const c = makeCert(`storm-${name}`);
    copyFileSync(c.certFile, path.join(dir, `${name}.crt`));
    copyFileSync(c.keyFile, path.join(dir, `${name}.key`));
  }

  it('with net.ipv4.tcp_migrate_req=1 no connection is reset across the reloads', (t) => {
    const r = storm(1, dir, 5);
    t.diagnostic(`tcp_migrate_req=1: ${r.reloads} reloads, ${JSON.stringify(r.seen)}`);
    assert.ok(r.reloads >= 10, `reloads happened: ${r.reloads}`);
    assert.ok((r.seen['storm-a'] ?? 0) > 0 && (r.seen['storm-b'] ?? 0) > 0, 'both certificates were served');
    const failed = Object.entries(r.seen).filter(([k]) => !k.startsWith('storm-'));
    assert.deepEqual(failed, [], 'no reset, refused or timed-out connection');
  });

  it('with net.ipv4.tcp_migrate_req=0 (the default) resets are counted', (t) => {
    const r = storm(0, dir, 5);
    t.diagnostic(`tcp_migrate_req=0: ${r.reloads} reloads, ${JSON.stringify(r.seen)}`);
    assert.ok(r.reloads >= 10);
    const failed = Object.entries(r.seen).filter(([k]) => !k.startsWith('storm-') && k !== 'ECONNRESET');
    assert.deepEqual(failed, [], 'nothing but resets: no refused or timed-out connection');
  });
});
