import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBenchArgs } from '../../bench/args.js';

const SCENARIOS = ['fanout', 'crossing', 'route', 'relay', 'join', 'soak'];
const OPT_IN = new Set(['soak']);
const DEFAULTS = ['fanout', 'crossing', 'route', 'relay', 'join'];
const parse = (argv: string[]) => parseBenchArgs(argv, SCENARIOS, OPT_IN);

describe('bench command line', () => {
  const rows: { name: string; argv: string[]; want?: object; wantErr?: RegExp }[] = [
    { name: 'no name runs every scenario but the soak', argv: [], want: { names: DEFAULTS, quick: false } },
    { name: '--quick alone is the default set, quick', argv: ['--quick'], want: { names: DEFAULTS, quick: true } },
    { name: 'all leaves the soak out too', argv: ['all', '--quick'], want: { names: DEFAULTS } },
    { name: 'the soak runs when named, with its minutes', argv: ['soak', '--minutes', '2.5'], want: { names: ['soak'], minutes: 2.5 } },
    { name: '--minutes=N works too', argv: ['soak', '--minutes=1'], want: { minutes: 1 } },
    { name: 'all and soak together', argv: ['all', 'soak'], want: { names: [...DEFAULTS, 'soak'] } },
    { name: 'zero minutes is refused', argv: ['soak', '--minutes', '0'], wantErr: /--minutes: expected a positive number, got "0"/ },
    { name: 'negative minutes are refused', argv: ['soak', '--minutes', '-3'], wantErr: /positive number, got "-3"/ },
    { name: 'a word for minutes is refused', argv: ['soak', '--minutes', 'ten'], wantErr: /positive number, got "ten"/ },
    { name: 'a missing value is refused', argv: ['soak', '--minutes'], wantErr: /positive number, got nothing/ },
    { name: '--minutes without the soak is refused', argv: ['fanout', '--minutes', '1'], wantErr: /applies to the soak scenario only/ },
    { name: 'an unknown scenario is named', argv: ['nope'], wantErr: /unknown scenario nope/ },
    { name: 'an unknown option is named', argv: ['--fast'], wantErr: /unknown option --fast/ },
  ];
  for (const row of rows) {
    it(row.name, () => {
      if (row.wantErr) {
        assert.throws(() => parse(row.argv), (err: Error) => err instanceof TypeError && row.wantErr!.test(err.message));
        return;
      }
      const got = parse(row.argv);
      for (const [k, v] of Object.entries(row.want!)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, k);
    });
  }
});
