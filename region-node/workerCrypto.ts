import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';

/**
 * Whose crypto a mediasoup worker's libsrtp uses. 'openssl': libsrtp built over OpenSSL and
 * linked in (our postinstall's build, as upstream mediasoup ships); 'nss': Debian's shared
 * libsrtp2, whose AES runs through NSS at 1.2–1.6x the worker's cost per SRTP packet;
 * 'unknown': anything this cannot read (another platform, a stripped custom build).
 */
export type SrtpCrypto = 'openssl' | 'nss' | 'unknown';
type KnownSrtpCrypto = Exclude<SrtpCrypto, 'unknown'>;

// libsrtp names each cipher it registers after the library doing the work ("AES-128 counter
// mode using openssl", "... using NSS"); the strings are in whichever file holds libsrtp, and
// AES-CM is registered by every build, so its description is always linked in.
const MARKERS: readonly [KnownSrtpCrypto, Buffer][] = [
  ['openssl', Buffer.from('counter mode using openssl')],
  ['nss', Buffer.from('counter mode using NSS')],
];

/** The backend named in one file's bytes (a worker binary or a libsrtp2 library), or null. */
export function srtpCryptoIn(bytes: Buffer): KnownSrtpCrypto | null {
  for (const [name, marker] of MARKERS) if (bytes.includes(marker)) return name;
  return null;
}

/** The libsrtp2 shared library that `ldd` says a binary loads, or null (static, or no ldd). */
export function sharedLibsrtpOf(lddOutput: string): string | null {
  const m = /^\s*libsrtp2\.so[.\d]*\s+=>\s+(\/\S+)/m.exec(lddOutput);
  return m ? m[1]! : null;
}

const cache = new Map<string, SrtpCrypto>();

/**
 * The SRTP crypto of a worker binary, from the binary itself (never from a file beside it that
 * could be stale): libsrtp linked in statically, else the libsrtp2.so it loads. Never throws.
 * For the bench as well: two workers whose backend it cannot tell are not to be compared.
 */
export function workerCryptoBackend(binPath: string): SrtpCrypto {
  let key: string;
  try {
    const st = statSync(binPath);
    key = `${binPath}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
  let found = cache.get(key);
  if (!found) {
    found = detect(binPath);
    cache.set(key, found);
  }
  return found;
}

function detect(binPath: string): SrtpCrypto {
  try {
    const own = srtpCryptoIn(readFileSync(binPath));
    if (own) return own;
    const lib = sharedLibsrtpOf(execFileSync('ldd', [binPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }));
    return (lib ? srtpCryptoIn(readFileSync(lib)) : null) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
