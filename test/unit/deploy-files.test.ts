// Checks the deployment examples in deploy/ against the real configuration: they cannot be run
// here (no Docker engine, no kubectl, no systemd unit started), so at least they must parse,
// use only OCTOMESH_* names that exist, agree with themselves on ports and outlast the drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_CONFIG, ENV_KEYS, loadConfig } from '../../core/config.js';

// dist/test/unit -> repository root
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const DRAIN_SEC = 30;
const EXAMPLE_IP = '203.0.113.7';

type Obj = Record<string, unknown>;
type Env = Record<string, string>;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const read = (rel: string): string => readFileSync(path.join(DEPLOY, rel), 'utf8');

function yamlDocs(rel: string): Obj[] {
  const docs = parseAllDocuments(read(rel), { merge: true }); // Compose uses <<: merge keys
  for (const d of docs) assert.deepEqual(d.errors, [], `${rel}: YAML errors`);
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

/** Loads a config from an env the way a node would (validates names, types and ranges). */
function configFrom(env: Env): ReturnType<typeof loadConfig> {
  return loadConfig({ env });
}

function assertNodePorts(where: string, env: Env): { http: number; rtc: number; workers: number; relay: number } {
  const config = configFrom(env);
  const http = config.http.port;
  const relay = config.relay.port;
  if (!env.OCTOMESH_HTTP_PORT) assert.equal(http, DEFAULT_CONFIG.http.port);
  if (env.OCTOMESH_PUBLIC_WS_URL) assert.match(env.OCTOMESH_PUBLIC_WS_URL, new RegExp(`:${http}/ws$`), `${where}: ws URL port`);
  assertHttps(where, config);
  // An https page may only open wss://, and a browser checks the certificate's name: no IP.
  assert.match(env.OCTOMESH_PUBLIC_WS_URL ?? '', /^wss:\/\/[a-z$]/, `${where}: the public WebSocket URL is wss:// with a name`);
  if (env.OCTOMESH_RELAY_PUBLIC_ADDRESS) assert.ok(env.OCTOMESH_RELAY_PUBLIC_ADDRESS.endsWith(`:${relay}`), `${where}: relay address port`);
  assert.equal(config.http.host, '0.0.0.0', `${where}: HTTP must listen on all addresses`);
  assert.equal(config.media.listenIp, '0.0.0.0', `${where}: media must listen on all addresses`);
  assert.equal(config.discovery.backend, 'consul', `${where}: discovery`);
  assert.ok(config.media.announcedAddress, `${where}: announced address`);
  assert.ok(config.relay.secret, `${where}: relay secret`);
  assert.ok(config.media.workers > 0, `${where}: set OCTOMESH_WORKERS so the open port range is known`);
  return { http, rtc: config.media.rtcPort, workers: config.media.workers, relay };
}

/** The geo-router's env loads, reads Consul, and trusts only what it must; returns its port. */
function assertGeoRouter(where: string, env: Env): number {
  const config = configFrom(env);
  assert.equal(config.discovery.backend, 'consul', `${where}: the geo-router reads nodes from Consul`);
  assert.equal(config.http.host, '0.0.0.0', `${where}: HTTP must listen on all addresses`);
  assert.ok(!env.OCTOMESH_REGION && !env.OCTOMESH_RELAY_SECRET, `${where}: no region node settings`);
  assertHttps(where, config);
  return config.http.port;
}

/** Browsers get the camera only on an https page: every example serves HTTPS itself (http.tls). */
function assertHttps(where: string, config: ReturnType<typeof loadConfig>): void {
  assert.ok(config.http.tls.cert && config.http.tls.key, `${where}: http.tls.cert and http.tls.key (OCTOMESH_TLS_CERT/KEY)`);
  assert.equal(path.posix.dirname(config.http.tls.cert), path.posix.dirname(config.http.tls.key), `${where}: certificate and key in one folder (one mount, one watch)`);
}

/** The folder a file lives in is mounted into the container (Compose volume or Kubernetes volumeMount). */
function assertMounted(where: string, file: string, mounts: string[]): void {
  const dir = path.posix.dirname(file);
  assert.ok(mounts.includes(dir), `${where}: ${dir} mounted (mounts: ${mounts.join(', ')})`);
}

test('every OCTOMESH_* name used in deploy/ is a config key (or OCTOMESH_CONFIG)', () => {
  const files = walk(DEPLOY).filter((f) => !f.includes(`${path.sep}mediasoup${path.sep}`));
  assert.ok(files.length >= 10, 'deploy files found');
  const unknown: string[] = [];
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bOCTOMESH_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!(m[0] in ENV_KEYS) && m[0] !== 'OCTOMESH_CONFIG') unknown.push(`${path.relative(DEPLOY, f)}: ${m[0]}`);
    }
  }
  assert.deepEqual(unknown, []);
});

