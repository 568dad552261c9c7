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
    help: 'Round-trip time of the relay path to each remote node (ms, the least over its rooms\' links, each the min of its last 10 s of pings)',
    labelNames: ['remote_node'],
    registers: [registry],
    async collect() {
      this.reset();
      const best = new Map<string, number>();
      for (const r of await links()) for (const l of r.links) if (l.state === 'up' && l.rttMs > 0) best.set(l.remoteNode, Math.min(best.get(l.remoteNode) ?? Infinity, l.rttMs));
      for (const [remote, ms] of best) this.set({ remote_node: remote }, ms);
    },
  });
  // Per remote node, never per room (a client names its room: an unbounded label set), and only
  // growing: a link's counters start over when it is remade (and pipes that close take theirs
  // with them), so each scrape adds what every link carried since the last one.
  const carried = new RelayTotals();
  for (const [name, help, unit] of [
    ['octomesh_relay_bytes_total', 'RTP bytes through the relay pipes to and from each remote node', 'bytes'],
    ['octomesh_relay_packets_total', 'RTP packets through the relay pipes to and from each remote node', 'packets'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['remote_node', 'direction'],
      registers: [registry],
      async collect() {
        const totals = carried.update(await links());
        this.reset();
        for (const [remote, t] of totals) {
          this.inc({ remote_node: remote, direction: 'in' }, unit === 'bytes' ? t.bytesIn : t.packetsIn);
          this.inc({ remote_node: remote, direction: 'out' }, unit === 'bytes' ? t.bytesOut : t.packetsOut);
        }
      },
    });
  }
}

type Totals = { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number };
const KEYS = ['bytesIn', 'bytesOut', 'packetsIn', 'packetsOut'] as const;

/**
 * Relay traffic per remote node as totals that only grow, from link counters that start over:
 * what a link read last time is remembered per (room, remote node); a reading below it means the
 * link was remade, and counts from zero. What a link or pipe carried after the last reading and
 * before it closed is not seen (at most one scrape interval's worth).
 */
export class RelayTotals {
  readonly #last = new Map<string, Totals>();
  readonly #totals = new Map<string, Totals>();

  update(rooms: readonly { room: string; links: readonly (LinkStats | (Totals & { remoteNode: string }))[] }[]): ReadonlyMap<string, Totals> {
    const seen = new Set<string>();
    for (const r of rooms) {
      for (const l of r.links) {
        const key = `${r.room}\u0000${l.remoteNode}`;
        seen.add(key);
        const last = this.#last.get(key);
        const total = this.#totals.get(l.remoteNode) ?? { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
        for (const k of KEYS) total[k] += last && l[k] >= last[k] ? l[k] - last[k] : l[k];
        this.#totals.set(l.remoteNode, total);
        this.#last.set(key, { bytesIn: l.bytesIn, bytesOut: l.bytesOut, packetsIn: l.packetsIn, packetsOut: l.packetsOut });
      }
    }
    for (const key of this.#last.keys()) if (!seen.has(key)) this.#last.delete(key);
    return this.#totals;
  }
}
