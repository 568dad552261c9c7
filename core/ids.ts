// Branded ids: a RoomId cannot be passed where a PeerId is wanted, although both are strings
// on the wire. Brands cost nothing at run time.
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type NodeId = Brand<string, 'NodeId'>;
export type RegionName = Brand<string, 'RegionName'>;
export type RoomId = Brand<string, 'RoomId'>;
export type PeerId = Brand<string, 'PeerId'>;
export type LinkId = Brand<string, 'LinkId'>;

export const asNodeId = (s: string): NodeId => s as NodeId;
export const asRegionName = (s: string): RegionName => s as RegionName;
export const asRoomId = (s: string): RoomId => s as RoomId;
export const asPeerId = (s: string): PeerId => s as PeerId;
export const asLinkId = (s: string): LinkId => s as LinkId;