test('every YAML file parses', () => {
  const yamls = walk(DEPLOY).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(yamls.length >= 5);
  for (const f of yamls) assert.ok(yamlDocs(path.relative(DEPLOY, f)).length >= 1, f);
});

test('compose: region nodes agree with the config, probes hit /healthz, stop outlasts the drain', () => {
  const [compose] = yamlDocs('compose/docker-compose.yml');
  const services = compose!.services as Record<string, Obj>;
  const subst = (v: unknown): string =>
    String(v)
      .replace(/\$\{PUBLIC_IP[^}]*\}/g, EXAMPLE_IP)
      .replace(/\$\{DOMAIN[^}]*\}/g, 'octomesh.example.org')
      .replace(/\$\{RELAY_SECRET[^}]*\}/g, 'example-relay-secret')
      .replace(/\$\{TURN_SECRET[^}]*\}/g, 'example-turn-secret')
      .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  const nodes = Object.entries(services).filter(([, s]) => (s.environment as Obj | undefined)?.OCTOMESH_REGION);
  assert.deepEqual(nodes.map(([, s]) => (s.environment as Obj).OCTOMESH_REGION).sort(), ['eu-west', 'us-east']);
  const taken = new Map<string, string>();
  for (const [name, s] of nodes) {
    const env = Object.fromEntries(Object.entries(s.environment as Obj).map(([k, v]) => [k, subst(v)]));
    assert.equal(env.OCTOMESH_CONSUL_ADDRESS, 'http://127.0.0.1:8500');
    const p = assertNodePorts(name, env);
    assertTurn(name, env, EXAMPLE_IP);
    assert.equal(s.network_mode, 'host', `${name}: host network for media`);
    assert.equal(s.init, true, `${name}: init forwards SIGTERM to node only`);
    const health = (s.healthcheck as Obj).test as string[];
    assert.ok(health.join(' ').includes(`https://127.0.0.1:${p.http}/healthz`), `${name}: healthcheck on the HTTPS port`);
    assertMounted(name, env.OCTOMESH_TLS_CERT!, ((s.volumes as string[]) ?? []).map((v) => v.split(':')[1]!));
    const grace = /^(\d+)s$/.exec(String(s.stop_grace_period));
    assert.ok(grace && Number(grace[1]) > DRAIN_SEC, `${name}: stop_grace_period > ${DRAIN_SEC}s`);
    assert.equal(String((s.build as Obj).dockerfile), 'deploy/compose/Dockerfile');
    // Host network: the two nodes' ports must not collide.
    const ports = [`tcp/${p.http}`, `tcp/${p.relay}`];
    for (let i = 0; i < p.workers; i++) ports.push(`udp/${p.rtc + i}`, `tcp/${p.rtc + i}`);
    for (const port of ports) {
      assert.ok(!taken.has(port), `${name}: ${port} also used by ${taken.get(port)}`);
      taken.set(port, name);
    }
  }
  assert.ok(!taken.has('tcp/8500') && !taken.has('udp/3478'), 'no clash with Consul or TURN');
  const router = services['geo-router']!;
  const routerEnv = Object.fromEntries(Object.entries(router.environment as Obj).map(([k, v]) => [k, subst(v)]));
  const routerPort = assertGeoRouter('compose geo-router', routerEnv);
  assert.ok(!taken.has(`tcp/${routerPort}`), `geo-router: ${routerPort} also used by ${taken.get(`tcp/${routerPort}`)}`);
  assert.equal(routerEnv.OCTOMESH_CONSUL_ADDRESS, 'http://127.0.0.1:8500');
  assert.deepEqual(router.command, ['node', 'bin/octomesh.js', 'geo-router']);
  assert.equal(router.network_mode, 'host', 'geo-router: host network (sees the client address)');
  assert.ok(((router.healthcheck as Obj).test as string[]).join(' ').includes(`https://127.0.0.1:${routerPort}/healthz`));
  assertMounted('compose geo-router', routerEnv.OCTOMESH_TLS_CERT!, ((router.volumes as string[]) ?? []).map((v) => v.split(':')[1]!));
  const consul = services.consul!;
  assert.match(String(consul.image), /^hashicorp\/consul/);
  const args = (consul.command as string[]).join(' ');
  assert.match(args, /-server/);
  assert.match(args, /-bootstrap-expect=1/);
  assert.match(args, /-ui/);
  assert.doesNotMatch(args, /-dev/);
  const coturn = services.coturn!;
  assert.match(String(coturn.image), /^coturn\/coturn/);
  assert.ok((coturn.volumes as string[]).some((v) => v.startsWith('../coturn/turnserver.conf:')));

  const dockerfile = read('compose/Dockerfile');
  assert.match(dockerfile, /^FROM node:20-bookworm-slim$/m);
  for (const lib of ['libuv1', 'libssl3', 'libsrtp2-1', 'libabsl20220623']) assert.match(dockerfile, new RegExp(`\\b${lib}\\b`));
  assert.match(dockerfile, /npm ci && npm run build/);
  assert.match(dockerfile, /^CMD \["node", "bin\/octomesh\.js", "region-node"\]$/m);
});

