import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { workerBin } from 'mediasoup';
import { WorkerPool } from '../../region-node/WorkerPool.js';
import { sharedLibsrtpOf, srtpCryptoIn, workerCryptoBackend } from '../../region-node/workerCrypto.js';
import { capturingLogger } from '../helpers/fakeConsulTools.js';

const run = promisify(execFile);

describe('worker SRTP crypto: what a file says', () => {
  const rows: { name: string; bytes: string; want: ReturnType<typeof srtpCryptoIn> }[] = [
    { name: 'libsrtp over OpenSSL linked in', bytes: '\0AES-128 counter mode using openssl\0AES-256 GCM using openssl\0', want: 'openssl' },
    { name: "Debian's libsrtp2 (NSS)", bytes: '\0aes icm nss\0AES-256 counter mode using NSS\0', want: 'nss' },
    { name: 'libsrtp with its own AES (no crypto library)', bytes: '\0AES-128 integer counter mode\0', want: null },
    { name: 'no libsrtp at all', bytes: 'ELF and nothing else', want: null },
  ];
  for (const r of rows) it(r.name, () => assert.equal(srtpCryptoIn(Buffer.from(r.bytes)), r.want));

  it('finds the libsrtp2 a binary loads in ldd output, and none when it is linked in', () => {
    const dynamic = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibsrtp2.so.1 => /usr/lib/x86_64-linux-gnu/libsrtp2.so.1 (0x00007f3a)\n\tlibcrypto.so.3 => /usr/lib/x86_64-linux-gnu/libcrypto.so.3 (0x1)\n';
    assert.equal(sharedLibsrtpOf(dynamic), '/usr/lib/x86_64-linux-gnu/libsrtp2.so.1');
    assert.equal(sharedLibsrtpOf('\tlibsrtp2.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n'), null);
    assert.equal(sharedLibsrtpOf('\tlibcrypto.so.3 => /usr/lib/x86_64-linux-gnu/libcrypto.so.3 (0x1)\n'), null);
  });
});

describe('worker SRTP crypto: real binaries', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'worker-crypto-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a program linked to Debian's shared libsrtp2 is 'nss' (through the library it loads)", async () => {
    // libsrtp2-dev and g++ are what the worker build installs.
    const src = path.join(dir, 'probe.cpp');
    const bin = path.join(dir, 'probe');
    writeFileSync(src, 'extern "C" int srtp_init(void);\nint main() { return srtp_init(); }\n');
    await run('g++', [src, '-o', bin, '-lsrtp2']);
    assert.equal(workerCryptoBackend(bin), 'nss');
  });

  it("a file without libsrtp, or none at all, is 'unknown'", () => {
    assert.equal(workerCryptoBackend(process.execPath), 'unknown');
    assert.equal(workerCryptoBackend(path.join(dir, 'no-such-worker')), 'unknown');
  });

  it('the installed worker is one the node can name, and a pool on a copy of it reports the same', async () => {
    const installed = workerCryptoBackend(workerBin);
    assert.ok(installed === 'openssl' || installed === 'nss', `installed worker ${workerBin}: ${installed}`);
    const copy = path.join(dir, 'mediasoup-worker');
    copyFileSync(workerBin, copy);
    const { log, lines } = capturingLogger('info');
    const pool = await WorkerPool.create({ size: 1, rtcPort: 0, listenIp: '127.0.0.1', announcedAddress: '', logLevel: 'error', workerBin: copy }, log);
    try {
      assert.equal(pool.workerBin, copy);
      assert.equal(pool.srtpCrypto, installed);
      const line = lines.find((l) => l.msg.startsWith('mediasoup worker SRTP crypto:')) as { msg: string; level: number; srtpCrypto?: string } | undefined;
      assert.ok(line, 'a start line names the crypto');
      assert.equal(line.srtpCrypto, installed);
      // pino levels: 30 info, 40 warn. Only the OpenSSL build is quiet.
      assert.equal(line.level, installed === 'openssl' ? 30 : 40);
    } finally {
      pool.close();
    }
  });
});
