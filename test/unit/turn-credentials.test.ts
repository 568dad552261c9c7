import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG, type Config } from '../../core/config.js';
import { iceServersFor, mintTurnCredential } from '../../region-node/TurnCredentials.js';

const SECRET = 'correct horse battery staple';
const NOW_MS = 1_700_000_000_000;
// Computed outside this code base:
//   printf '%s' '1700086400:peer-1' | openssl dgst -sha1 -hmac 'correct horse battery staple' -binary | base64
const EXPECTED = 'wyGuKGPbLtSnevIGgy80jX0zjvY=';

const turn = (over: Partial<Config['turn']>): Config['turn'] => ({ ...DEFAULT_CONFIG.turn, ...over });

describe('TURN credentials (coturn use-auth-secret)', () => {
  it('mints "<expiry>:<user>" with base64(HMAC-SHA1(secret, username))', () => {
    assert.deepEqual(mintTurnCredential(SECRET, 'peer-1', 1_700_086_400), { username: '1700086400:peer-1', credential: EXPECTED });
  });

  it('expires ttlSec after now, and splits STUN from TURN URLs', () => {
    const servers = iceServersFor(turn({ urls: 'stun:turn.example.org, turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349', secret: SECRET, ttlSec: 86_400 }), 'peer-1', NOW_MS);
    assert.deepEqual(servers, [
      { urls: ['stun:turn.example.org'] },
      { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1700086400:peer-1', credential: EXPECTED },
    ]);
  });

  it('hands static long-term credentials as they are', () => {
    assert.deepEqual(iceServersFor(turn({ urls: 'turn:10.0.0.1', username: 'u', credential: 'p' }), 'peer-1', NOW_MS), [
      { urls: ['turn:10.0.0.1'], username: 'u', credential: 'p' },
    ]);
  });

  it('hands nothing when no URL is configured', () => {
    assert.deepEqual(iceServersFor(DEFAULT_CONFIG.turn, 'peer-1', NOW_MS), []);
  });
});
