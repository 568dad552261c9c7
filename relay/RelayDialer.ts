import * as grpc from '@grpc/grpc-js';
import { METADATA, relayService, type LinkMessage } from './proto.js';

/** Opens link streams to other nodes' relay servers, one gRPC channel per address. */
export class RelayDialer {
  readonly #clients = new Map<string, grpc.Client>();
  readonly #secret: string;
  readonly #self: string;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #channelOptions: grpc.ChannelOptions;

  constructor(options: { secret: string; selfNode: string; credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions }) {
    this.#secret = options.secret;
    this.#self = options.selfNode;
    this.#credentials = options.credentials ?? grpc.credentials.createInsecure();
    this.#channelOptions = options.channelOptions ?? {};
  }

  open(address: string, room: string): grpc.ClientDuplexStream<LinkMessage, LinkMessage> {
    let client = this.#clients.get(address);
    if (!client) {
      const Relay = relayService();
      client = new Relay(address, this.#credentials, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, ...this.#channelOptions });
      this.#clients.set(address, client);
    }
    const md = new grpc.Metadata();
    md.set(METADATA.secret, this.#secret);
    md.set(METADATA.room, room);
    md.set(METADATA.node, this.#self);
    return (client as unknown as { Link(md: grpc.Metadata): grpc.ClientDuplexStream<LinkMessage, LinkMessage> }).Link(md);
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
