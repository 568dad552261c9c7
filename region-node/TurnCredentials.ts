import { createHmac } from 'node:crypto';
import { commaList, type Config } from '../core/config.js';
import type { IceServer } from '../core/protocol.js';

/**
 * coturn's "TURN REST API" (use-auth-secret): the username carries its own expiry and the
 * password is base64(HMAC-SHA1(static-auth-secret, username)). coturn recomputes the HMAC, so
 * the node and coturn share nothing but the secret, and a leaked credential dies on its own.
 */
export function mintTurnCredential(secret: string, user: string, expiresAtSec: number): { username: string; credential: string } {
  const username = `${expiresAtSec}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE servers handed to one peer at join; `user` names it in coturn's logs. */
export function iceServersFor(turn: Config['turn'], user: string, nowMs: number): IceServer[] {
  const urls = commaList(turn.urls);
  const stun = urls.filter((u) => u.startsWith('stun:'));
  const relays = urls.filter((u) => !u.startsWith('stun:'));
  const servers: IceServer[] = [];
  // STUN needs no credentials; keeping it apart keeps TURN passwords off entries that ignore them.
  if (stun.length) servers.push({ urls: stun });
  if (relays.length) {
    const creds = turn.secret
      ? mintTurnCredential(turn.secret, user, Math.floor(nowMs / 1000) + turn.ttlSec)
      : { username: turn.username, credential: turn.credential };
    servers.push({ urls: relays, ...creds });
  }
  return servers;
}
