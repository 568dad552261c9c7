import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { joinRoom, startBystanderCall, startTestNode, type BystanderCall } from '../helpers/node.js';
import { SignalClient, videoRtpParameters } from '../helpers/SignalClient.js';

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

});
