import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../core/errors.js';

export interface RelayTlsFiles {
  cert: string;
  key: string;
  ca: string;
  serverName: string;
}

export interface RelayCredentials {
  server: grpc.ServerCredentials;
  client: grpc.ChannelCredentials;
  /** Channel options that make the client check `serverName` rather than the dialled IP. */
  channelOptions: grpc.ChannelOptions;
}

function read(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Mutual TLS for the relay: every node presents a certificate signed by the mesh's CA and
 * refuses a peer that does not (server: client certificate required; client: server checked
 * against the CA and `serverName`). Undefined when no files are configured.
 */
export function relayCredentials(tls: RelayTlsFiles): RelayCredentials | undefined {
  if (!tls.cert) return undefined;
  const cert = read('relay.tls.cert', tls.cert);
  const key = read('relay.tls.key', tls.key);
  const ca = read('relay.tls.ca', tls.ca);
  return {
    server: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true),
    client: grpc.credentials.createSsl(ca, key, cert),
    channelOptions: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {},
  };
}
