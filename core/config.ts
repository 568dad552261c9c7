import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';

// One default configuration, overlaid by the operator's JSON file (OCTOMESH_CONFIG) and then
// by OCTOMESH_* environment variables, validated once at start. Unknown keys, in the file or
// in the environment, are errors that name the key: a typo must not silently fall back to a
// default.

const port = z.number().int().min(0).max(65535);

/** A comma-separated setting as its entries (env variables carry no arrays). */
export function commaList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter(Boolean);
}

// What RTCPeerConnection accepts as an ICE server URL; a query other than ?transport= is a typo.
const ICE_URL = /^(stun|turn|turns):[^\s?/]+(\?transport=(udp|tcp))?$/;

const turn = z
  .strictObject({
    /** Comma-separated stun:, turn: and turns: URLs handed to browsers at join; empty: none. */
    urls: z.string(),
    /** coturn's static-auth-secret (use-auth-secret): each join gets its own expiring credentials. */
    secret: z.string(),
    /** Static long-term credentials, the same for every browser: the alternative to secret. */
    username: z.string(),
    credential: z.string(),
    /** Lifetime of minted credentials. coturn checks it when an allocation is made, not later
     *  (coturn issues #774, #1204), but a browser makes new allocations mid-call (network change),
     *  so it outlasts a long call; one day is the TURN REST API draft's advice. */
    ttlSec: z.number().int().min(60).max(7 * 86400),
  })
  .superRefine((t, ctx) => {
    const fail = (key: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [key], message });
    const urls = commaList(t.urls);
    const bad = urls.find((u) => !ICE_URL.test(u));
    if (bad !== undefined) return fail('urls', `"${bad.slice(0, 100)}" is not a stun:, turn: or turns: URL`);
    if (t.secret && (t.username || t.credential)) return fail('secret', 'set secret or username/credential, not both');
    if (Boolean(t.username) !== Boolean(t.credential)) return fail(t.username ? 'credential' : 'username', 'set username and credential together');
    const relays = urls.some((u) => !u.startsWith('stun:'));
    if (relays && !t.secret && !t.username) return fail('secret', 'turn: URLs need secret (coturn use-auth-secret) or username and credential');
    if (!relays && (t.secret || t.username)) return fail('urls', 'credentials are set but no turn: or turns: URL');
  });
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const ConfigSchema = z.strictObject({
  region: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  /** Unique id of this node; derived from region and HTTP port when empty. */
  nodeId: z.string().max(128),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  http: z.strictObject({
    host: z.string().min(1),
    port,
    /** Base URL browsers use for this node's WebSocket; derived from host/port when empty. */
    publicWsUrl: z.string(),
    /** Folder of the built web app; empty serves no web app. */
    staticDir: z.string(),
    /** HTTPS and WSS on this port: PEM files (a certificate chain and its key), both or neither.
     *  Re-read on SIGHUP and when the files change (renewals). */
    tls: z
      .strictObject({ cert: z.string(), key: z.string() })
      .superRefine((t, ctx) => {
        if (t.cert && !t.key) ctx.addIssue({ code: 'custom', path: ['key'], message: 'set http.tls.key with http.tls.cert (or neither)' });
        if (t.key && !t.cert) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'set http.tls.cert with http.tls.key (or neither)' });
      }),
  }),
  media: z.strictObject({
    /** Number of mediasoup workers; 0 means one per CPU core. */
    workers: z.number().int().min(0).max(256),
    /** Worker i listens for WebRTC (UDP and TCP) on rtcPort + i. */
    rtcPort: port,
    listenIp: z.string().min(1),
    /** Address put in ICE candidates (the public IP behind NAT); empty uses listenIp. */
    announcedAddress: z.string(),
    workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']),
    workerBin: z.string(),
    initialOutgoingBitrate: z.number().int().positive(),
    maxIncomingBitrate: z.number().int().min(0),
    /** Let clients open plain RTP transports (media bots, load tests). Off by default: a plain
     *  receive transport sends media to any address its client names. */
    plainTransports: z.boolean(),
    /** Seconds a peer's transport may stay ICE-disconnected before the peer is removed. */
    peerDisconnectTimeoutSec: z.number().positive().max(300),
  }),
  limits: z.strictObject({
    maxMessageBytes: z.number().int().min(1024).max(16 * 1024 * 1024),
    messagesPerSecond: z.number().positive(),
    messageBurst: z.number().int().positive(),
    maxPeersPerRoom: z.number().int().positive(),
    maxProducersPerPeer: z.number().int().positive(),
    maxChatBytes: z.number().int().positive(),
    idleTimeoutSec: z.number().int().min(8).max(960),
  }),
  rooms: z.strictObject({
    /** Last-N: above this many video publishers in a room, each peer is forwarded video only from
     *  the N most recent speakers plus its pins and its page (audio always). */
    lastN: z.number().int().min(1).max(1000),
  }),
  relay: z.strictObject({
    /** gRPC relay listen address and port (0 = ephemeral). */
    host: z.string().min(1),
    port,
    /** host:port other nodes dial; derived from host/port when empty. */
    publicAddress: z.string(),
    /** Shared secret every node of a mesh presents in gRPC metadata. */
    secret: z.string(),
    /** IP other nodes' PipeTransports send media to; empty uses media.announcedAddress or listenIp. */
    mediaAddress: z.string(),
    /** Seconds a piped producer stays open after its last far consumer leaves. */
    pipeGraceSec: z.number().min(0).max(600),
    /** Mutual TLS between nodes: PEM files; all three set, or none (plain gRPC + secret). */
    tls: z
      .strictObject({
        cert: z.string(),
        key: z.string(),
        ca: z.string(),
        /** The name every node's certificate carries (SAN), checked instead of the dialled address. */
        serverName: z.string(),
      })
      .refine((t) => [t.cert, t.key, t.ca].every((f) => f) || [t.cert, t.key, t.ca].every((f) => !f), {
        message: 'set cert, key and ca together (or none)',
      }),
  }),
  discovery: z.strictObject({
    /** local: the embedded registry (the local cluster's parent, or this process alone); consul: a Consul agent. */
    backend: z.enum(['local', 'consul']),
    consulAddress: z.string(),
  }),
  geo: z.strictObject({
    /** mmdb files (comma-separated): a MaxMind GeoLite2/GeoIP2 City file, or DB-IP's. Empty: the bundled DB-IP lite files. */
    mmdbFiles: z.string(),
    /** Proxies (comma-separated CIDRs) whose X-Forwarded-For is believed. */
    trustedProxies: z.string(),
    /** Where clients of unknown location go. */
    defaultRegion: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
    /** A node with this many peers counts as full: its region spills to the next nearest. */
    maxPeersPerNode: z.number().int().positive(),
  }),
  auth: z.strictObject({
    /** HS256 secret: when set (or a public key / JWKS URL), joining needs a token. */
    jwtSecret: z.string(),
    /** PEM (SPKI) public key file for RS256/ES256 tokens. */
    jwtPublicKeyFile: z.string(),
    /** JWKS URL for RS256/ES256 tokens. */
    jwtJwksUrl: z.string(),
    /** When set, a token's iss / aud must match. */
    issuer: z.string(),
    audience: z.string(),
  }),
  /** ICE servers for browsers behind NATs or firewalls that block direct media (README, "TURN"). */
  turn,
  admin: z.strictObject({
    /** Bearer token for admin routes from other hosts; loopback callers need none. Empty: loopback only. */
    token: z.string(),
  }),
  log: z.strictObject({ level: logLevel, pretty: z.enum(['auto', 'true', 'false']) }),
});