test('the image and CI install every Debian package the worker build needs', () => {
  // Both install the build packages in one apt run before `npm ci`; a package left out there is
  // apt-installed again by the postinstall (slower) or, without apt access, makes the build fall
  // back (dpkg-dev: no libsrtp2 over OpenSSL) or fail.
  const wanted = /^APT_PKGS="([^"]+)"$/m.exec(read('mediasoup/build-mediasoup-worker.sh'))![1]!.split(' ');
  assert.ok(wanted.includes('dpkg-dev'));
  const ci = /^PKGS="([^"]+)"$/m.exec(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'))![1]!.split(' ');
  const dockerfile = read('compose/Dockerfile');
  for (const p of wanted) {
    assert.ok(ci.includes(p), `.ci/run installs ${p}`);
    assert.match(dockerfile, new RegExp(`\\s${p.replace(/[+.]/g, '\\$&')}\\s`), `Dockerfile installs ${p}`);
  }
});

test('kubernetes: ConfigMap + DaemonSets agree with the config, probes and grace period', () => {
  const docs = ['namespace.yaml', 'configmap.yaml', 'secret.yaml', 'region-nodes.yaml'].flatMap((f) => yamlDocs(`kubernetes/${f}`));
  const byKind = (kind: string): Obj[] => docs.filter((d) => d.kind === kind);
  assert.equal(byKind('Namespace').length, 1);
  for (const d of docs) if (d.kind !== 'Namespace') assert.equal((d.metadata as Obj).namespace, 'octomesh');
  const cm = byKind('ConfigMap')[0]!.data as Env;
  const secret = byKind('Secret')[0]!.stringData as Env;
  assert.deepEqual(Object.keys(secret).sort(), ['OCTOMESH_JWT_SECRET', 'OCTOMESH_RELAY_SECRET', 'OCTOMESH_TURN_SECRET']);
  const sets = byKind('DaemonSet');
  assert.equal(sets.length, 2);
  for (const ds of sets) {
    const name = String((ds.metadata as Obj).name);
    const pod = ((ds.spec as Obj).template as Obj).spec as Obj;
    assert.equal(pod.hostNetwork, true, `${name}: hostNetwork`);
    const c = (pod.containers as Obj[])[0]!;
    const envList = c.env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
    const env: Env = { ...cm, ...secret };
    for (const e of envList) {
      let v = e.value;
      if (e.valueFrom) v = e.valueFrom.fieldRef.fieldPath === 'status.hostIP' ? EXAMPLE_IP : 'node-1';
      env[e.name] = v!.replace(/\$\(([A-Z_]+)\)/g, (_, n: string) => env[n] ?? assert.fail(`${name}: $(${n}) not defined earlier`));
    }
    assert.equal(envList.find((e) => e.name === 'OCTOMESH_ANNOUNCED_ADDRESS')?.valueFrom?.fieldRef.fieldPath, 'status.hostIP');
    const nodeEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OCTOMESH_')));
    const p = assertNodePorts(name, nodeEnv);
    assertTurn(name, nodeEnv, 'turn.example.org');
    assert.equal(env.OCTOMESH_CONSUL_ADDRESS, `http://${EXAMPLE_IP}:8500`);
    const ports = c.ports as { name: string; containerPort: number; protocol: string }[];
    const portOf = (n: string | number): number => (typeof n === 'number' ? n : ports.find((x) => x.name === n)!.containerPort);
    assert.equal(portOf('http'), p.http, `${name}: http containerPort`);
    assert.equal(portOf('relay'), p.relay, `${name}: relay containerPort`);
    for (let i = 0; i < p.workers; i++) {
      for (const proto of ['UDP', 'TCP']) {
        assert.ok(ports.some((x) => x.containerPort === p.rtc + i && x.protocol === proto), `${name}: ${proto} ${p.rtc + i}`);
      }
    }
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const get = (c[probe] as Obj).httpGet as { path: string; port: string | number; scheme?: string };
      assert.equal(get.path, '/healthz', `${name}: ${probe} path`);
      assert.equal(get.scheme, 'HTTPS', `${name}: ${probe} over HTTPS`);
      assert.equal(portOf(get.port), p.http, `${name}: ${probe} port`);
    }
    assertMounted(name, env.OCTOMESH_TLS_CERT!, podMounts(pod, c));
    const preStop = JSON.stringify((c.lifecycle as Obj | undefined)?.preStop ?? {});
    const preStopSleep = Number(/sleep\D+(\d+)/.exec(preStop)?.[1] ?? 0);
    assert.ok(Number(pod.terminationGracePeriodSeconds) > DRAIN_SEC + preStopSleep, `${name}: grace period outlasts the drain`);
  }
});

