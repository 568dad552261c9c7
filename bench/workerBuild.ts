import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { workerBin as defaultWorkerBin } from 'mediasoup';

/** Which mediasoup worker a bench ran: its file, a digest, and what libsrtp does its crypto with. */
export interface WorkerBuild {
  path: string;
  /** First 16 hex digits of the binary's SHA-256 (null: unreadable). */
  sha256: string | null;
  /** libsrtp's crypto backend: Debian's libsrtp2 uses NSS; one built with --enable-openssl, OpenSSL. */
  crypto: 'openssl' | 'nss' | 'builtin' | 'unknown';
  /** Where libsrtp is: 'static' (in the binary), the shared library's path, or 'unknown'. */
  libsrtp: string;
}

/**
 * Identifies a worker binary (default: the one mediasoup would start, MEDIASOUP_WORKER_BIN
 * included). libsrtp names its ciphers after their backend ("AES-128 counter mode using NSS",
 * "... using openssl"): those strings are read from the shared libsrtp2 that `ldd` lists, or from
 * the binary itself when libsrtp is linked in.
 */
export function workerBuild(bin?: string): WorkerBuild {
  const path = bin ?? defaultWorkerBin;
  let sha256: string | null = null;
  let binary: Buffer | undefined;
  try {
    binary = readFileSync(path);
    sha256 = createHash('sha256').update(binary).digest('hex').slice(0, 16);
  } catch {
    return { path, sha256, crypto: 'unknown', libsrtp: 'unknown' };
  }
  let libsrtp = 'static';
  let lib = binary;
  try {
    const m = /libsrtp2?\.so[^\s]*\s+=>\s+(\S+)/.exec(execFileSync('ldd', [path], { encoding: 'utf8', timeout: 10_000 }));
    if (m) {
      libsrtp = m[1]!;
      lib = readFileSync(libsrtp);
    }
  } catch {
    libsrtp = 'unknown';
  }
  return { path, sha256, crypto: cryptoOf(lib), libsrtp };
}

export function cryptoOf(lib: Buffer): WorkerBuild['crypto'] {
  if (lib.includes('counter mode using openssl') || lib.includes('GCM using openssl')) return 'openssl';
  if (lib.includes('counter mode using NSS') || lib.includes('GCM using NSS')) return 'nss';
  if (lib.includes('AES-128 counter mode') || lib.includes('AES-ICM')) return 'builtin';
  return 'unknown';
}

/** Two builds a comparison can tell apart: different files by digest, each with a known crypto backend. */
export function assertDistinct(a: WorkerBuild, b: WorkerBuild): void {
  if (a.sha256 === null || b.sha256 === null) throw new Error(`cannot compare worker builds: ${a.sha256 === null ? a.path : b.path} is not readable`);
  if (a.sha256 === b.sha256) throw new Error(`cannot compare worker builds: ${a.path} and ${b.path} are the same binary (sha256 ${a.sha256}…)`);
  if (a.crypto === 'unknown' || b.crypto === 'unknown') throw new Error(`cannot compare worker builds: the crypto backend of ${a.crypto === 'unknown' ? a.path : b.path} is unknown`);
}
