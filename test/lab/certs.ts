import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The lab's certificates, made with Debian's openssl command: a lab CA, and one certificate it
// signs for every server host (IP SANs: browsers reach hosts by address) that also carries the
// relay's server name, so it serves HTTPS/WSS and the relay's mutual TLS alike.

const execFileP = promisify(execFile);

export interface LabCerts {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  /** base64 SHA-256 of the certificate's public key, for Chromium's --ignore-certificate-errors-spki-list. */
  spki: string;
}

export const RELAY_SERVER_NAME = 'octomesh-relay';

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl command installed?): ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
}

export async function makeLabCerts(dir: string, addresses: readonly string[]): Promise<LabCerts> {
  const caKey = join(dir, 'lab-ca.key');
  const caFile = join(dir, 'lab-ca.crt');
  const keyFile = join(dir, 'lab.key');
  const csr = join(dir, 'lab.csr');
  const certFile = join(dir, 'lab.crt');
  const ext = join(dir, 'lab.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=octomesh lab CA'], dir);
  await openssl(['req', '-new', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=octomesh lab'], dir);
  await writeFile(ext, [
    `subjectAltName=${[`DNS:${RELAY_SERVER_NAME}`, ...addresses.map((a) => `IP:${a}`)].join(',')}`,
    'extendedKeyUsage=serverAuth,clientAuth',
    'basicConstraints=CA:FALSE',
  ].join('\n'));
  await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext], dir);
  const cert = new X509Certificate(await readFile(certFile));
  const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { caFile, certFile, keyFile, ca: await readFile(caFile), spki };
}