test('kubernetes: geo-router Deployment and Service agree on the port, probe /healthz, keep the client address', () => {
  const docs = yamlDocs('kubernetes/geo-router.yaml');
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const service = docs.find((d) => d.kind === 'Service')!;
  for (const d of [deployment, service]) assert.equal((d.metadata as Obj).namespace, 'octomesh');
  const pod = ((deployment.spec as Obj).template as Obj).spec as Obj;
  const c = (pod.containers as Obj[])[0]!;
  assert.deepEqual(c.args, ['node', 'bin/octomesh.js', 'geo-router']);
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  const port = assertGeoRouter('geo-router.yaml', env);
  assert.equal(env.OCTOMESH_CONSUL_ADDRESS, 'http://consul-server.consul.svc:8500', 'the Helm chart\'s server Service');
  const ports = c.ports as { name: string; containerPort: number }[];
  assert.equal(ports.find((p) => p.name === 'http')?.containerPort, port);
  assert.equal(((c.readinessProbe as Obj).httpGet as Obj).path, '/healthz');
  assert.equal(((c.readinessProbe as Obj).httpGet as Obj).scheme, 'HTTPS');
  assertMounted('geo-router.yaml', env.OCTOMESH_TLS_CERT!, podMounts(pod, c));
  const spec = service.spec as Obj;
  assert.deepEqual(spec.selector, ((deployment.spec as Obj).selector as Obj).matchLabels);
  assert.equal((spec.ports as Obj[])[0]!.targetPort, 'http');
  assert.equal((spec.ports as Obj[])[0]!.port, 443, 'browsers open https://name/');
  assert.equal(spec.externalTrafficPolicy, 'Local', 'routing is by client address: the Service must not SNAT');
});

