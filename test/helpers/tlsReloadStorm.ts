import { execFileSync, fork } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { HttpListener } from '../../core/HttpListener.js';

// Certificate reloads under a storm of new TLS connections, run inside a network namespace of
// its own (`unshare -n`, as root) so that net.ipv4.tcp_migrate_req can be set for it alone:
//   unshare -n node dist/test/helpers/tlsReloadStorm.js server MIGRATE DIR SECONDS
// DIR holds a.crt a.key b.crt b.key; prints one JSON line {reloads, seen: {CN: n, ERRCODE: n}}.

const PORT = 44300;
const [, , role, migrate, dir, seconds] = process.argv;

async function client(): Promise<void> {
  const seen: Record<string, number> = {};
  const count = (k: string): void => void (seen[k] = (seen[k] ?? 0) + 1);
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: PORT, rejectUnauthorized: false }, () => {
        count(String(s.getPeerCertificate().subject.CN ?? '?'));
        s.end();
        resolve();
      });
      s.setTimeout(3000, () => {
        count('TIMEOUT');
        s.destroy();
        resolve();
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        count(err.code ?? 'error');
        resolve();
      });
    });
  const end = Date.now() + Number(seconds) * 1000;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (Date.now() < end) await one();
  }));
  process.send!(seen);
}

async function server(): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  writeFileSync('/proc/sys/net/ipv4/tcp_migrate_req', `${migrate}\n`);
  const live = { cert: path.join(dir!, 'live.crt'), key: path.join(dir!, 'live.key') };
  const install = (name: string): void => {
    copyFileSync(path.join(dir!, `${name}.crt`), live.cert);
    copyFileSync(path.join(dir!, `${name}.key`), live.key);
  };
  install('a');
  const listener = await HttpListener.listen({ host: '127.0.0.1', port: PORT, tls: live, routes: (app) => app.get('/*', (res) => void res.end('ok')), log: pino({ level: 'silent' }), watchFiles: false });
  let reloads = 0;
  let i = 0;
  const timer = setInterval(() => {
    install(i++ % 2 ? 'a' : 'b');
    if (listener.reload('storm')) reloads++;
  }, 200);
  const child = fork(fileURLToPath(import.meta.url), ['client', migrate!, dir!, seconds!]);
  const seen = await new Promise<Record<string, number>>((resolve) => child.once('message', (m) => resolve(m as Record<string, number>)));
  clearInterval(timer);
  listener.close();
  process.stdout.write(`${JSON.stringify({ reloads, seen })}\n`);
  process.exit(0);
}

if (role === 'client') await client();
else await server();
