import { asNodeId, asRegionName } from '../../core/ids.js';
import type { NodeRecord } from '../../core/registry/Registry.js';

/** A registry record for a node that is not running (registry tests only read it back). */
export function testRecord(id: string, region = 'eu-west', pid = 4242): NodeRecord {
  return {
    id: asNodeId(id),
    region: asRegionName(region),
    latitude: 51.51,
    longitude: -0.13,
    wsUrl: `ws://127.0.0.1:9/${id}`,
    relayAddress: '127.0.0.1:50051',
    mediaAddress: '127.0.0.1',
    load: { peers: 0, rooms: 0, consumers: 0, cpu: 0 },
    draining: false,
    pid,
  };
}
