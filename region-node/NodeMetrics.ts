import { Counter, Gauge, type Registry } from 'prom-client';
import type { LinkStats } from '../relay/Link.js';

/** What the metrics read from a node at scrape time (nothing is counted on the hot path). */
export interface MetricsSource {
  counts(): { rooms: number; peers: number; producers: number; consumers: number };
  transferTotals(): Promise<{ bytesIn: number; bytesOut: number }>;
  workerUsage(): Promise<{ index: number; userSec: number; systemSec: number }[]>;
  linkStats(): Promise<{ room: string; links: LinkStats[] }[]>;
}

export function registerNodeMetrics(registry: Registry, source: MetricsSource): void {
  const gauge = (name: string, help: string, key: 'rooms' | 'peers' | 'producers' | 'consumers'): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(source.counts()[key]);
      },
    });
  };
  gauge('octomesh_rooms', 'Rooms open on this node', 'rooms');
  gauge('octomesh_peers', 'Peers connected to this node', 'peers');
  gauge('octomesh_producers', 'Producers on this node', 'producers');
  gauge('octomesh_consumers', 'Consumers on this node', 'consumers');

  new Counter({
    name: 'octomesh_media_bytes_total',
    help: 'Media bytes through WebRTC transports (in: received from browsers, out: sent to them)',
    labelNames: ['direction'],
    registers: [registry],
    async collect() {
      const t = await source.transferTotals();
      this.reset();
      this.inc({ direction: 'in' }, t.bytesIn);
      this.inc({ direction: 'out' }, t.bytesOut);
    },
  });

  new Counter({
    name: 'octomesh_worker_cpu_seconds_total',
    help: 'CPU time used by each mediasoup worker process',
    labelNames: ['worker', 'mode'],
    registers: [registry],
    async collect() {
      const usage = await source.workerUsage();
      this.reset();
      for (const u of usage) {
        this.inc({ worker: String(u.index), mode: 'user' }, u.userSec);
        this.inc({ worker: String(u.index), mode: 'system' }, u.systemSec);
      }
    },
  });

  // One scrape reads the links once, for all the relay metrics.
  let pending: Promise<{ room: string; links: LinkStats[] }[]> | undefined;
  const links = (): Promise<{ room: string; links: LinkStats[] }[]> => {
    pending ??= source.linkStats().finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  new Gauge({
    name: 'octomesh_relay_links',
    help: 'Relay links (room x remote node) that are up',
    registers: [registry],
    async collect() {
      this.set((await links()).reduce((n, r) => n + r.links.filter((l) => l.state === 'up').length, 0));
    },
  });
  new Gauge({
    name: 'octomesh_relay_piped_producers',
    help: 'Producers crossing relay links (in: piped here from other nodes, out: piped from here)',
    labelNames: ['direction'],
    registers: [registry],
    async collect() {
      let pin = 0;
      let pout = 0;
      for (const r of await links()) for (const l of r.links) {
        pin += l.incomingPipes;
        pout += l.outgoingPipes;
      }
      this.set({ direction: 'in' }, pin);
      this.set({ direction: 'out' }, pout);
    },
  });
  new Gauge({
    name: 'octomesh_relay_link_rtt_ms',
    help: 'Round-trip time of each relay link path (ms, min of the last 10 s of pings; 0 until measured)',
    labelNames: ['room', 'remote_node'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await links()) for (const l of r.links) if (l.state === 'up') this.set({ room: r.room, remote_node: l.remoteNode }, l.rttMs);
    },
  });
  for (const [name, help, unit] of [
    ['octomesh_relay_link_bytes', 'RTP bytes through each relay link (live pipes; closed pipes folded in)', 'bytes'],
    ['octomesh_relay_link_packets', 'RTP packets through each relay link (live pipes; closed pipes folded in)', 'packets'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['room', 'remote_node', 'direction'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await links()) for (const l of r.links) {
          this.set({ room: r.room, remote_node: l.remoteNode, direction: 'in' }, unit === 'bytes' ? l.bytesIn : l.packetsIn);
          this.set({ room: r.room, remote_node: l.remoteNode, direction: 'out' }, unit === 'bytes' ? l.bytesOut : l.packetsOut);
        }
      },
    });
  }
}
