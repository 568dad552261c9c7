import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuLoad, CpuMeter, type CpuSample } from '../../region-node/CpuLoad.js';

// The CPU figure a node publishes: rows of two samples (cumulative ms) a period apart.

const at = (atMs: number, processMs: number, workers: Record<number, number>): CpuSample => ({ atMs, processMs, workers: new Map(Object.entries(workers).map(([pid, ms]) => [Number(pid), ms])) });

const ROWS: { name: string; prev: CpuSample; next: CpuSample; want: number }[] = [
  { name: 'nothing running: 0', prev: at(0, 100, { 11: 50 }), next: at(2000, 100, { 11: 50 }), want: 0 },
  { name: 'one worker at 40 % of a core: 0.4', prev: at(0, 0, { 11: 1000 }), next: at(2000, 0, { 11: 1800 }), want: 0.4 },
  { name: 'two workers, one idle: the mean of their shares', prev: at(0, 0, { 11: 0, 12: 0 }), next: at(2000, 0, { 11: 1200, 12: 0 }), want: 0.3 },
  { name: 'a worker above one core (clock granularity) counts as one', prev: at(0, 0, { 11: 0 }), next: at(1000, 0, { 11: 1100 }), want: 1 },
  { name: 'the node\'s own process busier than its workers: its share', prev: at(0, 0, { 11: 0 }), next: at(2000, 1400, { 11: 200 }), want: 0.7 },
  { name: 'the process\'s extra threads do not push it past one core', prev: at(0, 0, {}), next: at(1000, 1800, {}), want: 1 },
  { name: 'a replaced worker (new pid, counters from zero) waits for its second sample', prev: at(0, 0, { 11: 5000, 12: 0 }), next: at(2000, 0, { 13: 30, 12: 1000 }), want: 0.5 },
  { name: 'counters that went backwards count as idle, never negative', prev: at(0, 500, { 11: 900 }), next: at(2000, 400, { 11: 100 }), want: 0 },
  { name: 'no time elapsed: 0', prev: at(500, 0, { 11: 0 }), next: at(500, 100, { 11: 100 }), want: 0 },
];

describe('node CPU load', () => {
  for (const row of ROWS) it(row.name, () => assert.equal(cpuLoad(row.prev, row.next), row.want));

  it('the meter reports 0 until it has two samples, then the period between the last two', async () => {
    let now = 0;
    let workerMs = 0;
    const meter = new CpuMeter(async () => [{ pid: 7, userSec: workerMs / 2000, systemSec: workerMs / 2000 }], () => now);
    assert.equal(await meter.read(), 0);
    now = 2000;
    workerMs = 1000;
    assert.equal(await meter.read(), 0.5);
    assert.equal(meter.load, 0.5);
  });
});
