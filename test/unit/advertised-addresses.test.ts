import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { advertisedAddresses, frontUrl, isWildcard, pageUrlFor, type AdvertiseInput, type Interfaces } from '../../core/addresses.js';
import { ConfigError } from '../../core/errors.js';

// What a node tells other hosts (core/addresses.ts): never a wildcard, never loopback for a node
// that listens beyond loopback.

function iface(address: string, opts: { internal?: boolean } = {}): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return { address, family: v6 ? 'IPv6' : 'IPv4', internal: opts.internal ?? false, netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null, ...(v6 ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}
const LO: Interfaces = { lo: [iface('127.0.0.1', { internal: true }), iface('::1', { internal: true })] };
const ONE: Interfaces = { ...LO, eth0: [iface('10.0.0.5'), iface('fe80::1')] };
const TWO: Interfaces = { ...LO, eth0: [iface('10.0.0.5')], eth1: [iface('192.168.1.7')] };
const V6_ONLY: Interfaces = { ...LO, eth0: [iface('2001:db8::5'), iface('fe80::1')] };
const LINK_LOCAL_ONLY: Interfaces = { ...LO, eth0: [iface('169.254.3.4')] };

function input(over: { http?: Partial<AdvertiseInput['http']>; media?: Partial<AdvertiseInput['media']>; relay?: Partial<AdvertiseInput['relay']> } = {}): AdvertiseInput {
  return {
    http: { host: '127.0.0.1', publicWsUrl: '', ...over.http },
    media: { listenIp: '127.0.0.1', announcedAddress: '', ...over.media },
    relay: { host: '127.0.0.1', publicAddress: '', mediaAddress: '', ...over.relay },
  };
}
const ALL_WILD = { http: { host: '0.0.0.0' }, media: { listenIp: '0.0.0.0' }, relay: { host: '0.0.0.0' } };

describe('advertisedAddresses', () => {
  const rows: { name: string; in: AdvertiseInput; ifaces: Interfaces; want?: Partial<ReturnType<typeof advertisedAddresses>>; wantErrKey?: string }[] = [
    {
      name: 'keeps a loopback node on loopback (the local default)',
      in: input(),
      ifaces: TWO,
      want: { httpHost: '127.0.0.1', relayHost: '127.0.0.1', announcedAddress: '', pipeAddress: '127.0.0.1' },
    },
    {
      name: 'advertises the one reachable address for every wildcard listener',
      in: input(ALL_WILD),
      ifaces: ONE,
      want: { httpHost: '10.0.0.5', relayHost: '10.0.0.5', announcedAddress: '10.0.0.5', pipeAddress: '10.0.0.5', derived: { address: '10.0.0.5', interface: 'eth0', keys: ['media.announcedAddress', 'relay.publicAddress', 'http.publicWsUrl'] } },
    },
    {
      name: 'refuses a wildcard on a host with two addresses, naming every missing key',
      in: input(ALL_WILD),
      ifaces: TWO,
      wantErrKey: 'media.announcedAddress, relay.publicAddress, http.publicWsUrl',
    },
    {
      name: 'refuses a wildcard on a host with only loopback',
      in: input({ http: { host: '0.0.0.0' } }),
      ifaces: LO,
      wantErrKey: 'http.publicWsUrl',
    },
    {
      name: 'refuses a wildcard when the only other address is link-local',
      in: input({ relay: { host: '0.0.0.0' } }),
      ifaces: LINK_LOCAL_ONLY,
      wantErrKey: 'relay.publicAddress',
    },
    {
      name: 'needs nothing derived when every wildcard has its public address',
      in: input({ ...ALL_WILD, http: { host: '0.0.0.0', publicWsUrl: 'wss://eu.example.org/ws' }, media: { listenIp: '0.0.0.0', announcedAddress: '203.0.113.7' }, relay: { host: '0.0.0.0', publicAddress: '203.0.113.7:50051' } }),
      ifaces: TWO,
      want: { announcedAddress: '203.0.113.7', pipeAddress: '203.0.113.7', derived: undefined },
    },
    {
      name: 'asks only for the key still missing',
      in: input({ ...ALL_WILD, media: { listenIp: '0.0.0.0', announcedAddress: '203.0.113.7' }, relay: { host: '0.0.0.0', publicAddress: '203.0.113.7:50051' } }),
      ifaces: TWO,
      wantErrKey: 'http.publicWsUrl',
    },
    {
      name: 'pipes to relay.mediaAddress when set, ICE still on the announced address',
      in: input({ media: { listenIp: '0.0.0.0', announcedAddress: '203.0.113.7' }, relay: { mediaAddress: '10.1.0.5' } }),
      ifaces: TWO,
      want: { announcedAddress: '203.0.113.7', pipeAddress: '10.1.0.5' },
    },
    {
      name: 'a relay.mediaAddress alone does not give ICE candidates an address',
      in: input({ media: { listenIp: '0.0.0.0' }, relay: { mediaAddress: '10.1.0.5' } }),
      ifaces: TWO,
      wantErrKey: 'media.announcedAddress',
    },
    {
      name: 'a specific listen address is advertised as is',
      in: input({ http: { host: '10.0.0.5' }, media: { listenIp: '10.0.0.5' }, relay: { host: '10.0.0.5' } }),
      ifaces: TWO,
      want: { httpHost: '10.0.0.5', relayHost: '10.0.0.5', announcedAddress: '', pipeAddress: '10.0.0.5' },
    },
    {
      name: 'an IPv6 wildcard on an IPv6-only host advertises its global address',
      in: input({ http: { host: '::' } }),
      ifaces: V6_ONLY,
      want: { httpHost: '2001:db8::5' },
    },
    {
      name: 'refuses a wildcard as the announced address',
      in: input({ media: { listenIp: '0.0.0.0', announcedAddress: '0.0.0.0' } }),
      ifaces: ONE,
      wantErrKey: 'media.announcedAddress',
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      if (r.wantErrKey) {
        assert.throws(
          () => advertisedAddresses(r.in, r.ifaces),
          (err: unknown) => err instanceof ConfigError && err.key === r.wantErrKey && !err.message.includes('\n') && !err.message.includes('127.0.0.1'),
        );
        return;
      }
      const got = advertisedAddresses(r.in, r.ifaces);
      for (const [k, v] of Object.entries(r.want!)) assert.deepEqual(got[k as keyof typeof got], v, k);
      // What is used: a host only where no public address replaces it.
      const used = [got.announcedAddress, got.pipeAddress, r.in.http.publicWsUrl ? '' : got.httpHost, r.in.relay.publicAddress ? '' : got.relayHost];
      for (const v of used) assert.ok(!isWildcard(v), `no wildcard advertised (${v})`);
    });
  }
});

