import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config, type DeepPartial } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { RegionNode } from '../region-node/RegionNode.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_APP_DIR = path.join(ROOT, 'dist', 'client', 'public');

const USAGE = `usage: octomesh <command>

commands:
  start         run the local cluster on http://127.0.0.1:8080 (region eu-west)
  region-node   run one region node, configured by OCTOMESH_* env and OCTOMESH_CONFIG (see README)
  help          this text
`;

/** Returns the process exit code: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
export async function run(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return runRegionNode({ http: { port: 8080, staticDir: WEB_APP_DIR } });
    case 'region-node':
      return runRegionNode({});
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

async function runRegionNode(defaults: DeepPartial<Config>): Promise<number> {
  let config: Config;
  try {
    // The command's defaults sit under the env and file (the operator has the last word).
    config = loadConfig({ defaults });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`octomesh: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ level: config.log.level, name: 'octomesh', ...(config.log.pretty === 'auto' ? {} : { pretty: config.log.pretty === 'true' }) });
  let node: RegionNode;
  try {
    node = await RegionNode.start(config, log);
  } catch (err) {
    log.fatal({ err }, 'region node failed to start');
    return 1;
  }
  log.info(`open http://127.0.0.1:${node.port}/?room=demo&name=you`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        node.close();
        resolve(1);
        return;
      }
      stopping = true;
      // SIGTERM drains (current calls may finish); Ctrl-C stops at once.
      const timeout = signal === 'SIGTERM' ? 30_000 : 0;
      node.drain(timeout).finally(() => {
        node.close();
        resolve(0);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
