import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELAY_SERVER_NAME, type LabCerts } from './certs.js';
import type { NetLab } from './netlab.js';

// What runs on the lab's server hosts, started as production starts it: the fake Consul agent
// and `octomesh geo-router` on the front, `octomesh region-node` on each region host with its
// own announced address, every node on the same ports (separate machines would be).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OCTOMESH = join(ROOT, 'bin/octomesh.js');
const CONSUL_HOST = fileURLToPath(new URL('./consulHost.js', import.meta.url));

export const PORTS = { http: 8080, relay: 50051, rtc: 40000, consul: 8500 } as const;

export interface RegionSite {
  region: string;
  host: string;
  latitude: number;
  longitude: number;
}

interface Running {
  proc: ChildProcess;
  log: WriteStream;
}

export class LabServices {
  readonly #lab: NetLab;
  readonly #logDir: string;
  readonly #front: string;
  readonly #mmdb: string;
  readonly #sites: Map<string, RegionSite>;
  readonly #procs = new Map<string, Running>();
  readonly #certs: LabCerts;
  readonly #env: Record<string, string>;

  constructor(opts: { lab: NetLab; logDir: string; front: string; mmdb: string; sites: readonly RegionSite[]; certs: LabCerts }) {
    this.#lab = opts.lab;
    this.#logDir = opts.logDir;
    this.#front = opts.front;
    this.#mmdb = opts.mmdb;
    this.#sites = new Map(opts.sites.map((s) => [s.region, s]));
    this.#certs = opts.certs;
    // HTTPS/WSS on the front and every node, mutual TLS on the relay: all from the lab CA.
    this.#env = {
      OCTOMESH_TLS_CERT: opts.certs.certFile,
      OCTOMESH_TLS_KEY: opts.certs.keyFile,
    };
  }

  get frontAddress(): string {
    return this.#lab.host(this.#front).address;
  }

  #consulUrl(): string {
    return `http://${this.frontAddress}:${PORTS.consul}`;
  }

  #start(key: string, host: string, args: string[], env: Record<string, string>): ChildProcess {
    const log = createWriteStream(join(this.#logDir, `${key}.log`), { flags: 'a' });
    const proc = this.#lab.spawn(host, process.execPath, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...this.#env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    this.#procs.set(key, { proc, log });
    return proc;
  }

  async startFront(): Promise<void> {
    const consul = this.#start('consul', this.#front, [CONSUL_HOST, this.frontAddress, String(PORTS.consul)], {});
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('lab: the fake Consul agent did not start in 15 s')), 15_000);
      consul.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      consul.once('exit', (code) => reject(new Error(`lab: the fake Consul agent exited (${code})`)));
    });
    this.#start('geo-router', this.#front, [OCTOMESH, 'geo-router'], {
      OCTOMESH_HTTP_HOST: this.frontAddress,
      OCTOMESH_HTTP_PORT: String(PORTS.http),
      OCTOMESH_DISCOVERY: 'consul',
      OCTOMESH_CONSUL_ADDRESS: this.#consulUrl(),
      OCTOMESH_GEOIP_FILES: this.#mmdb,
      OCTOMESH_DEFAULT_REGION: 'eu-west',
      OCTOMESH_LOG_PRETTY: 'false',
    });
  }

  startNode(region: string): ChildProcess {
    const site = this.#sites.get(region);
    if (!site) throw new TypeError(`lab: no region ${region}`);
    const address = this.#lab.host(site.host).address;
    return this.#start(region, site.host, [OCTOMESH, 'region-node'], {
      OCTOMESH_REGION: region,
      OCTOMESH_NODE_ID: `${region}-1`,
      OCTOMESH_LATITUDE: String(site.latitude),
      OCTOMESH_LONGITUDE: String(site.longitude),
      OCTOMESH_HTTP_HOST: address,
      OCTOMESH_HTTP_PORT: String(PORTS.http),
      OCTOMESH_WORKERS: '1',
      OCTOMESH_RTC_PORT: String(PORTS.rtc),
      OCTOMESH_LISTEN_IP: address,
      OCTOMESH_ANNOUNCED_ADDRESS: address,
      OCTOMESH_RELAY_HOST: address,
      OCTOMESH_RELAY_PORT: String(PORTS.relay),
      OCTOMESH_RELAY_PUBLIC_ADDRESS: `${address}:${PORTS.relay}`,
      OCTOMESH_RELAY_MEDIA_ADDRESS: address,
      OCTOMESH_RELAY_SECRET: 'octomesh-lab-relay-secret',
      OCTOMESH_RELAY_TLS_CERT: this.#certs.certFile,
      OCTOMESH_RELAY_TLS_KEY: this.#certs.keyFile,
      OCTOMESH_RELAY_TLS_CA: this.#certs.caFile,
      OCTOMESH_RELAY_TLS_SERVER_NAME: RELAY_SERVER_NAME,
      OCTOMESH_DISCOVERY: 'consul',
      OCTOMESH_CONSUL_ADDRESS: this.#consulUrl(),
      OCTOMESH_LOG_PRETTY: 'false',
    });
  }

  /** SIGKILL, as a crashed machine: no deregistration, no goodbye to peers. */
  killNode(region: string): void {
    this.#procs.get(region)?.proc.kill('SIGKILL');
  }

  get origin(): string {
    return `https://${this.frontAddress}:${PORTS.http}`;
  }

  /** Regions whose node the geo-router lists (from its public /healthz), over HTTPS with the lab CA. */
  routedRegions(): Promise<string[]> {
    return new Promise((resolve) => {
      const req = get(`${this.origin}/healthz`, { ca: this.#certs.ca, timeout: 2000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(((JSON.parse(body) as { nodes?: { region: string }[] }).nodes ?? []).map((n) => n.region).sort());
          } catch {
            resolve([]);
          }
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve([]));
    });
  }

  /** Waits until the geo-router lists a node in every region given. */
  async waitRouted(regions: readonly string[], timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const seen = await this.routedRegions();
      if (regions.every((r) => seen.includes(r))) return;
      for (const [key, r] of this.#procs) if (r.proc.exitCode !== null && (key === 'geo-router' || regions.includes(key))) throw new Error(`lab: ${key} exited (${r.proc.exitCode}); see ${join(this.#logDir, `${key}.log`)}`);
      if (Date.now() > end) throw new Error(`lab: the geo-router lists ${seen.join(', ') || 'no region'} after ${timeoutMs / 1000} s, not ${regions.join(', ')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** SIGTERM everything still running, then SIGKILL. Idempotent. */
  close(): void {
    for (const { proc } of this.#procs.values()) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    this.#procs.clear();
  }
}
