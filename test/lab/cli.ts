import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runLab } from './lab.js';

// `npm run lab [-- --quick]`. As root, the lab re-executes itself as process 1 of fresh network,
// PID and mount namespaces (`unshare --net --pid --fork --mount --mount-proc --kill-child`): no
// lab address is reachable from or routed to the machine's real interfaces, and when process 1
// exits the kernel ends every process the lab started. Exit 0 when the lab ran (figures that
// miss their goals are printed, not errors); non-zero when it could not run.

const USAGE = 'usage: npm run lab [-- --quick]   (as root; --quick: 20 s per condition instead of 60 s)\n';
const INSIDE = 'OCTOMESH_LAB_INSIDE';
const UNSHARE = ['--net', '--pid', '--fork', '--mount', '--mount-proc', '--kill-child'];

function fail(line: string, code = 2): number {
  process.stderr.write(`lab: ${line}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--quick');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (unknown.length) return fail(`unknown argument ${unknown[0]}\n${USAGE}`);
  const quick = argv.includes('--quick');
  // Process 1: when it exits the kernel ends everything else, so no stray handle may keep it up.
  if (process.env[INSIDE] === '1') process.exit(await runLab({ quick }));

  if (process.getuid?.() !== 0) return fail('needs root to build its network namespaces (run as root); nothing was started');
  const probe = spawnSync('unshare', [...UNSHARE, 'true'], { encoding: 'utf8' });
  if (probe.error) return fail(`cannot run unshare (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}); it comes with util-linux`);
  if (probe.status !== 0) return fail(`unshare cannot make network/PID/mount namespaces here: ${(probe.stderr || `exit ${probe.status}`).trim().split('\n')[0]}`);

  const self = fileURLToPath(import.meta.url);
  const child = spawn('unshare', [...UNSHARE, process.execPath, self, ...argv], { stdio: 'inherit', env: { ...process.env, [INSIDE]: '1' } });
  // Ctrl-C reaches process 1 through the terminal; SIGTERM to this process is passed on.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => {
    child.once('error', (err) => resolve(fail(`cannot start unshare: ${err.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

process.exitCode = await main(process.argv.slice(2));
