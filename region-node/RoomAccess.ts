import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey, type KeyObject, type JWTPayload } from 'jose';
import { ConfigError, UnauthorizedError } from '../core/errors.js';

export interface RoomAccessConfig {
  jwtSecret: string;
  jwtPublicKeyFile: string;
  jwtJwksUrl: string;
  issuer: string;
  audience: string;
}

export interface Grant {
  /** The display name the token imposes, if any. */
  name?: string;
}

/**
 * Who may join which room. Without a secret, key or JWKS every room is open (the local
 * cluster's default). With one, a join needs a JWT whose `room` claim is the room or `*`,
 * with `exp` (and `nbf`, `iss`, `aud` when configured); the algorithm is pinned to the key's
 * kind, so `alg: none` or an HS256 token made with a public key is refused.
 */
type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey;

export class RoomAccess {
  readonly #key: VerifyKey | undefined;
  readonly #algorithms: string[];
  readonly #options: { issuer?: string; audience?: string };

  private constructor(key: VerifyKey | undefined, algorithms: string[], options: { issuer?: string; audience?: string }) {
    this.#key = key;
    this.#algorithms = algorithms;
    this.#options = options;
  }

  static async create(c: RoomAccessConfig): Promise<RoomAccess> {
    const options = { ...(c.issuer ? { issuer: c.issuer } : {}), ...(c.audience ? { audience: c.audience } : {}) };
    const set = [c.jwtSecret, c.jwtPublicKeyFile, c.jwtJwksUrl].filter(Boolean).length;
    if (set > 1) throw new ConfigError('auth', 'set one of jwtSecret, jwtPublicKeyFile, jwtJwksUrl');
    if (c.jwtSecret) {
      if (c.jwtSecret.length < 32) throw new ConfigError('auth.jwtSecret', 'use at least 32 characters');
      return new RoomAccess(new TextEncoder().encode(c.jwtSecret), ['HS256'], options);
    }
    if (c.jwtPublicKeyFile) {
      let pem: string;
      try {
        pem = readFileSync(c.jwtPublicKeyFile, 'utf8');
      } catch (err) {
        throw new ConfigError('auth.jwtPublicKeyFile', `cannot read ${c.jwtPublicKeyFile}: ${(err as Error).message}`);
      }
      // The key's own type decides the algorithm: an RSA key verifies RS256 only, a P-256 key ES256.
      for (const alg of ['RS256', 'ES256']) {
        try {
          return new RoomAccess(await importSPKI(pem, alg), [alg], options);
        } catch {
          // not this kind of key
        }
      }
      throw new ConfigError('auth.jwtPublicKeyFile', 'not an RSA or P-256 public key in SPKI PEM');
    }
    if (c.jwtJwksUrl) {
      let url: URL;
      try {
        url = new URL(c.jwtJwksUrl);
      } catch {
        throw new ConfigError('auth.jwtJwksUrl', 'not a URL');
      }
      return new RoomAccess(createRemoteJWKSet(url), ['RS256', 'ES256'], options);
    }
    return new RoomAccess(undefined, [], options);
  }

  get open(): boolean {
    return this.#key === undefined;
  }

  /** Resolves with what the token grants for `room`; throws UnauthorizedError otherwise. */
  async check(room: string, token: string | undefined): Promise<Grant> {
    if (this.#key === undefined) return {};
    if (!token) throw new UnauthorizedError('this room needs a token');
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.#key as Uint8Array, { algorithms: this.#algorithms, requiredClaims: ['exp'], ...this.#options });
      payload = verified.payload;
    } catch (err) {
      throw new UnauthorizedError(`invalid token: ${(err as { code?: string }).code ?? 'ERR_JWT_INVALID'}`);
    }
    if (payload.room !== room && payload.room !== '*') throw new UnauthorizedError('the token is for another room');
    return typeof payload.name === 'string' && payload.name ? { name: payload.name.slice(0, 64) } : {};
  }
}
