import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossing } from '../../bench/scenarios/crossing.js';
import { fanout } from '../../bench/scenarios/fanout.js';
import { join } from '../../bench/scenarios/join.js';
import { relay } from '../../bench/scenarios/relay.js';
import { room } from '../../bench/scenarios/room.js';
import { route } from '../../bench/scenarios/route.js';
import type { ScenarioContext } from '../../bench/scenarios/types.js';

// Each bench scenario in a tiny configuration: well-formed figures, never timings.
const ctx: ScenarioContext = { quick: true, tiny: true, log: (l) => console.log(`# ${l}`) };
const isNum = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

describe('bench scenarios (tiny)', () => {
  it('fanout measures loss and CPU per step for plain and SRTP subscribers, on octomesh and on bare mediasoup', async () => {
    const r = await fanout(ctx);
    const lanes = ['octomesh-plain', 'octomesh-gcm', 'octomesh-cm', 'bare-plain', 'bare-gcm'];
    assert.deepEqual(r.steps.filter((s) => (s.part as unknown) === 'cost').map((s) => s.lane as unknown), lanes);
    assert.equal(r.steps.filter((s) => (s.part as unknown) === 'ramp').length, 3);
    for (const k of ['srtpGcmToPlainCostRatio', 'srtpCmToPlainCostRatio', 'workerCostVsBareMediasoup', 'usPerPacketSrtpGcm']) assert.ok(isNum(r.figures[k]) && r.figures[k]! > 0, `${k} is a number > 0`);
    for (const s of r.steps) {
      for (const k of ['subscribers', 'consumers', 'lossPct', 'worstLossPct', 'workerCpuPct', 'botsCpuPct', 'workerUsPerPacket']) assert.ok(isNum(s[k]), `${k} is a number`);
      assert.equal(s.consumers, s.subscribers! * 2);
      assert.ok(s.lossPct! >= 0 && s.lossPct! <= 100);
    }
    assert.ok(r.figures.consumersPerCore === null || isNum(r.figures.consumersPerCore));
    assert.ok(['nss', 'openssl', 'builtin', 'unknown'].includes((r.details!.worker as { crypto: string }).crypto));
  });

  it('crossing sends each packet across the relay once, whatever the watchers', async () => {
    const r = await crossing(ctx);
    assert.equal(r.figures.crossingRatio, 1);
    for (const s of r.steps) {
      assert.ok(s.producedAtA! > 0);
      assert.equal(s.crossingRatio, 1);
      assert.equal(s.links, 1);
    }
  });

  it('route compares /api/route with a bare uWS endpoint', async () => {
    const r = await route(ctx);
    assert.ok(isNum(r.figures.routeRpsRatio) && r.figures.routeRpsRatio! > 0);
    assert.ok(isNum(r.figures.routeP99Ms));
    assert.equal(r.steps.length, 1);
  });

  it('relay compares CPU and delay of relayed and local consumers', async () => {
    const r = await relay(ctx);
    assert.equal(r.steps.length, 3); // one round of three phases
    for (const s of r.steps) for (const k of ['cpuPctPerConsumer', 'delayP50Ms', 'lossPct']) assert.ok(isNum(s[k]), `${k} is a number`);
    assert.ok(r.figures.remoteToLocalCpuRatio === null || isNum(r.figures.remoteToLocalCpuRatio));
    assert.ok(isNum(r.figures.relayAddedLatencyMs));
  });

  it('join measures time to first media for a storm of clients over three regions', async () => {
    const r = await join(ctx);
    assert.deepEqual(r.parameters.storms, [{ rate: 20, clients: 6, rooms: 2 }]);
    assert.equal(r.figures.failures, 0);
    for (const k of ['joinNodeJsMsPerJoin', 'joinWorkersMsPerJoin', 'joinP50Ms', 'joinP95Ms', 'joinP99Ms', 'joinRemoteP95Ms', 'joinLocalP95Ms', 'achievedJoinsPerSec']) assert.ok(isNum(r.figures[k]) && r.figures[k]! >= 0, `${k} is a number >= 0`);
    assert.equal(r.steps.length, 3); // one round of three phases
    assert.equal(r.steps[2]!.remote, 1);
    assert.ok(r.steps[2]!.clients! > 0, 'some clients received relayed (remote) media');
  });

  it('room measures downlink, crossing and uplink by layer in a baseline and a demand phase', async () => {
    const r = await room(ctx);
    assert.equal(r.steps.length, 2);
    for (const f of ['roomDownlinkKbpsP95', 'roomCrossNodeKbpsPerFarWatcherLayer0', 'roomLayer0Kbps', 'farPipeKbpsWithoutDemand', 'dynacastUnusedLayerKbps'])
      for (const key of [f, `baseline.${f}`]) assert.ok(isNum(r.figures[key]) && r.figures[key]! >= 0, `${key} is a number >= 0`);
    for (const s of r.steps) {
      assert.ok(s.downlinkP50Kbps! > 0, 'video reached the subscribers');
      assert.ok(s.crossTotalKbps! > 0, 'media crossed between the nodes');
      for (const k of ['uplinkL0Kbps', 'workersCpuPct']) assert.ok(isNum(s[k]), `${k} is a number`);
    }
  });
});
