import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateLoss, cpuFraction, lossFraction, mean, median, percentile, round } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('computes percentiles by interpolation between ranks, whatever the input order', () => {
    const v = [5, 1, 4, 2, 3];
    assert.equal(percentile(v, 0), 1);
    assert.equal(percentile(v, 100), 5);
    assert.equal(percentile(v, 50), 3);
    assert.equal(percentile(v, 25), 2);
    assert.equal(percentile([1, 2], 95), 1.95);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(v, [5, 1, 4, 2, 3], 'input untouched');
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(round(percentile(hundred, 99), 2), 99.01);
    assert.equal(median([3, 1, 2, 10]), 2.5);
    assert.equal(mean([1, 2, 3]), 2);
  });

  it('computes loss from expected and received packets', () => {
    assert.equal(lossFraction(100, 100), 0);
    assert.equal(lossFraction(200, 199), 0.005);
    assert.equal(lossFraction(100, 0), 1);
    assert.equal(lossFraction(100, 105), 0, 'duplicates never make loss negative');
    assert.equal(lossFraction(0, 0), 0);
    const agg = aggregateLoss([{ expected: 100, received: 100 }, { expected: 100, received: 90 }, { expected: 200, received: 210 }]);
    assert.equal(agg.total, 10 / 400);
    assert.equal(agg.worst, 0.1);
    assert.equal(agg.receivers, 3);
    assert.deepEqual(aggregateLoss([]), { total: 0, worst: 0, receivers: 0 });
  });

  it('turns CPU deltas into core fractions and rounds for JSON', () => {
    assert.equal(cpuFraction(500, 1000), 0.5);
    assert.equal(round(1 / 3, 3), 0.333);
    assert.equal(round(NaN), null);
    assert.equal(round(null), null);
  });
});
