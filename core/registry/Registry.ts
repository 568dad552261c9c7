import type { NodeId, RegionName, RoomId } from '../ids.js';

// The catalog of region nodes and the room presence map ("room R is on node N"). Kept to what
// Consul offers, so the Consul backend can implement it: a service catalog with health
// (nodes + TTL checks), KV with sessions (room presence that vanishes with its node), and
// blocking queries (the watches).

export interface NodeLoad {
  peers: number;
  rooms: number;
  consumers: number;
  /**
   * 0..1 over the last report period: the mean of the workers' shares of one core each, or the
   * node process's share of one core when that is higher (region-node/CpuLoad.ts).
   */
  cpu: number;
}

export interface NodeRecord {
  id: NodeId;
  region: RegionName;
  latitude: number;
  longitude: number;
  /** WebSocket URL browsers use. */
  wsUrl: string;
  /** host:port of the gRPC relay server. */
  relayAddress: string;
  /** Announced IP other nodes' PipeTransports send media to. */
  mediaAddress: string;
  load: NodeLoad;
  draining: boolean;
  /** Process id in the local cluster (0 elsewhere). */
  pid: number;
}

export type Unsubscribe = () => void;

export interface Registry {
  /** Registers (or re-registers) this node; it stays until deregistered or its owner dies. */
  registerNode(record: NodeRecord): Promise<void>;
  /** Load and draining reports (the Consul backend sends these with its TTL check). */
  updateNode(id: NodeId, patch: Partial<Pick<NodeRecord, 'load' | 'draining'>>): Promise<void>;
  deregisterNode(id: NodeId): Promise<void>;
  /** Healthy registered nodes. */
  nodes(): Promise<NodeRecord[]>;
  /** Calls back with the whole node list whenever it changes (and once at once). */
  watchNodes(cb: (nodes: NodeRecord[]) => void): Unsubscribe;

  addRoomPresence(room: RoomId, node: NodeId): Promise<void>;
  removeRoomPresence(room: RoomId, node: NodeId): Promise<void>;
  roomNodes(room: RoomId): Promise<NodeId[]>;
  /** Calls back with the nodes hosting `room` whenever that set changes (and once at once). */
  watchRoom(room: RoomId, cb: (nodes: NodeId[]) => void): Unsubscribe;

  close(): void;
}

export function nodesInRegion(nodes: NodeRecord[], region: RegionName): NodeRecord[] {
  return nodes.filter((n) => n.region === region);
}