export type Config = z.infer<typeof ConfigSchema>;

export const DEFAULT_CONFIG: Config = {
  region: 'eu-west',
  nodeId: '',
  latitude: 51.51,
  longitude: -0.13,
  http: { host: '127.0.0.1', port: 8080, publicWsUrl: '', staticDir: '', tls: { cert: '', key: '' } },
  media: {
    workers: 0,
    rtcPort: 40000,
    listenIp: '127.0.0.1',
    announcedAddress: '',
    workerLogLevel: 'warn',
    workerBin: '',
    initialOutgoingBitrate: 1_000_000,
    maxIncomingBitrate: 3_000_000,
    plainTransports: false,
    peerDisconnectTimeoutSec: 8,
  },
  limits: {
    maxMessageBytes: 64 * 1024,
    messagesPerSecond: 50,
    messageBurst: 200,
    maxPeersPerRoom: 100,
    maxProducersPerPeer: 4,
    maxChatBytes: 4000,
    idleTimeoutSec: 30,
  },
  rooms: { lastN: 25 },
  relay: {
    host: '127.0.0.1',
    port: 50051,
    publicAddress: '',
    secret: '',
    mediaAddress: '',
    pipeGraceSec: 2,
    tls: { cert: '', key: '', ca: '', serverName: 'octomesh-relay' },
  },
  discovery: { backend: 'local', consulAddress: 'http://127.0.0.1:8500' },
  geo: { mmdbFiles: '', trustedProxies: '127.0.0.0/8,::1/128', defaultRegion: 'eu-west', maxPeersPerNode: 50 },
  auth: { jwtSecret: '', jwtPublicKeyFile: '', jwtJwksUrl: '', issuer: '', audience: '' },
  turn: { urls: '', secret: '', username: '', credential: '', ttlSec: 86_400 },
  admin: { token: '' },
  log: { level: 'info', pretty: 'auto' },
};

