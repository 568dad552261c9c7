import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from '../../core/wait.js';

// The lab's hosts. The lab runs as process 1 of its own network, PID and mount namespaces
// (cli.ts), so nothing here can reach or be reached from the machine's interfaces, and the
// kernel ends every process when the lab's process 1 exits. Inside: one bridge; each host is a
// network namespace held open by a `sleep` (no `ip netns`, so nothing is left in
// /var/run/netns), joined to the bridge by a veth pair and entered with `nsenter -t PID -n`.

const execFileP = promisify(execFile);

export const BRIDGE = 'br-lab';
/** The lab's /24; the bridge itself is .1 so process 1 can reach every host (browsers' CDP, probes). */
export const SUBNET = '10.77.0';
export const BRIDGE_ADDRESS = `${SUBNET}.1`;

export interface HostSpec {
  name: string;
  address: string;
}

export interface Host extends HostSpec {
  /** The `sleep` holding the host's network namespace. */
  pid: number;
  /** Bridge-side end of the host's veth pair (its egress is the host's downlink). */
  bridgePort: string;
}

/** Runs a command, rejecting with its stderr (commands here are short: ip, tc, sysctl). */
export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: 20_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * Builds `built` out of `specs`, one `add` at a time: what a failed add leaves behind is closed
 * with the rest (`close` must take a half-built object), and the error goes on.
 */
export async function buildEach<T extends { close(): void }, S>(built: T, specs: readonly S[], add: (spec: S) => Promise<void>): Promise<T> {
  try {
    for (const spec of specs) await add(spec);
  } catch (err) {
    built.close();
    throw err;
  }
  return built;
}

export class NetLab {
  readonly #hosts = new Map<string, Host>();
  readonly #holders: ChildProcess[] = [];

  /** Builds the bridge and one namespace per host. Needs root inside the lab's namespaces. */
  static async build(specs: readonly HostSpec[]): Promise<NetLab> {
    const lab = new NetLab();
    await sh('ip', ['link', 'set', 'lo', 'up']);
    await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', BRIDGE]);
    await sh('ip', ['link', 'set', BRIDGE, 'up']);
    return buildEach(lab, specs, (spec) => lab.#addHost(spec));
  }

  async #addHost(spec: HostSpec): Promise<void> {
    const holder = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
    this.#holders.push(holder);
    const pid = holder.pid;
    if (pid === undefined) throw new Error(`lab: cannot start the namespace holder of ${spec.name}`);
    // `unshare -n` execs sleep in the same pid once the namespace exists: wait until it has.
    const own = await sh('readlink', ['/proc/self/ns/net']);
    const ns = async (): Promise<string> => sh('readlink', [`/proc/${pid}/ns/net`]).catch(() => own);
    await eventually(async () => (await ns()) !== own, `lab: ${spec.name}'s namespace appears`, 5000);
    const bridgePort = `b-${spec.name}`.slice(0, 15);
    await sh('ip', ['link', 'add', bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
    await sh('ip', ['link', 'set', bridgePort, 'master', BRIDGE, 'up']);
    const host: Host = { ...spec, pid, bridgePort };
    this.#hosts.set(spec.name, host);
    await this.run(host.name, 'sh', ['-c', [
      'ip link set lo up',
      `ip addr add ${spec.address}/24 dev eth0`,
      'ip link set eth0 up',
      // Packets from the WAN's TUN devices arrive on another interface than the bridge's route.
      'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0',
    ].join(' && ')]);
  }

  host(name: string): Host {
    const h = this.#hosts.get(name);
    if (!h) throw new TypeError(`lab: no host ${name}`);
    return h;
  }

  get hosts(): Host[] {
    return [...this.#hosts.values()];
  }

  /** Runs a short command in a host's network namespace. */
  run(name: string, cmd: string, args: string[]): Promise<string> {
    return sh('nsenter', ['-t', String(this.host(name).pid), '-n', '--', cmd, ...args]);
  }

  /** Starts a long-running process in a host's network namespace (same mount and PID namespaces). */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('nsenter', ['-t', String(this.host(name).pid), '-n', '--', cmd, ...args], opts);
  }

  /** Cuts a host off the bridge (its processes keep running) or reconnects it. */
  async setLinked(name: string, linked: boolean): Promise<void> {
    await sh('ip', ['link', 'set', this.host(name).bridgePort, linked ? 'up' : 'down']);
  }

  /** Limits what reaches the host over the bridge (its downlink) with tbf; 0 removes the limit. */
  async limitDownlink(name: string, kbit: number): Promise<void> {
    const dev = this.host(name).bridgePort;
    await sh('tc', ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
    if (kbit > 0) await sh('tc', ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '12kb', 'latency', '150ms']);
  }

  /** Stops the namespace holders (process 1 exiting would end them anyway). Idempotent. */
  close(): void {
    for (const h of this.#holders) if (h.exitCode === null) h.kill('SIGKILL');
  }
}
