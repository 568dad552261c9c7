import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startBystanderCall, startTestNode, type BystanderCall } from '../helpers/node.js';
import { audioRtpParameters, SignalClient, videoRtpParameters } from '../helpers/SignalClient.js';

// What the signaling fuzz (fuzz-signaling.test.ts) found, one case each: requests that crashed
// the node, slipped past its limits, left rooms behind, or were blamed on the server.
describe('signaling abuse found by fuzzing', () => {
  let node: RegionNode;
  let bystanders: BystanderCall;

  before(async () => {
    node = await startTestNode();
    bystanders = await startBystanderCall(node);
  });

  after(() => {
    bystanders.close();
    node.close();
  });

  it('refuses capabilities nested too deep, so that consuming with them cannot crash the node', async () => {
    // Before: join took them, and the recv transport's setImmediate ran router.canConsume,
    // whose structuredClone threw RangeError out of the event loop: the process died.
    const producer = await joinRoom(node, 'deep', 'Q');
    const send = await producer.client.request('createWebRtcTransport', { direction: 'send' });
    await producer.client.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: videoRtpParameters(11) });
    let deep: unknown = 1;
    for (let i = 0; i < 2500; i++) deep = { a: deep };
    const m = await SignalClient.connect(node.wsUrl);
    const caps = await m.request('getRouterRtpCapabilities');
    const join = await m.call('join', { room: 'deep', displayName: 'M', rtpCapabilities: { ...caps, x: deep } });
    assert.equal(join.error?.code, 'bad_request', 'refused, with its id');
    assert.match(join.error!.message, /nested deeper/);
    assert.equal((await m.call('createWebRtcTransport', { direction: 'recv' })).error?.code, 'invalid_state');
    await m.request('ping');
    assert.deepEqual(node.rooms().get('deep' as never)?.counts(), { peers: 1, producers: 1, consumers: 0 });
    m.close();
    producer.client.close();
    await bystanders.assertUnharmed();
  });

  it('holds pipelined transport requests to four transports and one receive transport', async () => {
    // Before: every request passed the check before the first transport landed: 10 of 10.
    const { client } = await joinRoom(node, 'pipelined-transports', 'P');
    const directions = ['recv', 'send', 'recv', 'send', 'recv', 'send', 'send', 'send', 'recv', 'send'];
    const answers = await Promise.all(directions.map((direction) => client.call('createWebRtcTransport', { direction })));
    const made = directions.filter((_, i) => answers[i]!.ok);
    assert.equal(made.length, 4);
    assert.equal(made.filter((d) => d === 'recv').length, 1);
    assert.ok(answers.filter((a) => !a.ok).every((a) => a.error?.code === 'invalid_state'));
    const room = node.rooms().get('pipelined-transports' as never)!;
    assert.equal((await room.router.dump()).transportIds.length, 4, 'the worker holds four, too');
    client.close();
  });

  it('holds pipelined produce requests to maxProducersPerPeer', async () => {
    const { client } = await joinRoom(node, 'pipelined-producers', 'P');
    const send = await client.request('createWebRtcTransport', { direction: 'send' });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.call('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: { ...(audioRtpParameters(500 + i) as object), mid: `a${i}` } })),
    );
    assert.equal(answers.filter((a) => a.ok).length, node.config.limits.maxProducersPerPeer);
    assert.ok(answers.filter((a) => !a.ok).every((a) => a.error?.code === 'invalid_state' && /too many producers/.test(a.error.message)));
    client.close();
  });

  it('leaves no empty room behind a join it refuses, or a join whose socket went', async () => {
    // Before: the room was made first and stayed open with nobody in it, router and all.
    const refused = await SignalClient.connect(node.wsUrl);
    const r = await refused.call('join', { room: 'never-entered', displayName: 'x', rtpCapabilities: { headerExtensions: 'not a list' } });
    assert.equal(r.error?.code, 'bad_request');
    assert.equal(node.rooms().has('never-entered' as never), false);
    refused.close();

    const gone = await SignalClient.connect(node.wsUrl);
    gone.sendRaw(JSON.stringify({ id: 1, method: 'join', data: { room: 'hung-up', displayName: 'x', rtpCapabilities: {} } }));
    gone.ws.terminate();
    await gone.closed;
    // A join to the same room right behind it still gets in (the room is made anew if needed).
    const next = await joinRoom(node, 'hung-up', 'Next');
    assert.deepEqual(node.rooms().get('hung-up' as never)?.counts(), { peers: 1, producers: 0, consumers: 0 });
    next.client.close();
    await eventually(() => !node.rooms().has('hung-up' as never), 'the room closes with its last peer');
    assert.deepEqual([...node.rooms().keys()], [bystanders.room]);
  });

  it("answers mediasoup's refusals with the client's code, not internal", async () => {
    const { client } = await joinRoom(node, 'refusals', 'R');
    const send = await client.request('createWebRtcTransport', { direction: 'send' });
    const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
    await client.request('connectWebRtcTransport', { transportId: send.transportId, dtlsParameters });
    const twice = await client.call('connectWebRtcTransport', { transportId: send.transportId, dtlsParameters });
    assert.equal(twice.error?.code, 'invalid_state', twice.error?.message);
    await client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(900) });
    const sameMid = await client.call('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(901) });
    assert.equal(sameMid.error?.code, 'invalid_state', sameMid.error?.message);
    const h265 = { ...(videoRtpParameters(902) as object), mid: 'v', codecs: [{ mimeType: 'video/H265', payloadType: 110, clockRate: 90000, parameters: {}, rtcpFeedback: [] }] };
    const unsupported = await client.call('produce', { transportId: send.transportId, kind: 'video', rtpParameters: h265 });
    assert.equal(unsupported.error?.code, 'bad_request', unsupported.error?.message);
    client.close();
    await bystanders.assertUnharmed();
  });
});
