import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, LOOPBACK_CIDRS, normalizeAddress, TrustedProxies } from '../../geo-router/ClientAddress.js';

// Whose address a request carries: the socket's, or X-Forwarded-For's only as far as our own
// proxies wrote it.

describe('address normalization', () => {
  const rows: { name: string; raw: string; want: string | undefined }[] = [
    { name: 'IPv4', raw: '81.2.69.142', want: '81.2.69.142' },
    { name: 'IPv4 with a port', raw: '81.2.69.142:51234', want: '81.2.69.142' },
    { name: 'padded', raw: '  81.2.69.142 ', want: '81.2.69.142' },
    { name: 'IPv6 compressed and lower-cased', raw: '2A00:1450:4009:0:0:0:0:1', want: '2a00:1450:4009::1' },
    { name: 'bracketed IPv6 with a port', raw: '[2a00:1450:4009::1]:443', want: '2a00:1450:4009::1' },
    { name: 'IPv6 zone id dropped', raw: 'fe80::1%eth0', want: 'fe80::1' },
    { name: 'IPv4-mapped IPv6, dotted', raw: '::ffff:127.0.0.1', want: '127.0.0.1' },
    { name: 'IPv4-mapped IPv6, hex (a dual-stack socket)', raw: '::ffff:7f00:1', want: '127.0.0.1' },
    { name: 'IPv4-mapped IPv6, long form', raw: '0:0:0:0:0:ffff:5102:458e', want: '81.2.69.142' },
    { name: 'loopback IPv6', raw: '::1', want: '::1' },
    { name: 'empty', raw: '', want: undefined },
    { name: 'a proxy\'s "unknown"', raw: 'unknown', want: undefined },
    { name: 'a host name', raw: 'example.com', want: undefined },
    { name: 'leading zeros (octal in some parsers)', raw: '010.0.0.1', want: undefined },
    { name: 'out of range', raw: '256.1.1.1', want: undefined },
    { name: 'three octets', raw: '1.2.3', want: undefined },
    { name: 'injection', raw: '1.2.3.4<script>', want: undefined },
    { name: 'IPv6 with a port but no brackets is ambiguous', raw: '2a00:1450:4009::1:443x', want: undefined },
  ];
  for (const r of rows) it(r.name, () => assert.equal(normalizeAddress(r.raw), r.want));
});

describe('trusted proxies', () => {
  it('matches CIDR blocks of both families and bare addresses', () => {
    const t = new TrustedProxies([...LOOPBACK_CIDRS, '10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    for (const a of ['127.0.0.1', '127.255.0.3', '::1', '10.200.3.4', '2001:db8:1::5', '192.0.2.7']) assert.ok(t.has(a), a);
    for (const a of ['11.0.0.1', '192.0.2.8', '2001:db9::1', '::2', '81.2.69.142']) assert.ok(!t.has(a), a);
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
    { name: 'no header: the socket', socket: '81.2.69.142', want: '81.2.69.142' },
    { name: 'behind our proxy: the address it saw', socket: '127.0.0.1', xff: '203.178.141.194', want: '203.178.141.194' },
    { name: 'behind our proxy on a dual-stack socket', socket: '::ffff:127.0.0.1', xff: '203.178.141.194', want: '203.178.141.194' },
    { name: 'an untrusted peer cannot spoof its location', socket: '81.2.69.142', xff: '203.178.141.194', want: '81.2.69.142' },
    { name: 'an untrusted peer cannot spoof via a private address either', socket: '81.2.69.142', xff: '10.1.1.1', want: '81.2.69.142' },
    { name: 'a spoofed entry left of what our proxy wrote is ignored', socket: '127.0.0.1', xff: '1.1.1.1, 81.2.69.142', want: '81.2.69.142' },
    { name: 'two layers of our proxies: the right-most untrusted', socket: '127.0.0.1', xff: '1.1.1.1, 81.2.69.142, 10.0.0.5', want: '81.2.69.142' },
    { name: 'several headers joined in order', socket: '127.0.0.1', xff: '1.1.1.1,81.2.69.142,10.0.0.5', want: '81.2.69.142' },
    { name: 'entries with ports and brackets', socket: '127.0.0.1', xff: '[2a00:1450:4009::1]:5000, 10.0.0.5:80', want: '2a00:1450:4009::1' },
    { name: 'garbage where our proxy should have written an address: unknown', socket: '127.0.0.1', xff: '81.2.69.142, garbage', want: undefined },
    { name: '"unknown" from a proxy: unknown', socket: '127.0.0.1', xff: 'unknown', want: undefined },
    { name: 'empty header: the socket', socket: '127.0.0.1', xff: '', want: '127.0.0.1' },
    { name: 'only commas: the socket', socket: '127.0.0.1', xff: ' , ,', want: '127.0.0.1' },
    { name: 'every hop ours: the left-most', socket: '127.0.0.1', xff: '10.0.0.9, 10.0.0.5', want: '10.0.0.9' },
    { name: 'a socket address that is none: unknown', socket: '', xff: '81.2.69.142', want: undefined },
  ];
  for (const r of rows) it(r.name, () => assert.equal(clientAddress(r.socket, r.xff, trusted), r.want));

  it('trusts nothing when no proxy is configured', () => {
    assert.equal(clientAddress('127.0.0.1', '81.2.69.142', new TrustedProxies([])), '127.0.0.1');
  });
});
