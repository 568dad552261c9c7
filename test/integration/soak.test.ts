import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { soak } from '../../bench/scenarios/soak.js';

// A few seconds of the soak (three nodes, four bots): the churn must really happen, across
// nodes, by every exit, and leave every count where it found it.
describe('bench soak (tiny)', () => {
  it('joins and leaves bots across regions and every count comes back to its baseline', async () => {
    const r = await soak({ quick: true, tiny: true, log: (l) => console.log(`# ${l}`) });
    const f = r.figures;
    assert.ok(f.soakJoins! > 0, 'bots joined');
    assert.ok(f.soakLeaves! > 0, 'bots left with leave');
    assert.ok(f.soakDrops! > 0, 'bots vanished after their stay');
    assert.ok(f.soakEarlyDrops! > 0, 'bots vanished during their setup');
    assert.ok(f.soakMaxNodesPerChurnRoom! >= 2, 'a churn room spanned two nodes or more');
    assert.ok(f.soakPipeTransportsMade! > 0, 'links (pipe transports) were made during the churn');
    assert.ok(f.soakPipeConsumersMade! > 0, 'media was piped between nodes during the churn');
    assert.deepEqual((r.details as { differing: string[] }).differing, [], 'every count is back to its baseline');
    assert.equal(f.soakObjectsBackToBaseline, 1);
  });
});
