import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertDistinct, cryptoOf, workerBuild, type WorkerBuild } from '../../bench/workerBuild.js';

const build = (o: Partial<WorkerBuild>): WorkerBuild => ({ path: '/w', sha256: 'aaaa', crypto: 'nss', libsrtp: 'static', ...o });

describe('bench worker build', () => {
  it('tells libsrtp crypto backends apart by their cipher names', () => {
    const cases: [string, WorkerBuild['crypto']][] = [
      ['..AES-128 counter mode using openssl..', 'openssl'],
      ['..AES-256 GCM using openssl..', 'openssl'],
      ['..AES-128 counter mode using NSS..', 'nss'],
      ['..AES-128 counter mode..', 'builtin'],
      ['nothing of libsrtp', 'unknown'],
    ];
    for (const [text, want] of cases) assert.equal(cryptoOf(Buffer.from(text)), want, text);
  });

  it('refuses to compare builds it cannot tell apart', () => {
    assert.throws(() => assertDistinct(build({}), build({ path: '/other' })), /same binary/);
    assert.throws(() => assertDistinct(build({}), build({ sha256: 'bbbb', crypto: 'unknown' })), /unknown/);
    assert.throws(() => assertDistinct(build({}), build({ sha256: null })), /not readable/);
    assert.doesNotThrow(() => assertDistinct(build({}), build({ sha256: 'bbbb', crypto: 'openssl' })));
  });

  it('identifies the installed worker', () => {
    const b = workerBuild();
    assert.match(b.sha256 ?? '', /^[0-9a-f]{16}$/);
    assert.notEqual(b.crypto, 'unknown');
  });
});