/** Mount paths of a container whose volume exists in the pod (a Secret). */
function podMounts(pod: Obj, c: Obj): string[] {
  const volumes = new Set(((pod.volumes as { name: string; secret?: unknown }[]) ?? []).filter((v) => v.secret).map((v) => v.name));
  return ((c.volumeMounts as { name: string; mountPath: string }[]) ?? []).filter((m) => volumes.has(m.name)).map((m) => m.mountPath);
}

function turnserverConf(): Map<string, string[]> {
  const conf = new Map<string, string[]>();
  for (const raw of read('coturn/turnserver.conf').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(line);
    assert.ok(m, `bad line: ${line}`);
    const list = conf.get(m[1]!) ?? [];
    list.push(m[2] ?? '');
    conf.set(m[1]!, list);
  }
  return conf;
}

/** A node's TURN settings point at the example coturn's port, over UDP and TCP, with a secret. */
function assertTurn(where: string, env: Env, host: string): void {
  const turn = configFrom(env).turn;
  const port = turnserverConf().get('listening-port')?.[0];
  assert.equal(turn.urls, `turn:${host}:${port}?transport=udp,turn:${host}:${port}?transport=tcp`, `${where}: TURN URLs`);
  assert.ok(turn.secret && !turn.username, `${where}: TURN REST API secret (coturn use-auth-secret)`);
}

function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      out[section] ??= {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && section, `bad unit line: ${line}`);
    ((out[section]![kv[1]!] ??= [])).push(kv[2]!);
  }
  return out;
}

function parseEnvFile(text: string): Env {
  const env: Env = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const kv = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(kv, `bad env line: ${line}`);
    env[kv[1]!] = kv[2]!;
  }
  return env;
}

test('systemd: unit outlasts the drain, signals node only, hardening leaves the JIT alone; env file loads', () => {
  const unit = parseUnit(read('systemd/octomesh-region-node.service'));
  const s = unit.Service!;
  const one = (k: string): string | undefined => s[k]?.at(-1);
  assert.equal(one('User'), 'octomesh');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.equal(one('KillMode'), 'mixed');
  assert.ok(Number(one('TimeoutStopSec')) > DRAIN_SEC);
  assert.ok(one('MemoryDenyWriteExecute') === undefined || one('MemoryDenyWriteExecute') === 'no', 'V8 needs W+X memory');
  assert.equal(one('EnvironmentFile'), '/etc/octomesh/octomesh.env');
  assert.match(one('ExecReload') ?? '', /kill -HUP \$MAINPID$/, 'systemctl reload re-reads the certificate');
  assert.ok(unit.Unit?.Wants?.includes('consul.service'), 'wants the Consul agent it talks to');
  assert.match(one('ExecStart')!, /bin\/octomesh\.js region-node$/);
  assert.ok(unit.Install?.WantedBy);

  const env = parseEnvFile(read('systemd/octomesh.env'));
  for (const k of Object.keys(env)) assert.ok(k in ENV_KEYS || k === 'OCTOMESH_CONFIG', k);
  assertNodePorts('octomesh.env', env);
  assert.equal(configFrom(env).discovery.consulAddress, 'http://127.0.0.1:8500');
});

