import * as grpc from '@grpc/grpc-js';
import { RELAY_CHANNEL_OPTIONS, RELAY_CONNECT_STALL_MS } from './grpcOptions.js';
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
      client = new Relay(address, this.#credentials, { ...RELAY_CHANNEL_OPTIONS, ...this.#channelOptions });
      this.#clients.set(address, client);
      this.#unstick(address, client);
    }
    const md = new grpc.Metadata();
    md.set(METADATA.secret, this.#secret);
    md.set(METADATA.room, room);
    md.set(METADATA.node, this.#self);
    return (client as unknown as { Link(md: grpc.Metadata): grpc.ClientDuplexStream<LinkMessage, LinkMessage> }).Link(md);
  }

  /** A channel stuck connecting (its SYN lost, the kernel waiting to resend) is closed: the
   *  links waiting on it fail and are re-dialled on a new channel, with a fresh connect. */
  #unstick(address: string, client: grpc.Client): void {
    const channel = client.getChannel();
    let timer: NodeJS.Timeout | undefined;
    const follow = (): void => {
      const state = channel.getConnectivityState(false);
      if (state === grpc.connectivityState.SHUTDOWN) {
        clearTimeout(timer);
        return;
      }
      if (state !== grpc.connectivityState.CONNECTING) {
        clearTimeout(timer);
        timer = undefined;
      } else if (!timer) {
        timer = setTimeout(() => {
          if (channel.getConnectivityState(false) !== grpc.connectivityState.CONNECTING || this.#clients.get(address) !== client) return;
          this.#clients.delete(address);
          client.close();
        }, RELAY_CONNECT_STALL_MS);
        timer.unref();
      }
      channel.watchConnectivityState(state, Infinity, follow);
    };
    follow();
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
