import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config, type DeepPartial } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { readTlsFiles } from '../core/tlsFiles.js';
import { RoomName } from '../core/protocol.js';
import { makeRoomToken, parseTtl } from './token.js';
import { ENV_KEYS } from '../core/config.js';
import { asRegionName } from '../core/ids.js';
import { routingSettings, type RoutingSettings } from '../geo-router/routingSettings.js';
import { createLogger, type Logger } from '../core/logger.js';
import { ConsulRegistry } from '../core/registry/ConsulRegistry.js';
import { IpcRegistry } from '../core/registry/IpcRegistry.js';
import type { Registry } from '../core/registry/Registry.js';
import { RegionNode } from '../region-node/RegionNode.js';
import { CLUSTER_CHILD_DRAIN_MS } from './clusterSpec.js';
import { GeoRouter } from '../geo-router/GeoRouter.js';
import { LocalCluster } from './LocalCluster.js';
import { WEB_APP_DIR } from './paths.js';

export { WEB_APP_DIR };

const USAGE = `usage: octomesh <command>

commands:
  start         run the local cluster: regions eu-west, us-east and ap-northeast, one process
                each (:8081-8083), behind http://127.0.0.1:8080
  region-node   run one region node, configured by OCTOMESH_* env and OCTOMESH_CONFIG (see README);
                every OCTOMESH_FOO_BAR may also be given as a flag --foo-bar VALUE (or --foo-bar=VALUE),
                e.g. octomesh region-node --region us-east --latitude 38.9 --longitude -77.04
  geo-router    run the geo-router alone (web app, /api/route, /api/regions, /admin/regions on
                OCTOMESH_HTTP_PORT, default 8080), reading region nodes from Consul
                (OCTOMESH_DISCOVERY=consul); takes the same --flags as region-node
  bench         the load benchmarks, as \`npm run bench --\`: octomesh bench [SCENARIO ...|all] [--quick]
                (fanout, crossing, route, relay, join; soak --minutes N on demand; see README)
  token         print a room token: octomesh token --room R [--name N] [--ttl 1h]
                (HS256 with OCTOMESH_JWT_SECRET; '*' as the room admits every room)
  help          this text
`;

/** Returns the process exit code: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
export async function run(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return runLocalCluster();
    case 'region-node':
    case 'geo-router': {
      const flags = flagsToEnv(argv.slice(1));
      if (typeof flags === 'string') {
        process.stderr.write(`octomesh: ${flags}\n`);
        return 2;
      }
      // Flags win over the environment; loadConfig then validates both and names a bad key.
      Object.assign(process.env, flags);
      return command === 'region-node' ? runRegionNode() : runGeoRouter();
    }
    case 'token':
      return runToken(argv.slice(1));
    case 'bench':
      return runBench(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`octomesh: unknown command "${command ?? ''}"\n${USAGE}`);
      return 2;
  }
}

/** `--http-port 8081` / `--http-port=8081` -> OCTOMESH_HTTP_PORT=8081; an error text otherwise. */
export function flagsToEnv(args: string[]): Record<string, string> | string {
  const env: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!m) return `unexpected argument "${arg}" (flags look like --http-port 8081)`;
    let value = m[2];
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) return `flag --${m[1]} needs a value`;
    }
    const name = `OCTOMESH_${m[1]!.toUpperCase().replace(/-/g, '_')}`;
    if (!(name in ENV_KEYS) && name !== 'OCTOMESH_CONFIG') return `unknown flag --${m[1]} (see README, Configuration)`;
    env[name] = value;
  }
  return env;
}

