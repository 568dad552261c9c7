import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { workerBin as defaultWorkerBin } from 'mediasoup';
import { sharedLibsrtpOf, workerCryptoBackend, type SrtpCrypto } from '../region-node/workerCrypto.js';

/** Which mediasoup worker a bench ran: its file, a digest, and what libsrtp does its crypto with. */
export interface WorkerBuild {
  path: string;
  /** First 16 hex digits of the binary's SHA-256 (null: unreadable). */
  sha256: string | null;
  /** libsrtp's crypto backend: Debian's libsrtp2 uses NSS; our postinstall's build, OpenSSL. */
  crypto: SrtpCrypto;
  /** Where libsrtp is: 'static' (in the binary), the shared library's path, or 'unknown'. */
  libsrtp: string;
}

/**
 * Identifies a worker binary (default: the one mediasoup would start, MEDIASOUP_WORKER_BIN
 * included): its digest, and its SRTP crypto as the node itself reports it
 * (region-node/workerCrypto.ts), with where libsrtp is.
 */
export function workerBuild(bin?: string): WorkerBuild {
  const path = bin ?? defaultWorkerBin;
  let sha256: string | null = null;
  try {
    sha256 = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
  } catch {
    return { path, sha256, crypto: 'unknown', libsrtp: 'unknown' };
  }
  let libsrtp = 'unknown';
  try {
    libsrtp = sharedLibsrtpOf(execFileSync('ldd', [path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })) ?? 'static';
  } catch {
    // no ldd: where libsrtp is stays unknown; the crypto is read from the binary anyway
  }
  return { path, sha256, crypto: workerCryptoBackend(path), libsrtp };
}

/** Two builds a comparison can tell apart: different files by digest, each with a known crypto backend. */
export function assertDistinct(a: WorkerBuild, b: WorkerBuild): void {
  if (a.sha256 === null || b.sha256 === null) throw new Error(`cannot compare worker builds: ${a.sha256 === null ? a.path : b.path} is not readable`);
  if (a.sha256 === b.sha256) throw new Error(`cannot compare worker builds: ${a.path} and ${b.path} are the same binary (sha256 ${a.sha256}…)`);
  if (a.crypto === 'unknown' || b.crypto === 'unknown') throw new Error(`cannot compare worker builds: the crypto backend of ${a.crypto === 'unknown' ? a.path : b.path} is unknown`);
}
