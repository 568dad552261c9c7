import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../core/logger.js';
import { RELAY_SERVER_OPTIONS } from './grpcOptions.js';
import { METADATA, relayService, type LinkMessage } from './proto.js';

/** What the relay server hands an authenticated incoming link to (the node's room cascades). */
export interface LinkAcceptor {
  /** Takes the stream, or returns a reason to refuse it (e.g. the room is not on this node). */
  acceptLink(room: string, remoteNode: string, stream: grpc.ServerDuplexStream<LinkMessage, LinkMessage>): string | null;
}

export interface RelayServerOptions {
  host: string;
  port: number;
  secret: string;
  /** Optional TLS: when given, links must use it. */
  credentials?: grpc.ServerCredentials;
}

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The gRPC relay endpoint of a region node: authenticates link streams and hands them on. */
export class RelayServer {
  readonly #server = new grpc.Server(RELAY_SERVER_OPTIONS);
  #port = 0;
  /** Link calls refused so far, by gRPC status name (UNAUTHENTICATED, NOT_FOUND, …): only grows. */
  readonly #refused: Record<string, number> = {};

  private constructor() {}

  static async start(options: RelayServerOptions, acceptor: LinkAcceptor, log: Logger): Promise<RelayServer> {
    const rs = new RelayServer();
    if (!options.secret) log.warn('relay.secret is empty: relay links are not authenticated');
    rs.#server.addService(relayService().service, {
      Link: (call: grpc.ServerDuplexStream<LinkMessage, LinkMessage>) => {
        const md = call.metadata;
        const get = (k: string): string => String(md.get(k)[0] ?? '');
        const refuse = (code: grpc.status, details: string): void => {
          const name = grpc.status[code];
          rs.#refused[name] = (rs.#refused[name] ?? 0) + 1;
          log.warn({ peer: call.getPeer(), details }, 'relay link refused');
          call.emit('error', { code, details, metadata: new grpc.Metadata() });
        };
        if (options.secret && !secretMatches(get(METADATA.secret), options.secret)) {
          refuse(grpc.status.UNAUTHENTICATED, 'bad relay secret');
          return;
        }
        const room = get(METADATA.room);
        const node = get(METADATA.node);
        if (!room || !node) {
          refuse(grpc.status.INVALID_ARGUMENT, 'missing room or node metadata');
          return;
        }
        const why = acceptor.acceptLink(room, node, call);
        if (why) refuse(grpc.status.NOT_FOUND, why);
      },
    });
    rs.#port = await new Promise<number>((resolve, reject) =>
      rs.#server.bindAsync(`${options.host}:${options.port}`, options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(new Error(`relay cannot listen on ${options.host}:${options.port}: ${err.message}`)) : resolve(port),
      ),
    );
    return rs;
  }

  get port(): number {
    return this.#port;
  }

  /** Link calls refused since start, by gRPC status name. */
  refusals(): Readonly<Record<string, number>> {
    return { ...this.#refused };
  }

  /** Immediate: open streams are cancelled (their links close and clean up). */
  close(): void {
    this.#server.forceShutdown();
  }
}
