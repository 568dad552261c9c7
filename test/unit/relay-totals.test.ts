import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayTotals } from '../../region-node/NodeMetrics.js';

const link = (remoteNode: string, bytes: number) => ({ remoteNode, bytesIn: bytes, bytesOut: 2 * bytes, packetsIn: bytes / 100, packetsOut: bytes / 50 });

describe('RelayTotals: relay counters per remote node that only grow', () => {
  it('adds what each link carried since the last reading, across rooms, link remakes and closes', () => {
    const t = new RelayTotals();
    const steps: [{ room: string; links: ReturnType<typeof link>[] }[], number][] = [
      [[{ room: 'a', links: [link('n2', 1000)] }], 1000],
      [[{ room: 'a', links: [link('n2', 1500)] }, { room: 'b', links: [link('n2', 200)] }], 1700], // +500, +200 (new room)
      [[{ room: 'a', links: [link('n2', 300)] }, { room: 'b', links: [link('n2', 200)] }], 2000], // room a's link remade: counts from 0
      [[{ room: 'b', links: [] }], 2000], // links gone: what they carried stays
      [[{ room: 'a', links: [link('n2', 100)] }], 2100], // a new link later: from 0, not against a stale reading
    ];
    let before = 0;
    for (const [rooms, want] of steps) {
      const total = t.update(rooms).get('n2')!.bytesIn;
      assert.equal(total, want, JSON.stringify(rooms));
      assert.ok(total >= before, 'never goes down');
      before = total;
    }
    assert.equal(t.update([]).get('n2')!.bytesOut, 4200);
  });
});
