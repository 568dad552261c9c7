import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

// Test certificates made with Debian's openssl command (present on these machines and in CI):
// self-signed, P-256, valid for 127.0.0.1 and localhost, so a test can trust exactly one of them.

export interface TestCert {
  cert: Buffer;
  key: Buffer;
  fingerprint256: string;
  certFile: string;
  keyFile: string;
}

export function tempDir(prefix = 'octomesh-tls-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl command installed?): ${(err as Error).message}`);
  }
}

/** A self-signed certificate; `expired`: valid only on 1-2 January 2020. */
export function makeCert(name: string, opts: { expired?: boolean } = {}): TestCert {
  const dir = tempDir(`octomesh-cert-${name}-`);
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  const san = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
  if (!opts.expired) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`, '-addext', san], dir);
  } else {
    // `req -x509` takes no dates in the past (OpenSSL 3.0): `ca -selfsign` does.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
    openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', 'req.csr'], dir);
    writeFileSync(path.join(dir, 'ca.cnf'), '[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n');
    writeFileSync(path.join(dir, 'index.txt'), '');
    writeFileSync(path.join(dir, 'serial'), '01\n');
    openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', keyFile, '-in', 'req.csr', '-out', certFile, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext'], dir);
  }
  const cert = readFileSync(certFile);
  return { cert, key: readFileSync(keyFile), fingerprint256: new X509Certificate(cert).fingerprint256, certFile, keyFile };
}

/** Puts the pair at `certFile`/`keyFile` as a renewal does: written aside, renamed into place. */
export function installCert(c: { cert: Buffer | string; key: Buffer | string }, certFile: string, keyFile: string): void {
  writeFileSync(`${certFile}.new`, c.cert);
  writeFileSync(`${keyFile}.new`, c.key, { mode: 0o600 });
  renameSync(`${certFile}.new`, certFile);
  renameSync(`${keyFile}.new`, keyFile);
}

/** The SHA-256 fingerprint a new TLS connection to 127.0.0.1:port is shown. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}
