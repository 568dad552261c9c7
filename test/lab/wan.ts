import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildEach, sh, type NetLab } from './netlab.js';

// The WAN: one wan.py forwarder per pair of hosts, on a TUN device in each, with a /32 route to
// the other host through it. Region paths carry relay gRPC and pipe media between nodes; access
// paths carry a browser's traffic to the regions other than its own (RTT probes, and its call
// after a failover). A browser reaches its own region's node and the front over the bridge.

/** wan.py sits beside this file's source (tsc does not copy it into dist). */
export const WAN_PY = fileURLToPath(new URL('../../../test/lab/wan.py', import.meta.url));

export interface PathSpec {
  a: string;
  b: string;
  /** One-way delay and jitter (uniform ±), ms. */
  delayMs: number;
  jitterMs: number;
  /** region: between two region nodes (the conditions' loss applies); access: a browser to a far region. */
  kind: 'region' | 'access';
}

export interface MeasuredRtt {
  a: string;
  b: string;
  minMs: number | null;
  avgMs: number | null;
  maxMs: number | null;
  received: string;
}

interface Path extends PathSpec {
  proc: ChildProcess;
  lines: AsyncIterableIterator<string>;
}

/** A TUN name per peer host: "wan-" and the host's first letters (IFNAMSIZ is 16). */
const tunName = (peer: string): string => `wan-${peer}`.slice(0, 15);

export const pathKey = (a: string, b: string): string => [a, b].sort().join('~');

export class Wan {
  readonly #lab: NetLab;
  readonly #paths = new Map<string, Path>();

  private constructor(lab: NetLab) {
    this.#lab = lab;
  }

  static async build(lab: NetLab, specs: readonly PathSpec[]): Promise<Wan> {
    const wan = new Wan(lab);
    return buildEach(wan, specs, (spec) => wan.#addPath(spec));
  }

  async #addPath(spec: PathSpec): Promise<void> {
    const A = this.#lab.host(spec.a);
    const B = this.#lab.host(spec.b);
    const proc = spawn('python3', [WAN_PY, 'link', String(A.pid), tunName(B.name), String(B.pid), tunName(A.name), String(spec.delayMs), String(spec.jitterMs)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    this.#paths.set(pathKey(spec.a, spec.b), { ...spec, proc, lines });
    const first = await Promise.race([lines.next(), new Promise<{ value: string }>((r) => setTimeout(() => r({ value: 'timeout' }), 10_000))]);
    if (first.value !== 'ready') throw new Error(`lab: WAN forwarder ${spec.a}~${spec.b} did not start (${String(first.value)})`);
    for (const [from, to] of [[A, B], [B, A]] as const) {
      const dev = tunName(to.name);
      await this.#lab.run(from.name, 'sh', ['-c', [
        `ip link set ${dev} up`,
        `sysctl -qw net.ipv4.conf.${dev}.rp_filter=0`,
        `ip route add ${to.address}/32 dev ${dev} src ${from.address}`,
      ].join(' && ')]);
    }
  }

  get paths(): PathSpec[] {
    return [...this.#paths.values()].map(({ a, b, delayMs, jitterMs, kind }) => ({ a, b, delayMs, jitterMs, kind }));
  }

  #send(path: Path, line: string): void {
    path.proc.stdin!.write(`${line}\n`);
  }

  #path(a: string, b: string): Path {
    const p = this.#paths.get(pathKey(a, b));
    if (!p) throw new TypeError(`lab: no WAN path ${a}~${b}`);
    return p;
  }

  /** Random loss rate (0..1) on every inter-region path, both directions (access paths keep none). */
  setLoss(rate: number): void {
    for (const p of this.#paths.values()) if (p.kind === 'region') this.#send(p, `loss ${rate}`);
  }

  /** Drops everything on one path for `seconds`. */
  blackhole(a: string, b: string, seconds: number): void {
    this.#send(this.#path(a, b), `blackhole ${seconds}`);
  }

  /** Every path touching `host` down (true) or back up. */
  setHostPathsDown(host: string, down: boolean): void {
    for (const p of this.#paths.values()) if (p.a === host || p.b === host) this.#send(p, down ? 'down' : 'up');
  }

  /** ICMP round trips between the two hosts of each path, through the forwarders. */
  async pingAll(count = 5): Promise<MeasuredRtt[]> {
    return Promise.all([...this.#paths.values()].map(async (p): Promise<MeasuredRtt> => {
      const line = (await sh('python3', [WAN_PY, 'ping', String(this.#lab.host(p.a).pid), this.#lab.host(p.b).address, String(count)])).trim();
      const [, min, avg, max, received] = line.split(' ');
      const num = (s: string | undefined): number | null => (s && s !== '-' ? Number(s) : null);
      return { a: p.a, b: p.b, minMs: num(min), avgMs: num(avg), maxMs: num(max), received: received ?? '?' };
    }));
  }

  /** Ends the forwarders (their TUN devices and routes go with them). Idempotent. */
  close(): void {
    for (const p of this.#paths.values()) {
      p.proc.stdin?.end();
      if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
    this.#paths.clear();
  }
}
