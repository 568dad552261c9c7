import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startBystanderCall, startTestNode, type BystanderCall } from '../helpers/node.js';
import { SignalClient, type Response } from '../helpers/SignalClient.js';

// Every bad input gets a clear error (or a close with a reason), the process carries on, and a
// call in progress on the same node is untouched: its producer and consumer stay open.
describe('bad input on the signaling socket', () => {
  let node: RegionNode;
  let bystanders: BystanderCall;

  before(async () => {
    node = await startTestNode({ limits: { messagesPerSecond: 20, messageBurst: 40, maxMessageBytes: 16 * 1024 } as never });
    bystanders = await startBystanderCall(node);
  });

  after(() => {
    bystanders.close();
    node.close();
  });

  const assertBystandersUnharmed = (): Promise<void> => bystanders.assertUnharmed();

  const cases: { name: string; frame: string; id: number | null; code: string; message?: RegExp }[] = [
    { name: 'malformed JSON', frame: '{"id":1,"method":', id: null, code: 'bad_request', message: /malformed JSON/ },
    { name: 'a JSON array', frame: '[1,2,3]', id: null, code: 'bad_request' },
    { name: 'a bare string', frame: '"join"', id: null, code: 'bad_request' },
    { name: 'unknown method', frame: '{"id":2,"method":"dropDatabase","data":{}}', id: 2, code: 'unknown_method', message: /dropDatabase/ },
    { name: 'method name of the wrong type', frame: '{"id":3,"method":42}', id: 3, code: 'bad_request', message: /method/ },
    { name: 'missing id', frame: '{"method":"ping","data":{}}', id: null, code: 'bad_request', message: /id/ },
    { name: 'wrong type in data', frame: '{"id":4,"method":"join","data":{"room":5,"displayName":"x","rtpCapabilities":{}}}', id: 4, code: 'bad_request', message: /room/ },
    { name: 'unknown key in data', frame: '{"id":5,"method":"ping","data":{"extra":1}}', id: 5, code: 'bad_request' },
    { name: 'room name with a slash', frame: '{"id":6,"method":"join","data":{"room":"../etc","displayName":"x","rtpCapabilities":{}}}', id: 6, code: 'bad_request', message: /room/ },
    { name: 'prototype pollution key', frame: '{"id":7,"method":"join","data":{"room":"r","displayName":"x","rtpCapabilities":{"__proto__":{"polluted":true}}}}', id: 7, code: 'bad_request', message: /__proto__/ },
    { name: 'constructor key', frame: '{"id":8,"method":"ping","data":{"constructor":{"prototype":{}}}}', id: 8, code: 'bad_request' },
    { name: 'produce before join', frame: '{"id":9,"method":"produce","data":{"transportId":"t","kind":"video","rtpParameters":{}}}', id: 9, code: 'invalid_state', message: /join/ },
    { name: 'chat before join', frame: '{"id":10,"method":"chat","data":{"text":"hi"}}', id: 10, code: 'invalid_state' },
    { name: 'leave before join', frame: '{"id":11,"method":"leave","data":{}}', id: 11, code: 'invalid_state' },
    { name: 'control characters in a display name', frame: '{"id":12,"method":"join","data":{"room":"r","displayName":"a\\u0000b","rtpCapabilities":{}}}', id: 12, code: 'bad_request' },
  ];

  for (const c of cases) {
    it(`answers ${c.name} with ${c.code}`, async () => {
      const client = await SignalClient.connect(node.wsUrl);
      const waiting = c.id === null ? client.nextAnonymous() : undefined;
      client.sendRaw(c.frame);
      let response: Response | undefined;
      if (waiting) response = await waiting;
      else await eventually(() => (response = client.responses.find((r) => r.id === c.id)) !== undefined, 'a response came', 3000);
      assert.ok(response, 'a response came');
      assert.equal(response.ok, false);
      assert.equal(response.error?.code, c.code);
      if (c.message) assert.match(response.error!.message, c.message);
      // The connection stays usable after a bad frame.
      assert.deepEqual(Object.keys(await client.request('ping')), ['now']);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
      client.close();
      await assertBystandersUnharmed();
    });
  }

  it('answers a binary frame with bad_request', async () => {
    const client = await SignalClient.connect(node.wsUrl);
    const waiting = client.nextAnonymous();
    client.sendRaw(Buffer.from([0, 1, 2, 3]), true);
    const r = await waiting;
    assert.equal(r.error?.code, 'bad_request');
    assert.match(r.error!.message, /binary/);
    client.close();
    await assertBystandersUnharmed();
  });

  it('answers ids it does not own with not_found, and wrong mediasoup parameters with bad_request', async () => {
    const { client } = await joinRoom(node, 'other-room', 'Mallory');
    // Someone else's producer id in another room is not reachable.
    let r = await client.call('closeProducer', { producerId: bystanders.producerId });
    assert.equal(r.error?.code, 'not_found');
    r = await client.call('resumeConsumer', { consumerId: bystanders.consumerId });
    assert.equal(r.error?.code, 'not_found');
    r = await client.call('connectWebRtcTransport', { transportId: 'nope', dtlsParameters: {} });
    assert.equal(r.error?.code, 'not_found');
    const send = await client.request('createWebRtcTransport', { direction: 'send' });
    r = await client.call('produce', { transportId: send.transportId, kind: 'video', rtpParameters: { codecs: 'not-an-array' } });
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'bad_request');
    r = await client.call('join', { room: 'again', displayName: 'x', rtpCapabilities: {} });
    assert.equal(r.error?.code, 'invalid_state');
    r = await client.call('chat', { text: 'x'.repeat(5000) });
    assert.equal(r.error?.code, 'bad_request');
    client.close();
    await assertBystandersUnharmed();
  });

  it('takes SRTP on a receive plain transport only, and its connect only with well-formed keys', async () => {
    const { client } = await joinRoom(node, 'srtp-room', 'Sam');
    let r = await client.call('createPlainTransport', { direction: 'send', srtp: 'AEAD_AES_256_GCM' });
    assert.equal(r.error?.code, 'bad_request');
    assert.match(r.error!.message, /receive/);
    r = await client.call('createPlainTransport', { direction: 'recv', srtp: 'AES_CM_128_NULL' });
    assert.equal(r.error?.code, 'bad_request');
    const t = await client.request('createPlainTransport', { direction: 'recv', srtp: 'AEAD_AES_256_GCM' });
    assert.equal(t.srtpParameters?.cryptoSuite, 'AEAD_AES_256_GCM', 'the node says its own keys');
    const at = { transportId: t.transportId, ip: '127.0.0.1', port: 9 };
    r = await client.call('connectPlainTransport', at);
    assert.equal(r.error?.code, 'bad_request', 'an SRTP transport needs the client keys');
    r = await client.call('connectPlainTransport', { ...at, srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: 'c2hvcnQ=' } });
    assert.equal(r.ok, false, 'a key of the wrong length is refused');
    assert.notEqual(r.error?.code, 'internal');
    r = await client.call('connectPlainTransport', { ...at, srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: Buffer.alloc(44, 7).toString('base64') } });
    assert.equal(r.ok, true);
    const other = (await joinRoom(node, 'srtp-room', 'Pat')).client; // one receive transport per peer
    const plain = await other.request('createPlainTransport', { direction: 'recv' });
    assert.equal(plain.srtpParameters, undefined);
    other.close();
    client.close();
    await assertBystandersUnharmed();
  });

  it('closes a socket that sends an oversized message, and nothing else', async () => {
    const client = await SignalClient.connect(node.wsUrl);
    client.sendRaw(JSON.stringify({ id: 1, method: 'chat', data: { text: 'x'.repeat(64 * 1024) } }));
    const closed = await client.closed;
    assert.ok([1006, 1009].includes(closed.code), `closed with ${closed.code}`);
    await assertBystandersUnharmed();
  });

  it('rate-limits a flood, then drops the flooder', async () => {
    const client = await SignalClient.connect(node.wsUrl);
    for (let i = 0; i < 400; i++) client.sendRaw(JSON.stringify({ id: i, method: 'ping', data: {} }));
    const closed = await client.closed;
    const limited = client.responses.filter((r) => r.error?.code === 'rate_limited');
    const answered = client.responses.filter((r) => r.ok);
    assert.ok(answered.length >= 40 && answered.length < 400, `${answered.length} pings answered before the limit`);
    assert.ok(limited.length > 0, 'rate_limited errors were sent first');
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /rate limit/);
    await assertBystandersUnharmed();
  });
});
