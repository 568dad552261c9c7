import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, type BenchArgs } from './args.js';
import { buildReport, writeReport } from './report.js';
import { OPT_IN, SCENARIOS, runScenarios } from './run.js';

const USAGE = `usage: npm run bench -- [SCENARIO ...|all] [--quick] [--minutes N]
scenarios: ${Object.keys(SCENARIOS).join(', ')}
all (the default): ${Object.keys(SCENARIOS).filter((s) => !OPT_IN.has(s)).join(', ')}; ${[...OPT_IN].join(', ')} only when named
--minutes N: how long the soak churns (default 5, 1 with --quick)`;

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, Object.keys(SCENARIOS), OPT_IN);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const { quick, names } = args;
  const startedAt = new Date();
  const log = (line: string): void => console.log(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(6)}s] ${line}`);
  log(`bench ${names.join(', ')}${quick ? ' (quick)' : ''}`);
  const { results, skipped } = await runScenarios(names, { quick, log, ...(args.minutes !== undefined ? { minutes: args.minutes } : {}) });
  const report = buildReport(startedAt, quick, results, skipped);
  // dist/bench/cli.js -> <repo>/bench/results
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  const dir = writeReport(report, root);
  log(`figures: ${JSON.stringify(report.figures)}`);
  log(`wrote ${dir} and ${path.join(root, 'latest.json')}`);
  return Object.values(report.scenarios).some((s) => 'error' in s) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
