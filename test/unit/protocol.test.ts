import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, UnknownMethodError } from '../../core/errors.js';
import { MAX_JSON_DEPTH, parseRequest } from '../../core/protocol.js';
import { TokenBucket } from '../../core/TokenBucket.js';

describe('parseRequest', () => {
  const good: { name: string; frame: unknown; method: string }[] = [
    { name: 'a join', frame: { id: 1, method: 'join', data: { room: 'r-1.x', displayName: ' Zoë ', rtpCapabilities: { codecs: [] } } }, method: 'join' },
    { name: 'a string id', frame: { id: 'abc', method: 'ping', data: {} }, method: 'ping' },
    { name: 'a request without data', frame: { id: 2, method: 'leave' }, method: 'leave' },
    { name: 'preferred layers without a temporal layer', frame: { id: 3, method: 'setConsumerPreferredLayers', data: { consumerId: 'c', spatialLayer: 2 } }, method: 'setConsumerPreferredLayers' },
  ];
  for (const g of good) {
    it(`accepts ${g.name}`, () => {
      assert.equal(parseRequest(JSON.stringify(g.frame)).method, g.method);
    });
  }

  it('accepts the deepest real request: rtcpFeedback in a codec of the capabilities', () => {
    const caps = { codecs: [{ mimeType: 'video/VP8', rtcpFeedback: [{ type: 'nack', parameter: '' }] }] };
    assert.equal(parseRequest(JSON.stringify({ id: 1, method: 'join', data: { room: 'r', displayName: 'n', rtpCapabilities: caps } })).method, 'join');
  });

  it('trims display names', () => {
    const r = parseRequest(JSON.stringify(good[0]!.frame));
    assert.equal(r.method === 'join' && r.data.displayName, 'Zoë');
  });

  const bad: { name: string; text: string; error: new (...a: never[]) => Error; id?: unknown }[] = [
    { name: 'malformed JSON', text: '{', error: BadRequestError },
    { name: 'an unknown method', text: '{"id":1,"method":"rm"}', error: UnknownMethodError, id: 1 },
    { name: 'an inherited method name', text: '{"id":1,"method":"toString"}', error: UnknownMethodError, id: 1 },
    { name: 'a negative id', text: '{"id":-1,"method":"ping"}', error: BadRequestError, id: null },
    { name: 'an overlong id', text: `{"id":"${'x'.repeat(65)}","method":"ping"}`, error: BadRequestError, id: null },
    { name: 'a fractional spatial layer', text: '{"id":1,"method":"setConsumerPreferredLayers","data":{"consumerId":"c","spatialLayer":1.5}}', error: BadRequestError, id: 1 },
    { name: 'a bad produce kind', text: '{"id":1,"method":"produce","data":{"transportId":"t","kind":"data","rtpParameters":{}}}', error: BadRequestError, id: 1 },
    { name: 'an empty chat', text: '{"id":1,"method":"chat","data":{"text":""}}', error: BadRequestError, id: 1 },
    { name: 'a nested __proto__', text: '{"id":1,"method":"join","data":{"room":"r","displayName":"n","rtpCapabilities":{"a":{"__proto__":{}}}}}', error: BadRequestError },
    { name: 'a constructor key at the top', text: '{"id":1,"method":"ping","constructor":{}}', error: BadRequestError, id: 1 },
    { name: 'nesting deeper than MAX_JSON_DEPTH', text: `{"id":1,"method":"join","data":{"room":"r","displayName":"n","rtpCapabilities":{"x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}}}`, error: BadRequestError, id: 1 },
    { name: 'nesting far too deep for a recursive parser', text: `{"id":1,"method":"ping","data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, error: BadRequestError, id: 1 },
    { name: 'an extra envelope key', text: '{"id":1,"method":"ping","data":{},"admin":true}', error: BadRequestError, id: 1 },
  ];
  for (const b of bad) {
    it(`rejects ${b.name} with ${b.error.name}`, () => {
      const partial = { id: null as unknown };
      assert.throws(() => parseRequest(b.text, partial as never), b.error);
      if ('id' in b) assert.equal(partial.id, b.id);
    });
  }
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const bucket = new TokenBucket(10, 5, 0);
    const first = Array.from({ length: 8 }, () => bucket.take(0)).filter(Boolean).length;
    assert.equal(first, 5, 'burst of 5');
    assert.equal(bucket.take(50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(100), true, 'one token after 100 ms');
    assert.equal(bucket.take(100), false);
    // A long pause banks no more than the burst.
    const later = Array.from({ length: 20 }, () => bucket.take(60_000)).filter(Boolean).length;
    assert.equal(later, 5);
  });

  it('rejects nonsense limits', () => {
    assert.throws(() => new TokenBucket(0, 5, 0), TypeError);
    assert.throws(() => new TokenBucket(1, 0, 0), TypeError);
  });
});
