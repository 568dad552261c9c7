import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// `npm run lab` when it cannot build its namespaces: one line saying why, a non-zero exit, and
// nothing started. (The lab itself is run by .ci/run, not here: it takes minutes.)

const CLI = fileURLToPath(new URL('../lab/cli.js', import.meta.url));
const isRoot = process.getuid?.() === 0;

function lab(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): { status: number | null; stderr: string } {
  const cmd = opts.uid === undefined ? [process.execPath, CLI, ...args] : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, CLI, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('npm run lab: refusing to run', () => {
  it('an unknown argument: usage, exit 2', () => {
    const r = lab(['--slow']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^lab: unknown argument --slow\nusage: npm run lab/);
  });

  it('not root: one line, exit 2', { skip: !isRoot && 'needs root to drop to another user' }, () => {
    const r = lab(['--quick'], { uid: 65534 });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'lab: needs root to build its network namespaces (run as root); nothing was started\n');
  });

  it('no unshare on the PATH: one line, exit 2', { skip: !isRoot && 'the root check comes first' }, () => {
    const r = lab(['--quick'], { env: { ...process.env, PATH: '/nonexistent' } });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'lab: cannot run unshare (ENOENT); it comes with util-linux\n');
  });
});
