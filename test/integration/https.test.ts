import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../core/config.js';
import { RegionNode } from '../../region-node/RegionNode.js';
import { installCert, makeCert, servedFingerprint, tempDir, type TestCert } from '../helpers/certs.js';
import { FakeConsul } from '../helpers/fakeConsul.js';
import { capturingLogger } from '../helpers/fakeConsulTools.js';
import { eventually } from '../helpers/node.js';
import { freePort } from '../helpers/ports.js';
import { SignalClient } from '../helpers/SignalClient.js';

// HTTPS and WSS served by octomesh itself (config http.tls): a region node and the front
// (`octomesh geo-router`; `octomesh start` serves the same front), certificates replaced while
// they run (SIGHUP and a change of the files), bad files at start and at reload. Real uWS,
// real mediasoup, certificates from the openssl command, traffic on loopback only.

const BIN = fileURLToPath(new URL('../../../bin/octomesh.js', import.meta.url));

function runCli(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

function httpsGet(port: number, urlPath: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One TLS connection kept open, answering HTTP/1.1 requests one after another (keep-alive). */
async function keepAliveConnection(port: number, ca: Buffer): Promise<{ get: (p: string) => Promise<string>; close: () => void }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return {
    get: (p) =>
      new Promise((resolve, reject) => {
        let text = '';
        const onData = (d: Buffer): void => {
          text += d.toString();
          const m = /content-length: (\d+)\r\n/i.exec(text);
          const head = text.indexOf('\r\n\r\n');
          if (m && head >= 0 && text.length >= head + 4 + Number(m[1])) {
            socket.off('data', onData);
            resolve(text.split('\r\n')[0]!);
          }
        };
        socket.on('data', onData);
        socket.once('error', reject);
        socket.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      }),
    close: () => socket.destroy(),
  };
}

describe('HTTPS and WSS (http.tls)', () => {
  let a: TestCert;
  let b: TestCert;
  let c: TestCert;
  let expired: TestCert;
  before(() => {
    a = makeCert('octomesh-a');
    b = makeCert('octomesh-b');
    c = makeCert('octomesh-c');
    expired = makeCert('octomesh-expired', { expired: true });
  });

  it('a region node serves wss and https; a reload reaches new connections, open WebSockets live on, a bad file keeps the old certificate', async () => {
    const dir = tempDir();
    const certFile = path.join(dir, 'fullchain.pem');
    const keyFile = path.join(dir, 'privkey.pem');
    installCert(a, certFile, keyFile);
    const port = await freePort(); // a reload opens a second listener: it needs a fixed port
    const { log, lines } = capturingLogger('debug');
    const config = loadConfig({
      env: {},
      overrides: {
        nodeId: 'tls-node',
        http: { port, tls: { cert: certFile, key: keyFile } },
        media: { workers: 1, rtcPort: 0 },
        relay: { port: 0, secret: 'test-secret' },
      },
    });
    const node = await RegionNode.start(config, log);
    const clients: SignalClient[] = [];
    try {
      assert.equal(node.wsUrl, `wss://127.0.0.1:${port}/ws`);
      assert.equal(node.pageUrl, `https://127.0.0.1:${port}/?room=demo&name=you`);
      assert.equal(node.record().wsUrl, node.wsUrl, 'the catalog carries the wss URL');
      assert.equal(await servedFingerprint(port), a.fingerprint256);
      assert.equal((await httpsGet(port, '/healthz', a.cert)).status, 200);
      const early = await SignalClient.connect(node.wsUrl, { ca: a.cert });
      clients.push(early);
      assert.ok((await early.request('getRouterRtpCapabilities')).codecs.length > 0, 'signaling over wss');
      await early.request('join', { room: 'tls', displayName: 'early', rtpCapabilities: await early.request('getRouterRtpCapabilities') });

      // A renewal rewrites the files: the folder watch reloads.
      installCert(b, certFile, keyFile);
      const reloaded = (reason: string, fp: string) => () => lines.some((l: any) => l.msg === 'certificate reloaded' && l.reason === reason && l.fingerprint256 === fp);
      await eventually(reloaded('file change', b.fingerprint256), 'reloaded after the files changed', 10_000);
      assert.equal(await servedFingerprint(port), b.fingerprint256, 'a new connection sees certificate B');
      assert.equal((await early.call('getRouterRtpCapabilities')).ok, true, 'the WebSocket opened before the reload still answers');

      // SIGHUP's path (main.ts calls reloadTls): at once, not after the watch's settle time.
      installCert(c, certFile, keyFile);
      assert.equal(node.reloadTls('SIGHUP'), true);
      // For a moment both listeners accept (core/HttpListener.ts, #retire), then only the new one.
      await eventually(reloaded('SIGHUP', c.fingerprint256), 'the old listener closed', 5000);
      assert.equal(await servedFingerprint(port), c.fingerprint256);
      const late = await SignalClient.connect(node.wsUrl, { ca: c.cert });
      clients.push(late);
      await late.request('join', { room: 'tls', displayName: 'late', rtpCapabilities: await late.request('getRouterRtpCapabilities') });
      await early.waitFor('peerJoined');

      // Bad new files: the old certificate stays, an error names the reason.
      const errorsBefore = lines.filter((l) => l.level >= 50).length;
      writeFileSync(certFile, 'not a certificate\n');
      assert.equal(node.reloadTls('SIGHUP'), false);
      installCert({ cert: c.cert, key: a.key }, certFile, keyFile); // a key of another certificate
      assert.equal(node.reloadTls('SIGHUP'), false);
      const errors = lines.filter((l) => l.level >= 50).slice(errorsBefore);
      assert.ok(errors.some((l) => /certificate reload failed, keeping the old certificate: .*http\.tls\.cert/.test(l.msg)), JSON.stringify(errors));
      assert.ok(errors.some((l) => /certificate reload failed, keeping the old certificate: .*http\.tls\.key: .* does not belong/.test(l.msg)), JSON.stringify(errors));
      assert.equal(await servedFingerprint(port), c.fingerprint256, 'still certificate C');
      assert.equal((await early.call('getRouterRtpCapabilities')).ok, true);
      assert.equal((await late.call('getRouterRtpCapabilities')).ok, true);
    } finally {
      for (const cl of clients) cl.close();
      node.close();
    }
  });

  it('`octomesh region-node` reloads on SIGHUP; its WebSocket survives', async () => {
    const dir = tempDir();
    const certFile = path.join(dir, 'tls.crt');
    const keyFile = path.join(dir, 'tls.key');
    installCert(a, certFile, keyFile);
    const port = await freePort();
    const node = runCli(['region-node'], {
      OCTOMESH_NODE_ID: 'tls-cli-node',
      OCTOMESH_HTTP_PORT: String(port),
      OCTOMESH_RTC_PORT: String(await freePort()),
      OCTOMESH_RELAY_PORT: String(await freePort()),
      OCTOMESH_WORKERS: '1',
      OCTOMESH_TLS_CERT: certFile,
      OCTOMESH_TLS_KEY: keyFile,
      OCTOMESH_LOG_LEVEL: 'info',
      OCTOMESH_LOG_PRETTY: 'false',
    });
    let client: SignalClient | undefined;
    try {
      await eventually(() => node.output().includes('region node listening'), `node listening (output: ${node.output()})`, 30_000);
      assert.ok(node.output().includes(`open https://127.0.0.1:${port}/?room=demo&name=you`), 'the start log prints the https URL');
      client = await SignalClient.connect(`wss://127.0.0.1:${port}/ws`, { ca: a.cert });
      assert.equal((await client.call('getRouterRtpCapabilities')).ok, true);
      installCert(b, certFile, keyFile);
      node.child.kill('SIGHUP');
      await eventually(() => /"reason":"SIGHUP"[^\n]*"msg":"certificate reloaded"/.test(node.output()), 'reloaded after SIGHUP', 10_000);
      assert.equal(await servedFingerprint(port), b.fingerprint256);
      assert.equal((await client.call('getRouterRtpCapabilities')).ok, true, 'the WebSocket opened before SIGHUP still answers');
      assert.equal(node.child.exitCode, null, 'SIGHUP did not stop the node');
    } finally {
      client?.close();
      node.child.kill('SIGTERM');
      await node.exited;
    }
  });

  describe('the front (`octomesh geo-router`; `octomesh start` serves the same one)', () => {
    let fake: FakeConsul;
    before(async () => {
      fake = await FakeConsul.start();
    });
    after(async () => {
      await fake.close();
    });
    const frontEnv = (port: number, certFile: string, keyFile: string): Record<string, string> => ({
      OCTOMESH_HTTP_PORT: String(port),
      OCTOMESH_DISCOVERY: 'consul',
      OCTOMESH_CONSUL_ADDRESS: fake.url,
      OCTOMESH_TLS_CERT: certFile,
      OCTOMESH_TLS_KEY: keyFile,
      OCTOMESH_LOG_LEVEL: 'info',
      OCTOMESH_LOG_PRETTY: 'false',
    });

    it('reloads on SIGHUP and on a change of the files; an open connection goes on', async () => {
      const dir = tempDir();
      const certFile = path.join(dir, 'tls.crt');
      const keyFile = path.join(dir, 'tls.key');
      installCert(a, certFile, keyFile);
      const port = await freePort();
      const front = runCli(['geo-router'], frontEnv(port, certFile, keyFile));
      let conn: Awaited<ReturnType<typeof keepAliveConnection>> | undefined;
      try {
        await eventually(() => front.output().includes('geo-router listening'), `geo-router listening (output: ${front.output()})`, 15_000);
        assert.match(front.output(), /"url":"https:\/\/127\.0\.0\.1:\d+\/\?room=demo&name=you"/);
        const regions = await httpsGet(port, '/api/regions', a.cert);
        assert.equal(regions.status, 200);
        conn = await keepAliveConnection(port, a.cert);
        assert.match(await conn.get('/api/regions'), /^HTTP\/1\.1 200/);

        installCert(b, certFile, keyFile);
        front.child.kill('SIGHUP');
        await eventually(() => /"reason":"SIGHUP"[^\n]*"msg":"certificate reloaded"/.test(front.output()), 'reloaded after SIGHUP', 10_000);
        assert.equal(await servedFingerprint(port), b.fingerprint256);

        installCert(c, certFile, keyFile);
        await eventually(() => /"reason":"file change"[^\n]*"msg":"certificate reloaded"/.test(front.output()), 'reloaded after the files changed', 10_000);
        assert.equal(await servedFingerprint(port), c.fingerprint256);
        assert.match(await conn.get('/api/regions'), /^HTTP\/1\.1 200/, 'the connection opened before both reloads still answers');

        writeFileSync(keyFile, 'garbage\n');
        front.child.kill('SIGHUP');
        await eventually(() => front.output().includes('certificate reload failed, keeping the old certificate'), 'the bad key is reported', 10_000);
        assert.equal(await servedFingerprint(port), c.fingerprint256);
        assert.equal(front.child.exitCode, null);
      } finally {
        conn?.close();
        front.child.kill('SIGTERM');
        await front.exited;
      }
    });

    it('warns with the date when the certificate has expired', async () => {
      const port = await freePort();
      const front = runCli(['geo-router'], frontEnv(port, expired.certFile, expired.keyFile));
      try {
        await eventually(() => front.output().includes('geo-router listening'), `geo-router listening (output: ${front.output()})`, 15_000);
        const warning = front.output().split('\n').find((l) => l.includes('"level":40') && l.includes('expired on 2020-01-02T00:00:00.000Z'));
        assert.ok(warning, front.output());
        assert.equal(await servedFingerprint(port), expired.fingerprint256, 'served all the same: the operator decides');
      } finally {
        front.child.kill('SIGTERM');
        await front.exited;
      }
    });
  });

  describe('bad files stop the process at start with one line naming the key', () => {
    const rows: { name: string; command: string; files: () => { cert: string; key: string }; key: string }[] = [
      { name: 'a missing key', command: 'region-node', files: () => ({ cert: a.certFile, key: path.join(tempDir(), 'missing.key') }), key: 'http.tls.key' },
      {
        name: 'an unreadable key (a folder)',
        command: 'region-node',
        files: () => {
          const d = path.join(tempDir(), 'key.pem');
          mkdirSync(d);
          return { cert: a.certFile, key: d };
        },
        key: 'http.tls.key',
      },
      { name: 'a missing certificate', command: 'start', files: () => ({ cert: path.join(tempDir(), 'missing.crt'), key: a.keyFile }), key: 'http.tls.cert' },
      {
        name: 'a certificate that does not parse',
        command: 'geo-router',
        files: () => {
          const f = path.join(tempDir(), 'bad.crt');
          writeFileSync(f, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
          return { cert: f, key: a.keyFile };
        },
        key: 'http.tls.cert',
      },
      { name: 'the key of another certificate', command: 'region-node', files: () => ({ cert: a.certFile, key: b.keyFile }), key: 'http.tls.key' },
    ];
    for (const r of rows) {
      it(`${r.name} (octomesh ${r.command})`, async () => {
        const f = r.files();
        const run = runCli([r.command], { OCTOMESH_TLS_CERT: f.cert, OCTOMESH_TLS_KEY: f.key, OCTOMESH_DISCOVERY: r.command === 'geo-router' ? 'consul' : 'local', OCTOMESH_LOG_PRETTY: 'false' });
        const code = await run.exited;
        assert.equal(code, 2, run.output());
        const out = run.output().trim();
        assert.equal(out.split('\n').length, 1, `one line: ${out}`);
        assert.ok(out.startsWith(`octomesh: config: ${r.key}: `), out);
      });
    }
  });
});
