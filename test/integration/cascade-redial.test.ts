import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asNodeId, asRoomId } from '../../core/ids.js';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startTestNode } from '../helpers/node.js';

// The registry can say a node hosts a room before that node has the room (a race between
// presence and room creation, or a stale entry). The dialling node is refused (NOT_FOUND)
// and must keep re-dialling until the room is there, however fast the refusal comes.
describe('cascade: a refused dial is retried', () => {
  const registry = new LocalRegistry();
  let a: RegionNode;
  let b: RegionNode;
  before(async () => {
    a = await startTestNode({ nodeId: 'redial-a' }, { registry });
    b = await startTestNode({ nodeId: 'redial-b', region: 'us-east' }, { registry });
  });
  after(() => {
    a?.close();
    b?.close();
    registry.close();
  });

  it('links once the far node really hosts the room', async () => {
    await registry.addRoomPresence(asRoomId('early'), asNodeId('redial-b')); // B does not have it yet
    const alice = await joinRoom(a, 'early', 'Alice');
    // B refuses A's dials (NOT_FOUND: no such room here); A must keep dialling.
    await eventually(() => (b.relayRefusals().NOT_FOUND ?? 0) >= 2, 'B refused at least two dials from A', 10_000);
    assert.equal(a.rooms().get('early' as never)!.cascade!.links().filter((l) => l.up).length, 0, 'no link while B lacks the room');
    const bob = await joinRoom(b, 'early', 'Bob');
    await alice.client.waitFor('peerJoined', (d) => d.displayName === 'Bob', 10_000);
    await bob.client.waitFor('peerJoined', (d) => d.displayName === 'Alice', 10_000);
    alice.client.close();
    bob.client.close();
  });
});
