import type { NodeId, RegionName, RoomId } from '../core/ids.js';
import type { NodeRecord } from '../core/registry/Registry.js';

/** What the router sees of the cluster: the nodes the registry lists, the regions, which nodes host a room. */
export interface ClusterView {
  /** Registered nodes, as last reported by the registry's watch. */
  nodes(): readonly NodeRecord[];
  /** Every child has registered. */
  ready(): boolean;
  /** The cluster's regions, listed even while none of their nodes is up. */
  regions: readonly { name: RegionName; latitude: number; longitude: number }[];
  defaultRegion: RegionName;
  roomNodes(room: RoomId): Promise<NodeId[]>;
}