/** Environment variable -> config path. Every OCTOMESH_* variable must be listed here. */
export const ENV_KEYS: Record<string, { path: string; type: 'string' | 'number' | 'boolean' }> = {
  OCTOMESH_REGION: { path: 'region', type: 'string' },
  OCTOMESH_NODE_ID: { path: 'nodeId', type: 'string' },
  OCTOMESH_LATITUDE: { path: 'latitude', type: 'number' },
  OCTOMESH_LONGITUDE: { path: 'longitude', type: 'number' },
  OCTOMESH_HTTP_HOST: { path: 'http.host', type: 'string' },
  OCTOMESH_HTTP_PORT: { path: 'http.port', type: 'number' },
  OCTOMESH_PUBLIC_WS_URL: { path: 'http.publicWsUrl', type: 'string' },
  OCTOMESH_STATIC_DIR: { path: 'http.staticDir', type: 'string' },
  OCTOMESH_TLS_CERT: { path: 'http.tls.cert', type: 'string' },
  OCTOMESH_TLS_KEY: { path: 'http.tls.key', type: 'string' },
  OCTOMESH_WORKERS: { path: 'media.workers', type: 'number' },
  OCTOMESH_RTC_PORT: { path: 'media.rtcPort', type: 'number' },
  OCTOMESH_LISTEN_IP: { path: 'media.listenIp', type: 'string' },
  OCTOMESH_ANNOUNCED_ADDRESS: { path: 'media.announcedAddress', type: 'string' },
  OCTOMESH_WORKER_LOG_LEVEL: { path: 'media.workerLogLevel', type: 'string' },
  OCTOMESH_WORKER_BIN: { path: 'media.workerBin', type: 'string' },
  OCTOMESH_PLAIN_TRANSPORTS: { path: 'media.plainTransports', type: 'boolean' },
  OCTOMESH_ROOMS_LAST_N: { path: 'rooms.lastN', type: 'number' },
  OCTOMESH_RELAY_HOST: { path: 'relay.host', type: 'string' },
  OCTOMESH_RELAY_PORT: { path: 'relay.port', type: 'number' },
  OCTOMESH_RELAY_PUBLIC_ADDRESS: { path: 'relay.publicAddress', type: 'string' },
  OCTOMESH_RELAY_SECRET: { path: 'relay.secret', type: 'string' },
  OCTOMESH_RELAY_MEDIA_ADDRESS: { path: 'relay.mediaAddress', type: 'string' },
  OCTOMESH_RELAY_TLS_CERT: { path: 'relay.tls.cert', type: 'string' },
  OCTOMESH_RELAY_TLS_KEY: { path: 'relay.tls.key', type: 'string' },
  OCTOMESH_RELAY_TLS_CA: { path: 'relay.tls.ca', type: 'string' },
  OCTOMESH_RELAY_TLS_SERVER_NAME: { path: 'relay.tls.serverName', type: 'string' },
  OCTOMESH_DISCOVERY: { path: 'discovery.backend', type: 'string' },
  OCTOMESH_CONSUL_ADDRESS: { path: 'discovery.consulAddress', type: 'string' },
  OCTOMESH_GEOIP_FILES: { path: 'geo.mmdbFiles', type: 'string' },
  OCTOMESH_TRUSTED_PROXIES: { path: 'geo.trustedProxies', type: 'string' },
  OCTOMESH_DEFAULT_REGION: { path: 'geo.defaultRegion', type: 'string' },
  OCTOMESH_MAX_PEERS_PER_NODE: { path: 'geo.maxPeersPerNode', type: 'number' },
  OCTOMESH_TURN_URLS: { path: 'turn.urls', type: 'string' },
  OCTOMESH_TURN_SECRET: { path: 'turn.secret', type: 'string' },
  OCTOMESH_TURN_USERNAME: { path: 'turn.username', type: 'string' },
  OCTOMESH_TURN_CREDENTIAL: { path: 'turn.credential', type: 'string' },
  OCTOMESH_TURN_TTL_SEC: { path: 'turn.ttlSec', type: 'number' },
  OCTOMESH_ADMIN_TOKEN: { path: 'admin.token', type: 'string' },
  OCTOMESH_JWT_SECRET: { path: 'auth.jwtSecret', type: 'string' },
  OCTOMESH_JWT_PUBLIC_KEY_FILE: { path: 'auth.jwtPublicKeyFile', type: 'string' },
  OCTOMESH_JWT_JWKS_URL: { path: 'auth.jwtJwksUrl', type: 'string' },
  OCTOMESH_JWT_ISSUER: { path: 'auth.issuer', type: 'string' },
  OCTOMESH_JWT_AUDIENCE: { path: 'auth.audience', type: 'string' },
  OCTOMESH_LOG_LEVEL: { path: 'log.level', type: 'string' },
  OCTOMESH_LOG_PRETTY: { path: 'log.pretty', type: 'string' },
};
/** Variables that are not config keys but are read elsewhere (so not typos). */
const ENV_OTHER = new Set(['OCTOMESH_CONFIG']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function overlay(base: Json, over: Json, path: string): Json {
  if (!isPlainObject(over)) return over;
  if (!isPlainObject(base)) throw new ConfigError(path || '(root)', 'expected a value, got an object');
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const p = path ? `${path}.${k}` : k;
    if (!Object.hasOwn(base, k)) throw new ConfigError(p, 'unknown key');
    out[k] = overlay(base[k] as Json, v, p);
  }
  return out;
}

