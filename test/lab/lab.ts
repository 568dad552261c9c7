import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeUser, launchUser, type LabUser } from './browsers.js';
import { makeLabCerts } from './certs.js';
import { installStampCamera } from './measure/glassToGlass.js';
import { writeMmdb } from './mmdb.js';
import { NetLab, SUBNET, type HostSpec } from './netlab.js';
import { emptyFigures, printResults, type LabResults } from './results.js';
import { runScenario } from './scenario.js';
import { LabServices, type RegionSite } from './services.js';
import { Wan, type PathSpec } from './wan.js';

// The lab: hosts, WAN, servers and browsers, then the scenario (scenario.ts), then the report.
// Runs inside the namespaces cli.ts made.

export const HOSTS: readonly HostSpec[] = [
  { name: 'front', address: `${SUBNET}.2` },
  { name: 'eu-west', address: `${SUBNET}.11` },
  { name: 'us-east', address: `${SUBNET}.12` },
  { name: 'ap-northeast', address: `${SUBNET}.13` },
  { name: 'client-eu', address: `${SUBNET}.21` },
  { name: 'client-us', address: `${SUBNET}.22` },
  { name: 'client-ap', address: `${SUBNET}.23` },
];

/** Region sites (the local cluster's) and the city each region's clients are placed in by GeoIP. */
const SITES: readonly (RegionSite & { client: string; user: string; city: { city: string; country_code: string; latitude: number; longitude: number } })[] = [
  { region: 'eu-west', host: 'eu-west', latitude: 51.51, longitude: -0.13, client: 'client-eu', user: 'user-eu', city: { city: 'London', country_code: 'GB', latitude: 51.5074, longitude: -0.1278 } },
  { region: 'us-east', host: 'us-east', latitude: 38.9, longitude: -77.04, client: 'client-us', user: 'user-us', city: { city: 'Ashburn', country_code: 'US', latitude: 39.0438, longitude: -77.4874 } },
  { region: 'ap-northeast', host: 'ap-northeast', latitude: 35.68, longitude: 139.69, client: 'client-ap', user: 'user-ap', city: { city: 'Tokyo', country_code: 'JP', latitude: 35.6895, longitude: 139.6917 } },
];

const REGION_DELAYS: readonly { a: string; b: string; delayMs: number }[] = [
  { a: 'eu-west', b: 'us-east', delayMs: 40 },
  { a: 'eu-west', b: 'ap-northeast', delayMs: 110 },
  { a: 'us-east', b: 'ap-northeast', delayMs: 75 },
];

/**
 * Region to region, and each browser to the two regions that are not its own at the same delay
 * (it sits beside its own region's node). Without access paths every node is as near as any
 * other to every browser, and the page's RTT probe of the alternatives picks by noise: a loaded
 * run sent user-ap to eu-west "by rtt", so nothing it measured crossed the WAN.
 */
export const PATHS: readonly PathSpec[] = [
  ...REGION_DELAYS.map((d) => ({ ...d, jitterMs: 5, kind: 'region' as const })),
  ...SITES.flatMap((s) =>
    REGION_DELAYS.filter((d) => d.a === s.host || d.b === s.host).map((d) => ({ a: s.client, b: d.a === s.host ? d.b : d.a, delayMs: d.delayMs, jitterMs: 5, kind: 'access' as const })),
  ),
];

export const RESULTS_FILE = fileURLToPath(new URL('../../../test/lab/results/latest.json', import.meta.url));

const log = (line: string): void => void process.stdout.write(`${line}\n`);

