import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// relay.proto is read at run time from the source tree (dist/relay/ -> ../../relay/).
const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'relay', 'relay.proto');

export interface PeerInfoMsg { peerId: string; displayName: string; region: string }
export interface ProducerInfoMsg { producerId: string; peerId: string; kind: string; source: string; paused: boolean; layerHeights: number[] }
export interface HelloMsg {
  room: string;
  nodeId: string;
  region: string;
  ip: string;
  port: number;
  srtpCryptoSuite: string;
  srtpKeyBase64: string;
  peers: PeerInfoMsg[];
  producers: ProducerInfoMsg[];
  activeSpeaker: string;
}

/** One message on a Link stream: exactly one body field is set, named by `body`. */
export type LinkMessage =
  | { body?: 'hello'; hello: HelloMsg }
  | { body?: 'peerJoined'; peerJoined: PeerInfoMsg }
  | { body?: 'peerLeft'; peerLeft: { peerId: string } }
  | { body?: 'producerAdded'; producerAdded: ProducerInfoMsg }
  | { body?: 'producerClosed'; producerClosed: { producerId: string } }
  | { body?: 'producerPaused'; producerPaused: { producerId: string } }
  | { body?: 'producerResumed'; producerResumed: { producerId: string } }
  | { body?: 'pipeRequest'; pipeRequest: { producerId: string } }
  | { body?: 'pipeOffer'; pipeOffer: { producerId: string; kind: string; rtpParametersJson: string; paused: boolean } }
  | { body?: 'pipeClose'; pipeClose: { producerId: string } }
  | { body?: 'pipeError'; pipeError: { producerId: string; message: string } }
  | { body?: 'activeSpeaker'; activeSpeaker: { peerId: string } }
  | { body?: 'chat'; chat: { peerId: string; displayName: string; text: string; ts: number } }
  | { body?: 'ping'; ping: { sentMs: number } }
  | { body?: 'pong'; pong: { sentMs: number } }
  | { body?: 'demand'; demand: { producerId: string; layers: number } };

export type LinkStream = grpc.ClientDuplexStream<LinkMessage, LinkMessage> | grpc.ServerDuplexStream<LinkMessage, LinkMessage>;

export const METADATA = { secret: 'x-octomesh-secret', room: 'x-octomesh-room', node: 'x-octomesh-node' } as const;

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated Relay service (client constructor; `.service` is the definition for servers). */
export function relayService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { octomesh: { relay: { Relay: grpc.ServiceClientConstructor } } };
  cached = pkg.octomesh.relay.Relay;
  return cached;
}
