import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { types } from 'mediasoup';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startNodePair, type NodePair } from '../helpers/node.js';
import { startRtpSender, startRtpSink } from '../helpers/rtp.js';
import { videoRtpParameters, type SignalClient } from '../helpers/SignalClient.js';

// Loss between regions is repaired on the pipe (NACK answered by RTX from the origin), and a
// far viewer's key-frame request travels back to the publisher: both need the pipe made with
// RTX and the NACK/PLI/FIR feedback kept on both halves of the pipe.
const ROOM = 'wan';

describe('relay over a lossy WAN: the pipe carries NACK/RTX and key-frame requests', () => {
  let pair: NodePair;
  let a: RegionNode;
  let b: RegionNode;
  let clients: SignalClient[];
  let stops: (() => void)[];

  before(async () => {
    pair = await startNodePair(ROOM, { a: 'wan-a', b: 'wan-b' });
    ({ a, b, clients, stops } = pair);
  });

  after(() => pair?.close());

  const linkTo = (node: RegionNode, remote: RegionNode) => pair.linkTo(node, remote);

  it('pipes video with RTX and NACK/PLI feedback, and a far viewer\'s key-frame request reaches the origin producer', async () => {
    const pub = await joinRoom(a, ROOM, 'Pub');
    clients.push(pub.client);
    const send = await pub.client.request('createPlainTransport', { direction: 'send' });
    const { producerId } = await pub.client.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: videoRtpParameters(4242) });
    const rtp = startRtpSender({ ip: send.ip, port: send.port }, { ssrc: 4242, payloadType: 101, intervalMs: 20, size: 300 });
    stops.push(rtp.stop);

    const viewer = await joinRoom(b, ROOM, 'Viewer');
    clients.push(viewer.client);
    const sink = await startRtpSink();
    stops.push(sink.close);
    const recv = await viewer.client.request('createPlainTransport', { direction: 'recv' });
    await viewer.client.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: sink.port });
    const nc = await viewer.client.waitFor('newConsumer', (d) => d.producerId === producerId, 10_000);

    const ab = linkTo(a, b)!;
    const ba = linkTo(b, a)!;
    for (const [name, link] of [['A', ab], ['B', ba]] as const) {
      const dump = (await link.pipeTransport!.dump()) as types.PipeTransportDump;
      assert.equal(dump.rtx, true, `${name}'s pipe transport is made with RTX`);
    }
    const hasFeedback = (codec: types.RtpCodecParameters, type: string, parameter?: string) =>
      (codec.rtcpFeedback ?? []).some((fb) => fb.type === type && (fb.parameter ?? '') === (parameter ?? ''));
    const checkParams = (where: string, params: types.RtpParameters) => {
      const media = params.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
      assert.ok(media, `${where}: VP8`);
      assert.ok(params.codecs.some((c) => c.mimeType.toLowerCase() === 'video/rtx' && c.parameters?.apt === media.payloadType), `${where}: an RTX codec for VP8`);
      assert.ok(params.encodings?.every((e) => e.rtx?.ssrc), `${where}: an RTX ssrc per encoding`);
      assert.ok(hasFeedback(media, 'nack'), `${where}: NACK feedback`);
      assert.ok(hasFeedback(media, 'nack', 'pli') || hasFeedback(media, 'ccm', 'fir'), `${where}: PLI or FIR feedback`);
    };
    const pipeConsumerId = (await ab.pipeTransport!.dump()).consumerIds[0]!;
    assert.ok(pipeConsumerId, 'A has the pipe consumer');
    await eventually(() => ba.incomingPipes().includes(producerId), 'B has the pipe producer');
    const pipeProducer = await ba.pipe(producerId);
    checkParams('pipe producer on B', pipeProducer.rtpParameters);
    const pipeProducerDump = await pipeProducer.dump();
    checkParams('pipe producer on B (worker)', pipeProducerDump.rtpParameters);

    // The viewer resumes (the node asks for a key frame then), and again on its own: each
    // request must cross the pipe back to A and reach the publisher as PLI or FIR.
    await viewer.client.request('resumeConsumer', { consumerId: nc.data.consumerId });
    const origin = a.rooms().get(ROOM as never)!.peers.get(pub.join.peerId)!.producers.get(producerId)!;
    const requests = async () => (await origin.getStats()).reduce((n, s) => n + s.pliCount + s.firCount, 0);
    await eventually(async () => (await requests()) > 0, 'the origin producer sent the publisher a PLI or FIR for the far viewer', 10_000);
    const before = await requests();
    const consumer = b.rooms().get(ROOM as never)!.peers.get(viewer.join.peerId)!.consumers.get(nc.data.consumerId)!;
    // mediasoup's key-frame request manager retries an unanswered request once after a second
    // (the fake stream never sends a key frame): wait until those are done.
    await new Promise((r) => setTimeout(r, 2500));
    await consumer.requestKeyFrame();
    await eventually(async () => (await requests()) > before, 'a second key-frame request from B reaches A\'s producer', 10_000);
  });
});