async function runToken(args: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const key = /^--(room|name|ttl)$/.exec(args[i] ?? '')?.[1];
    const value = args[i + 1];
    if (!key || value === undefined) {
      process.stderr.write('octomesh: usage: octomesh token --room R [--name N] [--ttl 1h]\n');
      return 2;
    }
    opts[key] = value;
  }
  const config = configOrExit({});
  if (!config) return 2;
  if (!config.auth.jwtSecret) {
    process.stderr.write('octomesh: config: auth.jwtSecret: set OCTOMESH_JWT_SECRET to sign tokens\n');
    return 2;
  }
  if (!opts.room || (opts.room !== '*' && !RoomName.safeParse(opts.room).success)) {
    process.stderr.write('octomesh: --room: a room name (letters, digits, _ . ~ -) or *\n');
    return 2;
  }
  const ttlSec = parseTtl(opts.ttl ?? '1h');
  if (!ttlSec) {
    process.stderr.write('octomesh: --ttl: like 90s, 30m, 1h or 2d\n');
    return 2;
  }
  const token = await makeRoomToken({
    secret: config.auth.jwtSecret,
    room: opts.room,
    ...(opts.name ? { name: opts.name } : {}),
    ttlSec,
    ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
    ...(config.auth.audience ? { audience: config.auth.audience } : {}),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

function configOrExit(defaults: DeepPartial<Config>): Config | undefined {
  try {
    // The command's defaults sit under the env and file (the operator has the last word).
    return loadConfig({ defaults });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`octomesh: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

/** False (message written) when http.tls names files that are missing, unreadable or no certificate/key. */
function httpsFilesOk(config: Config): boolean {
  if (!config.http.tls.cert) return true;
  try {
    readTlsFiles(config.http.tls);
    return true;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`octomesh: ${err.message}\n`);
    return false;
  }
}

/** The Consul registry of `discovery.*`; undefined (message written) when its address is bad. */
function consulOrExit(config: Config, log: Logger): ConsulRegistry | undefined {
  try {
    return new ConsulRegistry({ address: config.discovery.consulAddress, token: process.env.CONSUL_HTTP_TOKEN, log: log.child({ registry: 'consul' }) });
  } catch (err) {
    process.stderr.write(`octomesh: config: discovery.consulAddress: ${(err as Error).message}\n`);
    return undefined;
  }
}

function routingOrExit(config: Config): RoutingSettings | undefined {
  try {
    return routingSettings(config.geo);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`octomesh: ${err.message}\n`);
    return undefined;
  }
}

function loggerFor(config: Config, name: string): Logger {
  return createLogger({ level: config.log.level, name, ...(config.log.pretty === 'auto' ? {} : { pretty: config.log.pretty === 'true' }) });
}

async function runLocalCluster(): Promise<number> {
  // Parsed here too, although the children parse it again: a typo in the operator's env
  // should stop one process with one message, not three.
  const config = configOrExit({ http: { port: 8080, staticDir: WEB_APP_DIR } });
  if (!config || !httpsFilesOk(config)) return 2;
  const log = loggerFor(config, 'cluster');
  const routing = routingOrExit(config);
  if (!routing) return 2;
  const cluster = new LocalCluster({
    host: config.http.host,
    port: config.http.port,
    staticDir: config.http.staticDir,
    log,
    adminToken: config.admin.token,
    routing,
    defaultRegion: asRegionName(config.geo.defaultRegion),
    ...(config.http.tls.cert ? { tls: config.http.tls } : {}),
  });
  // Certificate renewals (certbot/Caddy deploy hooks, `systemctl reload`). Only with TLS: without
  // it SIGHUP keeps its default meaning (the terminal went away: stop).
  if (config.http.tls.cert) process.on('SIGHUP', () => cluster.reloadTls('SIGHUP'));

  let signalled = false;
  // Resolves true when every region node stopped with exit code 0.
  const stopped = new Promise<boolean>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) return;
      signalled = true;
      log.info({ signal }, 'stopping the local cluster');
      void cluster.stop(signal).then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  try {
    await cluster.start();
  } catch (err) {
    if (signalled) return (await stopped) ? 0 : 1;
    log.fatal((err as Error).message);
    return 1;
  }
  log.info(`open ${cluster.url}`);
  // Later signals (the terminal's SIGINT, then a service manager's SIGTERM) change nothing.
  return (await stopped) ? 0 : 1;
}

async function runRegionNode(): Promise<number> {
  const config = configOrExit({});
  if (!config || !httpsFilesOk(config)) return 2;
  // Forked by `octomesh start`: the registry is the parent's, over the IPC channel. A lone
  // node (no channel) uses Consul when discovery.backend says so, else keeps a private one.
  const clusterChild = typeof process.send === 'function';
  const log = loggerFor(config, clusterChild ? config.nodeId : 'octomesh');
  let registry: Registry | undefined;
  if (clusterChild) registry = new IpcRegistry(process);
  else if (config.discovery.backend === 'consul') {
    registry = consulOrExit(config, log);
    if (!registry) return 2;
  }
  // A signal while the node starts (Ctrl-C just after `octomesh start`) is kept for when it has
  // started, instead of killing the process by default with its workers half made.
  let early: NodeJS.Signals | undefined;
  // Tells the worker pool at the first signal, even before the node exists.
  const stopRequested = new AbortController();
  const onEarlySignal = (signal: NodeJS.Signals): void => {
    early ??= signal;
    stopRequested.abort();
  };
  process.on('SIGTERM', onEarlySignal);
  process.on('SIGINT', onEarlySignal);
  let node: RegionNode;
  try {
    node = await RegionNode.start(config, log, { ...(registry ? { registry } : {}), stopping: stopRequested.signal });
  } catch (err) {
    registry?.close();
    process.off('SIGTERM', onEarlySignal);
    process.off('SIGINT', onEarlySignal);
    if (err instanceof ConfigError) {
      process.stderr.write(`octomesh: ${err.message}\n`);
      return 2;
    }
    // Asked to stop while starting: the signal (to the workers as well) is what failed it.
    if (early) return 0;
    log.fatal({ err }, 'region node failed to start');
    return 1;
  }
  if (!clusterChild) log.info(`open ${node.pageUrl}`);
  if (config.http.tls.cert) process.on('SIGHUP', () => node.reloadTls('SIGHUP'));
  let onParentGone = (): void => undefined;
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals | 'parent gone'): void => {
      if (stopping) {
        // A second signal during a stop hurries it (Ctrl-C during a drain, or the cluster's
        // SIGTERM after the terminal's SIGINT reached the whole group): still a clean stop.
        log.info({ signal }, 'stopping now');
        node.close();
        resolve(0);
        return;
      }
      stopping = true;
      stopRequested.abort();
      // SIGTERM drains (current calls may finish; in a cluster only until shortly before the
      // parent's SIGKILL); Ctrl-C, or a parent that vanished, stops at once.
      const timeout = signal === 'SIGTERM' ? (clusterChild ? CLUSTER_CHILD_DRAIN_MS : 30_000) : 0;
      if (signal === 'parent gone') log.warn('the local cluster process is gone; stopping');
      node.drain(timeout).finally(() => {
        node.close();
        resolve(0);
      });
    };
    process.off('SIGTERM', onEarlySignal);
    process.off('SIGINT', onEarlySignal);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (early) stop(early);
    // Without this a SIGKILLed cluster would leave its nodes running, ports held.
    onParentGone = () => stop('parent gone');
    if (clusterChild) process.once('disconnect', onParentGone);
  });
  // Last: close() above deregistered the node over this channel; the channel then lets the
  // process exit.
  registry?.close();
  process.off('disconnect', onParentGone);
  return code;
}

async function runGeoRouter(): Promise<number> {
  const config = configOrExit({ http: { port: 8080, staticDir: WEB_APP_DIR } });
  if (!config || !httpsFilesOk(config)) return 2;
  if (config.discovery.backend !== 'consul') {
    // With the embedded registry it would see no node at all: say so instead of routing nowhere.
    process.stderr.write('octomesh: config: discovery.backend: the geo-router finds region nodes in Consul; set OCTOMESH_DISCOVERY=consul (`octomesh start` runs its own geo-router)\n');
    return 2;
  }
  const routing = routingOrExit(config);
  if (!routing) return 2;
  const log = loggerFor(config, 'geo-router');
  const registry = consulOrExit(config, log);
  if (!registry) return 2;
  let router: GeoRouter;
  try {
    router = await GeoRouter.start({
      host: config.http.host,
      port: config.http.port,
      staticDir: config.http.staticDir,
      registry,
      log,
      routing,
      defaultRegion: asRegionName(config.geo.defaultRegion),
      adminToken: config.admin.token,
      ...(config.http.tls.cert ? { tls: config.http.tls } : {}),
    });
  } catch (err) {
    registry.close();
    if (err instanceof ConfigError) {
      process.stderr.write(`octomesh: ${err.message}\n`);
      return 2;
    }
    log.fatal((err as Error).message);
    return 1;
  }
  if (config.http.tls.cert) process.on('SIGHUP', () => router.reloadTls('SIGHUP'));
  await new Promise<void>((resolve) => {
    // Nothing to drain: a route answer is one request; stop at the first signal. `on`, not
    // `once`: a second signal (Ctrl-C, then a service manager's SIGTERM) must not kill the
    // process by default while it closes.
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  router.close();
  registry.close();
  return 0;
}

/** The bench is its own program (it exits when done): run it as a child, with this terminal. */
function runBench(args: string[]): Promise<number> {
  const cli = fileURLToPath(new URL('../bench/cli.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
    child.once('error', (err) => {
      process.stderr.write(`octomesh: cannot start the bench: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
