import type { NodeId, RegionName } from '../core/ids.js';
import { asNodeId, asRegionName } from '../core/ids.js';

// What `octomesh start` runs: one region node per region, each in its own process as it would
// be on its own host, on fixed ports so that URLs in logs and docs stay the same between runs.

export interface ClusterNodeSpec {
  region: RegionName;
  nodeId: NodeId;
  latitude: number;
  longitude: number;
  httpPort: number;
  /** First WebRTC port; the node runs one worker, so it uses this port only. */
  rtcPort: number;
  relayPort: number;
  /** Which block of ports the node uses (0, 1, 2 …). */
  slot: number;
}

/** The node of region `region` in port slot `i`: HTTP 8081+i, WebRTC 40000+10i, relay 50051+i. */
export const nodeSpec = (region: string, latitude: number, longitude: number, i: number): ClusterNodeSpec => ({
  slot: i,
  region: asRegionName(region),
  nodeId: asNodeId(`${region}-1`),
  latitude,
  longitude,
  httpPort: 8081 + i,
  rtcPort: 40000 + 10 * i,
  relayPort: 50051 + i,
});

export const CLUSTER_NODES: readonly ClusterNodeSpec[] = [
  nodeSpec('eu-west', 51.51, -0.13, 0),
  nodeSpec('us-east', 38.9, -77.04, 1),
  nodeSpec('ap-northeast', 35.68, 139.69, 2),
];

/** Where /api/route sends a room nobody hosts yet. */
export const DEFAULT_REGION = asRegionName('eu-west');

/** How long the cluster waits for a child after SIGTERM before it SIGKILLs it. */
export const CHILD_STOP_TIMEOUT_MS = 10_000;
/** A cluster child's drain on SIGTERM: short enough to finish before the parent's SIGKILL. */
export const CLUSTER_CHILD_DRAIN_MS = CHILD_STOP_TIMEOUT_MS - 2_000;

/**
 * A child's environment: the operator's own (OCTOMESH_* included, so log level, listen
 * addresses and the like apply to every node), under the values that make each node distinct.
 */
export function childEnv(node: ClusterNodeSpec, relaySecret: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    OCTOMESH_REGION: node.region,
    OCTOMESH_LATITUDE: String(node.latitude),
    OCTOMESH_LONGITUDE: String(node.longitude),
    OCTOMESH_NODE_ID: node.nodeId,
    OCTOMESH_HTTP_PORT: String(node.httpPort),
    OCTOMESH_RTC_PORT: String(node.rtcPort),
    OCTOMESH_WORKERS: '1',
    OCTOMESH_RELAY_PORT: String(node.relayPort),
    OCTOMESH_RELAY_SECRET: relaySecret,
    OCTOMESH_DISCOVERY: 'local',
    // The parent serves the web app; a node serves signaling only.
    OCTOMESH_STATIC_DIR: '',
  };
}
