import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/cluster.js';

const run = promisify(execFile);

// The worker our postinstall builds against Debian's libraries (deploy/mediasoup/) must pipe
// real RTP between routers and workers, in the clear and with SRTP. The browser test covers
// DTLS, which this cannot.
describe('the Debian-built mediasoup worker', () => {
  for (const srtp of ['0', '1']) {
    it(`pipes real RTP across routers and workers (SRTP=${srtp})`, async () => {
      const { stdout } = await run(process.execPath, [path.join(ROOT, 'deploy', 'mediasoup', 'test-cascade.cjs')], {
        cwd: ROOT,
        env: { ...process.env, SRTP: srtp },
        timeout: 60_000,
      });
      assert.match(stdout, /RESULT: PASS/);
      if (srtp === '1') assert.match(stdout, /SRTP on pipes: AEAD_AES_256_GCM/);
    });
  }
});
