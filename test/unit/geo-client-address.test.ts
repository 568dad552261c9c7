import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, LOOPBACK_CIDRS, normalizeAddress, TrustedProxies } from '../../geo-router/ClientAddress.js';
import { GOOGLE_LONDON_V6, MAXMIND_LONDON, NOT_ADDRESSES, WIDE_TOKYO } from '../helpers/addresses.js';

// Whose address a request carries: the socket's, or X-Forwarded-For's only as far as our own
// proxies wrote it.

describe('address normalization', () => {
  const rows: { name: string; raw: string; want: string | undefined }[] = [
    { name: 'IPv4', raw: MAXMIND_LONDON, want: MAXMIND_LONDON },
    { name: 'IPv4 with a port', raw: `${MAXMIND_LONDON}:51234`, want: MAXMIND_LONDON },
    { name: 'padded', raw: `  ${MAXMIND_LONDON} `, want: MAXMIND_LONDON },
    { name: 'IPv6 compressed and lower-cased', raw: '2A00:1450:4009:0:0:0:0:1', want: GOOGLE_LONDON_V6 },
    { name: 'bracketed IPv6 with a port', raw: `[${GOOGLE_LONDON_V6}]:443`, want: GOOGLE_LONDON_V6 },
    { name: 'IPv6 zone id dropped', raw: 'fe80::1%eth0', want: 'fe80::1' },
    { name: 'IPv4-mapped IPv6, dotted', raw: '::ffff:127.0.0.1', want: '127.0.0.1' },
    { name: 'IPv4-mapped IPv6, hex (a dual-stack socket)', raw: '::ffff:7f00:1', want: '127.0.0.1' },
    { name: 'IPv4-mapped IPv6, long form', raw: '0:0:0:0:0:ffff:5102:458e', want: MAXMIND_LONDON },
    { name: 'loopback IPv6', raw: '::1', want: '::1' },
  ];
  for (const r of rows) it(r.name, () => assert.equal(normalizeAddress(r.raw), r.want));
  for (const [what, raw] of Object.entries(NOT_ADDRESSES)) it(`not an address: ${what}`, () => assert.equal(normalizeAddress(raw), undefined));
});

describe('trusted proxies', () => {
  it('matches CIDR blocks of both families and bare addresses', () => {
    const t = new TrustedProxies([...LOOPBACK_CIDRS, '10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    for (const a of ['127.0.0.1', '127.255.0.3', '::1', '10.200.3.4', '2001:db8:1::5', '192.0.2.7']) assert.ok(t.has(a), a);
    for (const a of ['11.0.0.1', '192.0.2.8', '2001:db9::1', '::2', MAXMIND_LONDON]) assert.ok(!t.has(a), a);
  });

  it('refuses what is not a CIDR block, naming it', () => {
    for (const bad of ['10.0.0.0/33', '::/129', 'localhost', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
      assert.throws(() => new TrustedProxies([bad]), (err: unknown) => err instanceof TypeError && err.message.includes(`"${bad}"`), bad);
    }
  });
});

describe('client address', () => {
  const trusted = new TrustedProxies([...LOOPBACK_CIDRS, '10.0.0.0/8']);
  const rows: { name: string; socket: string; xff?: string; want: string | undefined }[] = [
    { name: 'no header: the socket', socket: MAXMIND_LONDON, want: MAXMIND_LONDON },
    { name: 'behind our proxy: the address it saw', socket: '127.0.0.1', xff: WIDE_TOKYO, want: WIDE_TOKYO },
    { name: 'behind our proxy on a dual-stack socket', socket: '::ffff:127.0.0.1', xff: WIDE_TOKYO, want: WIDE_TOKYO },
    { name: 'an untrusted peer cannot spoof its location', socket: MAXMIND_LONDON, xff: WIDE_TOKYO, want: MAXMIND_LONDON },
    { name: 'an untrusted peer cannot spoof via a private address either', socket: MAXMIND_LONDON, xff: '10.1.1.1', want: MAXMIND_LONDON },
    { name: 'a spoofed entry left of what our proxy wrote is ignored', socket: '127.0.0.1', xff: `1.1.1.1, ${MAXMIND_LONDON}`, want: MAXMIND_LONDON },
    { name: 'two layers of our proxies: the right-most untrusted', socket: '127.0.0.1', xff: `1.1.1.1, ${MAXMIND_LONDON}, 10.0.0.5`, want: MAXMIND_LONDON },
    { name: 'several headers joined in order', socket: '127.0.0.1', xff: `1.1.1.1,${MAXMIND_LONDON},10.0.0.5`, want: MAXMIND_LONDON },
    { name: 'entries with ports and brackets', socket: '127.0.0.1', xff: `[${GOOGLE_LONDON_V6}]:5000, 10.0.0.5:80`, want: GOOGLE_LONDON_V6 },
    { name: 'garbage where our proxy should have written an address: unknown', socket: '127.0.0.1', xff: `${MAXMIND_LONDON}, garbage`, want: undefined },
    { name: '"unknown" from a proxy: unknown', socket: '127.0.0.1', xff: 'unknown', want: undefined },
    { name: 'empty header: the socket', socket: '127.0.0.1', xff: '', want: '127.0.0.1' },
    { name: 'only commas: the socket', socket: '127.0.0.1', xff: ' , ,', want: '127.0.0.1' },
    { name: 'every hop ours: the left-most', socket: '127.0.0.1', xff: '10.0.0.9, 10.0.0.5', want: '10.0.0.9' },
    { name: 'a socket address that is none: unknown', socket: '', xff: MAXMIND_LONDON, want: undefined },
  ];
  for (const r of rows) it(r.name, () => assert.equal(clientAddress(r.socket, r.xff, trusted), r.want));

  it('trusts nothing when no proxy is configured', () => {
    assert.equal(clientAddress('127.0.0.1', MAXMIND_LONDON, new TrustedProxies([])), '127.0.0.1');
  });
});
