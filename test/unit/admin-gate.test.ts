import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminClientIsLocal } from '../../geo-router/AdminRoutes.js';
import { LOOPBACK_CIDRS, TrustedProxies } from '../../geo-router/ClientAddress.js';

// Admin routes (POST/DELETE/GET /admin/regions) are open to a client on this host. "On this
// host" is decided from the client routing sees, not from the socket: behind nginx or Caddy on
// the same host every socket peer is 127.0.0.1.

describe('who counts as a local admin client', () => {
  const loopbackOnly = new TrustedProxies(LOOPBACK_CIDRS);
  const lanProxy = new TrustedProxies([...LOOPBACK_CIDRS, '10.1.0.0/16']);
  const rows: { name: string; socket: string; xff?: string; forwarded?: string; realIp?: string; trusted?: TrustedProxies; want: boolean }[] = [
    { name: 'a direct loopback caller', socket: '127.0.0.1', want: true },
    { name: 'a direct IPv6 loopback caller', socket: '::1', want: true },
    { name: 'a dual-stack socket\'s mapped loopback', socket: '::ffff:127.0.0.1', want: true },
    { name: 'a direct caller from another host', socket: '203.0.113.9', want: false },
    { name: 'an Internet client through a proxy on this host', socket: '127.0.0.1', xff: '8.8.8.8', want: false },
    { name: 'an Internet client after a client-written loopback entry', socket: '127.0.0.1', xff: '127.0.0.1, 8.8.8.8', want: false },
    { name: 'a browser on this host through a proxy on this host', socket: '127.0.0.1', xff: '127.0.0.1', want: true },
    { name: 'a forwarded header it cannot read (garbage)', socket: '127.0.0.1', xff: 'unknown', want: false },
    { name: 'a proxy that says Forwarded but not X-Forwarded-For', socket: '127.0.0.1', forwarded: 'for=8.8.8.8', want: false },
    { name: 'a proxy that says X-Real-IP but not X-Forwarded-For', socket: '127.0.0.1', realIp: '8.8.8.8', want: false },
    { name: 'a caller from another host writing loopback into X-Forwarded-For', socket: '203.0.113.9', xff: '127.0.0.1', want: false },
    { name: 'a trusted LAN proxy forwarding an Internet client', socket: '10.1.2.3', xff: '8.8.8.8', trusted: lanProxy, want: false },
    { name: 'a trusted LAN proxy forwarding a client on this host', socket: '10.1.2.3', xff: '127.0.0.1', trusted: lanProxy, want: true },
    { name: 'a trusted LAN proxy itself is not this host', socket: '10.1.2.3', trusted: lanProxy, want: false },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.equal(adminClientIsLocal(r.socket, { forwardedFor: r.xff, forwarded: r.forwarded, realIp: r.realIp }, r.trusted ?? loopbackOnly), r.want);
    });
  }
});
