import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickNode } from '../../cli/routing.js';
import { asNodeId, asRegionName } from '../../core/ids.js';
import type { NodeRecord } from '../../core/registry/Registry.js';

// GET /api/route of the local cluster (`octomesh start`), without HTTP.

const node = (id: string, region: string, peers = 0, draining = false): NodeRecord => ({
  id: asNodeId(id),
  region: asRegionName(region),
  latitude: 0,
  longitude: 0,
  wsUrl: `ws://${id}/ws`,
  relayAddress: '',
  mediaAddress: '127.0.0.1',
  load: { peers, rooms: 0, consumers: 0, cpu: 0 },
  draining,
  pid: 1,
});

const base = { hosting: [], defaultRegion: 'eu-west', knownRegions: ['eu-west', 'us-east', 'ap-northeast'] };
const pick = (nodes: NodeRecord[], q: Partial<Parameters<typeof pickNode>[1]> = {}): string => {
  const r = pickNode(nodes, { ...base, ...q });
  return r.ok ? r.node.id : `${r.status} ${r.code}`;
};

describe('local cluster routing (pickNode)', () => {
  const eu = node('eu-1', 'eu-west', 5);
  const eu2 = node('eu-2', 'eu-west', 2);
  const us = node('us-1', 'us-east', 0);
  const ap = node('ap-1', 'ap-northeast', 9);

  it('sends a new room to the default region, least-loaded node first', () => {
    assert.equal(pick([us, eu, ap]), 'eu-1');
    assert.equal(pick([us, eu, eu2, ap]), 'eu-2');
  });

  it('sends a room to a node already hosting it', () => {
    assert.equal(pick([us, eu, ap], { hosting: [ap.id] }), 'ap-1');
  });

  it('falls back to any node when the default region has none', () => {
    assert.equal(pick([ap, us]), 'us-1');
  });

  it('keeps to the region asked for, hosting node first', () => {
    assert.equal(pick([us, eu, eu2], { region: 'us-east' }), 'us-1');
    assert.equal(pick([us, eu, eu2], { region: 'eu-west', hosting: [eu.id] }), 'eu-1');
  });

  it('avoids draining nodes, which refuse joins, unless nothing else is up', () => {
    const drainingHost = node('eu-1', 'eu-west', 0, true);
    assert.equal(pick([drainingHost, us], { hosting: [drainingHost.id] }), 'us-1');
    assert.equal(pick([drainingHost]), 'eu-1');
  });

  it('answers 400 for an unknown region, naming the known ones, and 503 when nothing is up', () => {
    const r = pickNode([eu], { ...base, region: 'mars' });
    assert.ok(!r.ok && r.status === 400 && r.code === 'bad_request');
    assert.match(r.message, /ap-northeast, eu-west, us-east/);
    assert.equal(pick([eu], { region: 'us-east' }), '503 no_nodes');
    assert.equal(pick([]), '503 no_nodes');
  });
});
