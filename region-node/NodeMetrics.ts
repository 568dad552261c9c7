import { Counter, Gauge, type Registry } from 'prom-client';

/** What the metrics read from a node at scrape time (nothing is counted on the hot path). */
export interface MetricsSource {
  counts(): { rooms: number; peers: number; producers: number; consumers: number };
  transferTotals(): Promise<{ bytesIn: number; bytesOut: number }>;
  workerUsage(): Promise<{ index: number; userSec: number; systemSec: number }[]>;
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
}
