import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffDownlink, spatialSwitches } from '../../test/lab/measure/downlink.js';

describe('lab downlink composition', () => {
  it('splits a window into media, retransmissions, probes and headers', () => {
    const a = { atMs: 0, bytes: 0, headerBytes: 0, rtxBytes: 0, probeBytes: 0, packets: 0, packetsLost: 0 };
    const b = { atMs: 10_000, bytes: 500_000, headerBytes: 50_000, rtxBytes: 50_000, probeBytes: 25_000, packets: 900, packetsLost: 100 };
    assert.deepEqual(diffDownlink(a, b), { seconds: 10, totalKbps: 440, mediaKbps: 340, rtxKbps: 40, probeKbps: 20, headerKbps: 40, lossPct: 10 });
  });

  it('counts spatial switches after each peer\'s first reading, not temporal ones', () => {
    assert.equal(spatialSwitches(['0.0s aaaa=2/2', '0.0s bbbb=1/1', '1.0s aaaa=2/0', '2.0s aaaa=1/0', '3.0s bbbb=2/2', '4.0s aaaa=-']), 3);
    assert.equal(spatialSwitches([]), 0);
  });
});
