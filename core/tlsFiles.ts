import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

// The HTTPS certificate of a node, the cluster front or the geo-router (config `http.tls`),
// checked with node:crypto before uWS is given the files: uWS only says "App construction
// failed", which names neither the file nor the key.

export interface HttpTlsFiles {
  cert: string;
  key: string;
}

/** What was read from the files: enough to log, compare and warn about expiry. */
export interface TlsCertificateInfo {
  subject: string;
  serialNumber: string;
  /** As node:tls reports it for the peer (`getPeerCertificate().fingerprint256`). */
  fingerprint256: string;
  validFrom: Date;
  validTo: Date;
  /** Hash of both files' bytes: a reload that finds the same bytes does nothing. */
  contentHash: string;
}

function read(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Reads and checks the pair; a ConfigError naming `http.tls.cert` or `http.tls.key` otherwise. */
export function readTlsFiles(files: HttpTlsFiles): TlsCertificateInfo {
  const certPem = read('http.tls.cert', files.cert);
  const keyPem = read('http.tls.key', files.key);
  let cert: X509Certificate;
  try {
    // The first certificate of a chain file (fullchain.pem) is the server's own.
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new ConfigError('http.tls.cert', `${files.cert} is not a PEM certificate: ${(err as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new ConfigError('http.tls.key', `${files.key} is not an unencrypted PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new ConfigError('http.tls.key', `${files.key} does not belong to the certificate in ${files.cert}`);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    contentHash: createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex'),
  };
}

/** A warning for a certificate browsers will refuse, undefined for one in its validity period. */
export function certificateWarning(info: Pick<TlsCertificateInfo, 'validFrom' | 'validTo'>, now: number): string | undefined {
  if (info.validTo.getTime() <= now) return `the HTTPS certificate expired on ${info.validTo.toISOString()}: browsers will refuse it`;
  if (info.validFrom.getTime() > now) return `the HTTPS certificate is not valid before ${info.validFrom.toISOString()}: browsers will refuse it`;
  return undefined;
}
