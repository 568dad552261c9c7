import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertDistinct, workerBuild, type WorkerBuild } from '../../bench/workerBuild.js';

const build = (o: Partial<WorkerBuild>): WorkerBuild => ({ path: '/w', sha256: 'aaaa', crypto: 'nss', libsrtp: 'static', ...o });

describe('bench worker build', () => {
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
