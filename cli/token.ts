import { SignJWT } from 'jose';

/** `1h`, `30m`, `90s`, `2d` or plain seconds -> seconds; undefined when unreadable. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : undefined;
}

/** An HS256 room token, as region nodes with auth.jwtSecret expect it. */
export async function makeRoomToken(opts: { secret: string; room: string; name?: string; ttlSec: number; issuer?: string; audience?: string; now?: number }): Promise<string> {
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  let jwt = new SignJWT({ room: opts.room, ...(opts.name ? { name: opts.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + opts.ttlSec);
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}
