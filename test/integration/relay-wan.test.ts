import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { types } from 'mediasoup';
import { eventually, sleep } from '../helpers/node.js';
import { nodePairFor } from '../helpers/nodePair.js';

// Loss between regions is repaired on the pipe (NACK answered by RTX from the origin), and a
// far viewer's key-frame request travels back to the publisher: both need the pipe made with
// RTX and the NACK/PLI/FIR feedback kept on both halves of the pipe.
const ROOM = 'wan';
/** Past mediasoup's key-frame request retries (one, 1 s after an unanswered request). */
const KEYFRAME_RETRIES_DONE_MS = 2500;

describe('relay over a lossy WAN: the pipe carries NACK/RTX and key-frame requests', () => {
  const pair = nodePairFor(ROOM, { a: 'wan-a', b: 'wan-b' });

  it('pipes video with RTX and NACK/PLI feedback, and a far viewer\'s key-frame request reaches the origin producer', async () => {
    const { a, b, linkTo } = pair;
    const { pub, far: viewer, newConsumer: nc } = await pair.across({ kind: 'video', ssrc: 4242, intervalMs: 20, size: 300 });
    const { producerId } = pub;

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
    // (the fake stream never sends a key frame): wait until those are done. Nothing outside the
    // worker tells when its timers are idle, and a retry counted below would pass for B's request.
    await sleep(KEYFRAME_RETRIES_DONE_MS);
    await consumer.requestKeyFrame();
    await eventually(async () => (await requests()) > before, 'a second key-frame request from B reaches A\'s producer', 10_000);
  });
});
