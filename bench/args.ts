/** What `npm run bench -- …` asked for. */
export interface BenchArgs {
  help: boolean;
  quick: boolean;
  names: string[];
  /** Soak length; undefined = the soak's own default. */
  minutes?: number;
}

/**
 * Parses the bench command line. `all` (or no name) means every scenario but the opt-in ones,
 * which run only when named: a soak lasts minutes and is not what a quick run wants.
 * Throws a TypeError whose message is meant for the user.
 */
export function parseBenchArgs(argv: readonly string[], scenarios: readonly string[], optIn: ReadonlySet<string>): BenchArgs {
  const out: BenchArgs = { help: false, quick: false, names: [] };
  const named: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--quick') out.quick = true;
    else if (a === '--minutes' || a.startsWith('--minutes=')) {
      const raw = a === '--minutes' ? argv[++i] : a.slice('--minutes='.length);
      const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n) || n <= 0) throw new TypeError(`--minutes: expected a positive number, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
      out.minutes = n;
    } else if (a.startsWith('-')) throw new TypeError(`unknown option ${a}`);
    else named.push(a);
  }
  const unknown = named.filter((n) => n !== 'all' && !scenarios.includes(n));
  if (unknown.length) throw new TypeError(`unknown scenario ${unknown.join(', ')}`);
  const defaults = scenarios.filter((s) => !optIn.has(s));
  out.names = named.length === 0 ? defaults : [...new Set(named.flatMap((n) => (n === 'all' ? defaults : [n])))];
  if (out.minutes !== undefined && !out.names.some((n) => n === 'soak')) throw new TypeError('--minutes applies to the soak scenario only: npm run bench -- soak --minutes N');
  return out;
}