function setPath(target: Record<string, Json>, path: string, value: Json): Record<string, Json> {
  const keys = path.split('.');
  const over: Record<string, Json> = {};
  let cur = over;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] = value;
    else cur = cur[k] = {};
  });
  return overlay(target, over, '') as Record<string, Json>;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON file; defaults to env OCTOMESH_CONFIG. */
  file?: string;
  /** A command's own defaults, laid over DEFAULT_CONFIG and under the file and env. */
  defaults?: DeepPartial<Config>;
  /** Programmatic overrides laid over everything (tests). */
  overrides?: DeepPartial<Config>;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  let merged = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, Json>;
  if (options.defaults) merged = overlay(merged, options.defaults as Json, '') as Record<string, Json>;

  const file = options.file ?? env.OCTOMESH_CONFIG;
  if (file) {
    let parsed: Json;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (err) {
      throw new ConfigError('OCTOMESH_CONFIG', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new ConfigError('OCTOMESH_CONFIG', `${file} must hold a JSON object`);
    merged = overlay(merged, parsed, '') as Record<string, Json>;
  }

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('OCTOMESH_') || raw === undefined) continue;
    const spec = ENV_KEYS[name];
    if (!spec) {
      if (ENV_OTHER.has(name)) continue;
      throw new ConfigError(name, 'unknown environment variable');
    }
    let value: Json = raw;
    if (spec.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(name, `expected true or false, got "${raw}"`);
      value = raw === 'true';
    } else if (spec.type === 'number') {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw new ConfigError(name, `expected a number, got "${raw}"`);
    }
    merged = setPath(merged, spec.path, value);
  }

  if (options.overrides) merged = overlay(merged, options.overrides as Json, '') as Record<string, Json>;

  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || '(root)', issue.message);
  }
  const config = result.data;
  if (!config.nodeId) {
    const suffix = config.http.port || Math.random().toString(36).slice(2, 8);
    config.nodeId = `${config.region}-${os.hostname()}-${suffix}`;
  }
  return config;
}

export function workerCount(config: Config): number {
  return config.media.workers || Math.max(1, os.availableParallelism());
}