export async function runLab(opts: { quick: boolean }): Promise<number> {
  // Process 1 of a PID namespace ignores signals it has no handler for: without these, Ctrl-C
  // would not stop the lab.
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`lab: ${sig}, stopping`);
    process.exit(130);
  });

  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'octomesh-lab-'));
  const logDir = join(work, 'logs');
  await mkdir(logDir);
  let lab: NetLab | undefined;
  let wan: Wan | undefined;
  let services: LabServices | undefined;
  const users: LabUser[] = [];
  try {
    log(`lab: ${opts.quick ? 'quick' : 'full'} run; logs in ${logDir}`);
    lab = await NetLab.build(HOSTS);
    wan = await Wan.build(lab, PATHS);
    const rtts = await wan.pingAll(5);
    for (const r of rtts) {
      const want = 2 * PATHS.find((p) => p.a === r.a && p.b === r.b)!.delayMs;
      log(`lab: ping ${r.a} → ${r.b}: rtt min/avg/max ${r.minMs}/${r.avgMs}/${r.maxMs} ms (${r.received} answered; emulated ${want} ms)`);
    }

    const mmdb = join(work, 'lab-geoip.mmdb');
    await writeFile(mmdb, writeMmdb(SITES.map((s) => ({ address: lab!.host(s.client).address, prefix: 32, record: s.city }))));
    const certs = await makeLabCerts(work, ['front', ...SITES.map((s) => s.host)].map((h) => lab!.host(h).address));
    services = new LabServices({ lab, logDir, front: 'front', mmdb, sites: SITES, certs });
    await services.startFront();
    for (const s of SITES) services.startNode(s.region);
    await services.waitRouted(SITES.map((s) => s.region), 60_000);
    const origin = services.origin;
    log(`lab: geo-router at ${origin} routes to ${SITES.map((s) => s.region).join(', ')}`);

    for (const s of SITES) {
      const user = await launchUser({ lab, host: s.client, name: s.user, workDir: work, spki: certs.spki });
      users.push(user);
      // The eu-west user's camera is a canvas carrying its clock: the glass-to-glass probe.
      if (s.user === 'user-eu') await installStampCamera(user.page);
    }
    // OCTOMESH_LAB_RELAY_JITTER=0: the pages keep the browser's own jitter buffer for relayed
    // media (no waiting for repairs across the relay), to compare with the default.
    const relayJitter = process.env.OCTOMESH_LAB_RELAY_JITTER !== '0';
    const rounds = process.env.OCTOMESH_LAB_RELAY_JITTER_ROUNDS;
    const jitterParam = !relayJitter ? '&relayJitter=0' : rounds ? `&relayJitterRounds=${encodeURIComponent(rounds)}` : '';
    const results: LabResults = {
      quick: opts.quick,
      startedAt: new Date(started).toISOString(),
      figures: emptyFigures(),
      hosts: lab.hosts.map((h) => ({ name: h.name, address: h.address })),
      rtts,
      conditions: [],
      notes: jitterParam ? [`pages opened with ${jitterParam.slice(1)} (OCTOMESH_LAB_RELAY_JITTER*)`] : [],
    };
    await runScenario({
      lab, wan, services, users, results, log,
      url: (user) => `${origin}/?room=lab&name=${encodeURIComponent(user)}${jitterParam}`,
      sites: SITES,
      windowMs: opts.quick ? 20_000 : 60_000,
    });
    const busy = results.conditions.filter((c) => c.cpuBusyPct >= 90);
    if (busy.length) results.notes.push(`the machine's CPUs were ≥ 90 % busy in ${busy.map((c) => `${c.name} (${c.cpuBusyPct} %, load ${c.load1})`).join(', ')}: freezes and delays there include CPU starvation of the browsers and nodes, not only the network`);
    results.durationS = Math.round((Date.now() - started) / 1000);
    await printResults(results, RESULTS_FILE, log);
    return 0;
  } catch (err) {
    process.stderr.write(`lab: could not run: ${(err as Error).message}\n`);
    process.stderr.write(`lab: logs in ${logDir}\n`);
    return 1;
  } finally {
    await Promise.all(users.map((u) => closeUser(u)));
    services?.close();
    wan?.close();
    lab?.close();
  }
}