describe('URLs people open', () => {
  it('turns a node WebSocket URL into its page', () => {
    assert.equal(pageUrlFor('wss://eu.example.org/ws'), 'https://eu.example.org/?room=demo&name=you');
    assert.equal(pageUrlFor('ws://10.0.0.5:8080/ws'), 'http://10.0.0.5:8080/?room=demo&name=you');
    assert.equal(pageUrlFor('wss://[2001:db8::5]:8443/ws'), 'https://[2001:db8::5]:8443/?room=demo&name=you');
  });
  it('shows a wildcard front as the host address, https with TLS', () => {
    assert.equal(frontUrl('0.0.0.0', 8080, true, ONE, 'box'), 'https://10.0.0.5:8080/?room=demo&name=you');
    assert.equal(frontUrl('0.0.0.0', 8080, false, TWO, 'box'), 'http://box:8080/?room=demo&name=you');
    assert.equal(frontUrl('127.0.0.1', 8080, false, TWO, 'box'), 'http://127.0.0.1:8080/?room=demo&name=you');
  });
  it('knows the wildcards', () => {
    for (const w of ['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']) assert.ok(isWildcard(w), w);
    for (const h of ['127.0.0.1', '::1', '10.0.0.5', 'example.org']) assert.ok(!isWildcard(h), h);
  });
});
