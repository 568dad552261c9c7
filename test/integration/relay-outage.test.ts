import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, sleep, startTestNode } from '../helpers/node.js';
import { startRtpSender, startRtpSink } from '../helpers/rtp.js';
import { audioRtpParameters, type SignalClient } from '../helpers/SignalClient.js';
import { freePort } from '../helpers/ports.js';
import { startTcpPath } from '../helpers/tcpPath.js';

// Issue #11: the relay path between two nodes drops everything for 3 s (the gRPC side; the
// media pipe is on loopback). Keepalive must notice the dead path, and once it is back the
// link must be dialled again and media flow again. The times are reported, not asserted.
const ROOM = 'outage';

describe('relay: a link whose path drops for 3 s comes back', () => {
  const registry = new LocalRegistry();
  let a: RegionNode;
  let b: RegionNode;
  let path: Awaited<ReturnType<typeof startTcpPath>>;
  const clients: SignalClient[] = [];
  const stops: (() => void)[] = [];

  before(async () => {
    a = await startTestNode({ nodeId: 'outage-a' }, { registry });
    const relayPort = await freePort();
    path = await startTcpPath(() => ({ host: '127.0.0.1', port: relayPort }));
    // B's catalog entry sends A through the path.
    b = await startTestNode({ nodeId: 'outage-b', region: 'us-east', relay: { port: relayPort, publicAddress: `127.0.0.1:${path.port}` } }, { registry });
  });

  after(() => {
    for (const s of stops) s();
    for (const c of clients) c.close();
    a?.close();
    b?.close();
    path?.close();
    registry.close();
  });

  const linkTo = (node: RegionNode, remote: RegionNode) => node.rooms().get(ROOM as never)?.cascade?.links().find((l) => l.remoteNode === remote.nodeId);

  it('notices the dead path, and re-dials and carries media again once it is back', async (t) => {
    const pub = await joinRoom(a, ROOM, 'Pub');
    clients.push(pub.client);
    const send = await pub.client.request('createPlainTransport', { direction: 'send' });
    await pub.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: audioRtpParameters(3131) });
    const rtp = startRtpSender({ ip: send.ip, port: send.port }, { ssrc: 3131, payloadType: 100, intervalMs: 10, size: 160 });
    stops.push(rtp.stop);
    const w = await joinRoom(b, ROOM, 'Watcher');
    clients.push(w.client);
    w.client.ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.notification === 'newConsumer') w.client.call('resumeConsumer', { consumerId: m.data.consumerId }).catch(() => undefined);
    });
    const sink = await startRtpSink();
    stops.push(sink.close);
    const recv = await w.client.request('createPlainTransport', { direction: 'recv' });
    await w.client.request('connectPlainTransport', { transportId: recv.transportId, ip: '127.0.0.1', port: sink.port });
    await eventually(() => sink.count() > 30, 'media from A reaches B', 10_000);

    const before = linkTo(a, b)!;
    const t0 = performance.now();
    path.cut();
    await eventually(() => before.closed, 'A notices the dead path and closes its link', 15_000);
    const detectMs = performance.now() - t0;
    await eventually(() => !linkTo(b, a) || linkTo(b, a)!.closed, 'B notices too', 15_000);
    const bDetectMs = performance.now() - t0;
    await sleep(Math.max(0, 3000 - (performance.now() - t0)));
    const t1 = performance.now();
    path.restore();
    await eventually(() => !!linkTo(a, b)?.up && !!linkTo(b, a)?.up, 'the link is up again', 20_000);
    const upMs = performance.now() - t1;
    const n = sink.count();
    await eventually(() => sink.count() > n + 20, 'media from A reaches B again', 10_000);
    const mediaMs = performance.now() - t1;
    assert.notEqual(linkTo(a, b), before);
    t.diagnostic(`dead path noticed by A after ${detectMs.toFixed(0)} ms, by B after ${bDetectMs.toFixed(0)} ms; path back after ${(t1 - t0).toFixed(0)} ms; link up ${upMs.toFixed(0)} ms and media ${mediaMs.toFixed(0)} ms after the path returned`);
  });
});