test('systemd: geo-router unit and env file', () => {
  const s = parseUnit(read('systemd/octomesh-geo-router.service')).Service!;
  assert.equal(s.EnvironmentFile?.at(-1), '/etc/octomesh/geo-router.env');
  assert.match(s.ExecStart!.at(-1)!, /bin\/octomesh\.js geo-router$/);
  assert.equal(s.User?.at(-1), 'octomesh');
  assert.match(s.ExecReload?.at(-1) ?? '', /kill -HUP \$MAINPID$/);
  const env = parseEnvFile(read('systemd/geo-router.env'));
  assert.equal(assertGeoRouter('geo-router.env', env), 443);
  assert.equal(s.AmbientCapabilities?.at(-1), 'CAP_NET_BIND_SERVICE', 'port 443 as user octomesh');
  assert.equal(s.CapabilityBoundingSet?.at(-1), 'CAP_NET_BIND_SERVICE', 'and no other capability');
  assert.equal(configFrom(env).discovery.consulAddress, 'http://127.0.0.1:8500');
});

test('coturn: turnserver.conf parses into the required keys', () => {
  const conf = turnserverConf();
  assert.deepEqual(conf.get('listening-port'), ['3478']);
  assert.ok(conf.get('realm')?.[0]);
  assert.ok(conf.has('use-auth-secret'));
  assert.ok((conf.get('static-auth-secret')?.[0] ?? '').length >= 16);
  assert.ok(conf.has('fingerprint'));
  assert.ok(!conf.has('lt-cred-mech'), 'use-auth-secret is not mixed with lt-cred-mech');
  assert.ok(!conf.has('user'), 'no static users beside the shared secret');
  assert.ok(!conf.has('no-tcp-relay'), 'TCP relay stays on');
  const denied = conf.get('denied-peer-ip') ?? [];
  for (const range of ['10.0.0.0-10.255.255.255', '172.16.0.0-172.31.255.255', '192.168.0.0-192.168.255.255', '127.0.0.0-127.255.255.255', '169.254.0.0-169.254.255.255']) {
    assert.ok(denied.includes(range), `denied-peer-ip=${range}`);
  }
  assert.ok(Number(conf.get('min-port')?.[0]) < Number(conf.get('max-port')?.[0]));
});

test('systemd: a Consul client agent per host on 127.0.0.1:8500; certbot hook writes the files the env files name', () => {
  const hcl = read('systemd/consul-client.hcl');
  assert.match(hcl, /^server\s*=\s*false$/m, 'a client agent');
  assert.match(hcl, /^client_addr\s*=\s*"127\.0\.0\.1"$/m, 'HTTP API on loopback');
  assert.match(hcl, /^retry_join\s*=/m);
  for (const f of ['systemd/octomesh.env', 'systemd/geo-router.env']) {
    const config = configFrom(parseEnvFile(read(f)));
    assert.equal(config.discovery.consulAddress, 'http://127.0.0.1:8500', `${f}: the agent of consul-client.hcl (default HTTP port)`);
  }
  const hook = read('certbot/octomesh-deploy-hook.sh');
  assert.ok(statSync(path.join(DEPLOY, 'certbot/octomesh-deploy-hook.sh')).mode & 0o100, 'the hook is executable');
  const tls = configFrom(parseEnvFile(read('systemd/octomesh.env'))).http.tls;
  assert.match(hook, /^DEST=(\S+)$/m);
  assert.equal(/^DEST=(\S+)$/m.exec(hook)![1], path.posix.dirname(tls.cert));
  for (const f of [tls.cert, tls.key]) assert.ok(hook.includes(`"$DEST/${path.posix.basename(f)}"`), `the hook writes ${f}`);
});
