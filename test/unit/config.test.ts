import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG, ENV_KEYS, loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

function file(content: string): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'octomesh-')), 'config.json');
  writeFileSync(p, content);
  return p;
}

describe('loadConfig', () => {
  it('gives the defaults with an empty environment', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.region, DEFAULT_CONFIG.region);
    assert.equal(c.http.port, 8080);
    assert.match(c.nodeId, /^eu-west-/);
  });

  it('lays the file over the defaults and the env over the file', () => {
    const f = file(JSON.stringify({ region: 'us-east', media: { workers: 3 }, http: { port: 9000 } }));
    const c = loadConfig({ env: { OCTOMESH_CONFIG: f, OCTOMESH_HTTP_PORT: '9100' } });
    assert.equal(c.region, 'us-east');
    assert.equal(c.media.workers, 3);
    assert.equal(c.http.port, 9100);
    assert.equal(c.media.rtcPort, DEFAULT_CONFIG.media.rtcPort, 'untouched nested keys keep their default');
  });

  const bad: { name: string; env?: Record<string, string>; fileContent?: string; key: string }[] = [
    { name: 'an unknown environment variable', env: { OCTOMESH_PROT: '1' }, key: 'OCTOMESH_PROT' },
    { name: 'a non-number port', env: { OCTOMESH_HTTP_PORT: 'eighty' }, key: 'OCTOMESH_HTTP_PORT' },
    { name: 'an out-of-range port', env: { OCTOMESH_HTTP_PORT: '70000' }, key: 'http.port' },
    { name: 'a latitude beyond the pole', env: { OCTOMESH_LATITUDE: '91' }, key: 'latitude' },
    { name: 'an upper-case region', env: { OCTOMESH_REGION: 'EU West' }, key: 'region' },
    { name: 'an unknown key in the file', fileContent: '{"media":{"wrokers":2}}', key: 'media.wrokers' },
    { name: 'a wrongly typed key in the file', fileContent: '{"limits":{"maxPeersPerRoom":"many"}}', key: 'limits.maxPeersPerRoom' },
    { name: 'a file that is not JSON', fileContent: 'region = eu', key: 'OCTOMESH_CONFIG' },
    { name: 'an unknown log level', env: { OCTOMESH_LOG_LEVEL: 'loud' }, key: 'log.level' },
    { name: 'an ICE URL of another scheme', env: { OCTOMESH_TURN_URLS: 'turn:a.example:3478,https://a.example' }, key: 'turn.urls' },
    { name: 'a turn: URL without credentials', env: { OCTOMESH_TURN_URLS: 'turn:a.example:3478' }, key: 'turn.secret' },
    { name: 'a TURN secret beside static credentials', env: { OCTOMESH_TURN_URLS: 'turn:a.example', OCTOMESH_TURN_SECRET: 's', OCTOMESH_TURN_USERNAME: 'u', OCTOMESH_TURN_CREDENTIAL: 'p' }, key: 'turn.secret' },
    { name: 'a TURN username without its credential', env: { OCTOMESH_TURN_URLS: 'turn:a.example', OCTOMESH_TURN_USERNAME: 'u' }, key: 'turn.credential' },
    { name: 'a TURN secret with only stun: URLs', env: { OCTOMESH_TURN_URLS: 'stun:a.example', OCTOMESH_TURN_SECRET: 's' }, key: 'turn.urls' },
    { name: 'a TURN credential lifetime under a minute', env: { OCTOMESH_TURN_TTL_SEC: '5' }, key: 'turn.ttlSec' },
    { name: 'an HTTPS certificate without its key', env: { OCTOMESH_TLS_CERT: '/etc/octomesh/tls/fullchain.pem' }, key: 'http.tls.key' },
    { name: 'an HTTPS key without its certificate', env: { OCTOMESH_TLS_KEY: '/etc/octomesh/tls/privkey.pem' }, key: 'http.tls.cert' },
  ];
  for (const b of bad) {
    it(`names the key for ${b.name}`, () => {
      const env = { ...(b.env ?? {}), ...(b.fileContent ? { OCTOMESH_CONFIG: file(b.fileContent) } : {}) };
      assert.throws(
        () => loadConfig({ env }),
        (err: unknown) => err instanceof ConfigError && err.key === b.key && err.message.startsWith(`config: ${b.key}:`) && !err.message.includes('\n'),
      );
    });
  }

  it('accepts stun:, turn: and turns: URLs with a secret', () => {
    const c = loadConfig({ env: { OCTOMESH_TURN_URLS: 'stun:a.example:3478, turn:a.example:3478?transport=tcp,turns:a.example:5349', OCTOMESH_TURN_SECRET: 's3cret' } });
    assert.equal(c.turn.secret, 's3cret');
  });

  it('maps every documented env variable to a real config path', () => {
    for (const [name, spec] of Object.entries(ENV_KEYS)) {
      let cur: unknown = DEFAULT_CONFIG;
      for (const k of spec.path.split('.')) cur = (cur as Record<string, unknown>)[k];
      assert.equal(typeof cur, spec.type, `${name} -> ${spec.path}`);
    }
  });
});

describe('region-node flags', async () => {
  const { flagsToEnv } = await import('../../cli/main.js');
  it('map --foo-bar VALUE and --foo-bar=VALUE to OCTOMESH_FOO_BAR', () => {
    assert.deepEqual(flagsToEnv(['--region', 'us-east', '--http-port=8082', '--announced-address', '203.0.113.7']), {
      OCTOMESH_REGION: 'us-east',
      OCTOMESH_HTTP_PORT: '8082',
      OCTOMESH_ANNOUNCED_ADDRESS: '203.0.113.7',
    });
  });
  it('name an unknown flag, a missing value and a stray argument', () => {
    assert.match(String(flagsToEnv(['--htp-port', '1'])), /unknown flag --htp-port/);
    assert.match(String(flagsToEnv(['--region'])), /--region needs a value/);
    assert.match(String(flagsToEnv(['eu-west'])), /unexpected argument "eu-west"/);
  });
});
