// Authentication: passwords hashed with argon2id; console sessions are short-lived HS256 JWTs in an HTTP-only,
// SameSite cookie carrying the user's session version (bumped on logout-everywhere or password change); institution
// systems use opaque bearer tokens `cgt_…` stored only as SHA-256 hashes.
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { SignJWT, jwtVerify } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/engine.ts';
import type { Keys } from './crypto.ts';
import { AppError } from './errors.ts';
import { loadPrincipal, type Principal, type PrincipalCache } from './principal.ts';

export const SESSION_COOKIE = 'cg_session';
const MAX_FAILED_LOGINS = 10;
const LOCK_MINUTES = 15;

export function hashPassword(password: string): Promise<string> {
  return argonHash(password);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argonVerify(hash, password);
  } catch {
    return false;
  }
}

// Verified against when the username is unknown, so a wrong username costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;

export async function checkLogin(q: Queryable, username: string, password: string): Promise<{ userId: number }> {
  const { rows } = await q.query('SELECT id, password_hash, active, locked_until FROM app_user WHERE username = $1 AND kind = $2', [username, 'person']);
  const u = rows[0];
  if (!u || !u.password_hash || !u.active) {
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(await dummyHash, password);
    throw new AppError('LOGIN_FAILED');
  }
  if (u.locked_until && new Date(u.locked_until) > new Date()) {
    throw new AppError('ACCOUNT_LOCKED', { minutes: Math.ceil((new Date(u.locked_until).getTime() - Date.now()) / 60000) });
  }
  if (!(await verifyPassword(u.password_hash, password))) {
    await q.query(
      `UPDATE app_user SET failed_logins = failed_logins + 1,
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(mins => $3) ELSE locked_until END
       WHERE id = $1`,
      [u.id, MAX_FAILED_LOGINS, LOCK_MINUTES],
    );
    throw new AppError('LOGIN_FAILED');
  }
  await q.query('UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)', [u.id]);
  return { userId: u.id };
}

export async function issueSession(keys: Keys, p: Principal, ttlHours: number): Promise<string> {
  return new SignJWT({ sv: p.sessionVersion })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(String(p.userId))
    .setIssuedAt()
    .setExpirationTime(`${ttlHours}h`)
    .sign(keys.session);
}

/**
 * A verified session token is cached with its principal (until the token expires, at most the cache's TTL), so a
 * request costs a map lookup rather than an HMAC verification and a user query.
 */
export async function principalFromSession(q: Queryable, keys: Keys, cache: PrincipalCache, token: string): Promise<Principal> {
  const sessionKey = 's:' + token;
  const hit = cache.get(sessionKey);
  if (hit) return hit;
  let userId: number;
  let sv: number;
  let exp: number;
  try {
    const { payload } = await jwtVerify(token, keys.session, { algorithms: ['HS256'] });
    userId = Number(payload.sub);
    sv = Number(payload.sv);
    exp = Number(payload.exp) * 1000;
  } catch {
    throw new AppError('UNAUTHENTICATED');
  }
  const p = await loadPrincipal(q, userId);
  if (!p || p.sessionVersion !== sv) throw new AppError('UNAUTHENTICATED');
  cache.set(sessionKey, p, exp);
  return p;
}

export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function newApiToken(): string {
  return 'cgt_' + randomBytes(32).toString('base64url');
}

export async function principalFromToken(q: Queryable, cache: PrincipalCache, token: string): Promise<Principal> {
  const key = 't:' + tokenHash(token).toString('hex');
  const cached = cache.get(key);
  if (cached) return cached;
  const { rows } = await q.query(
    'SELECT user_id, institution_id FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())',
    [tokenHash(token)],
  );
  if (!rows[0]) throw new AppError('TOKEN_INVALID');
  const p = await loadPrincipal(q, rows[0].user_id);
  if (!p) throw new AppError('TOKEN_INVALID');
  const scoped: Principal = { ...p, tokenInstitutionId: rows[0].institution_id };
  cache.set(key, scoped);
  return scoped;
}
