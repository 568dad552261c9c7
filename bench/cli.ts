import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReport, writeReport } from './report.js';
import { SCENARIOS, runScenarios } from './run.js';

const USAGE = `usage: npm run bench -- [SCENARIO ...|all] [--quick]
scenarios: ${Object.keys(SCENARIOS).join(', ')} (default: all)`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const quick = argv.includes('--quick');
  const named = argv.filter((a) => !a.startsWith('--'));
  const unknown = named.filter((n) => n !== 'all' && !(n in SCENARIOS));
  if (unknown.length) {
    console.error(`bench: unknown scenario ${unknown.join(', ')}\n${USAGE}`);
    return 2;
  }
  const names = named.length === 0 || named.includes('all') ? Object.keys(SCENARIOS) : named;
  const startedAt = new Date();
  const log = (line: string): void => console.log(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(6)}s] ${line}`);
  log(`bench ${names.join(', ')}${quick ? ' (quick)' : ''}`);
  const { results, skipped } = await runScenarios(names, { quick, log });
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
