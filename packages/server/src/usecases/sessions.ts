import { DatongError, isPermission, normalizeEmail, type DataScope, type Permission } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { newId } from '../ids.js';
import { randomToken, safeEqual, sha256Hex, type Keyring } from '../security/keys.js';
import { verifyNothing, verifyPassword } from '../security/passwords.js';
import { totpStep } from '../security/totp.js';

/** Console sign-in: passwords, TOTP, lockout with backoff, sessions (issue 3, C13). */

export interface SessionPolicy {
  readonly idleMs: number;
  readonly maxMs: number;
}

export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly ipMaxFailures: number;
  readonly lockMs: number;
}

/** Failures from one IP address count within this window. */
const IP_WINDOW_MS = 15 * 60_000;
const MAX_LOCK_MS = 60 * 60_000;
/** last_seen_at is written at most this often (idle timeouts are coarser than this). */
const TOUCH_MS = 60_000;
export const SESSION_TOKEN_PREFIX = 'dts_';

export interface SessionUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly locale: 'zh-CN' | 'en';
  readonly teamId: string | null;
  readonly totpEnabled: boolean;
  readonly role: {
    readonly id: string;
    readonly name: string;
    readonly builtin: boolean;
    readonly permissions: readonly Permission[];
    readonly dataScope: DataScope;
    readonly maskPii: boolean;
  };
}

export interface ActiveSession {
  readonly tenantId: string;
  readonly sessionId: string;
  readonly csrfToken: string;
  readonly user: SessionUser;
}

interface UserAuthRow {
  tenant_id: string;
  id: string;
  email: string;
  name: string;
  locale: string;
  team_id: string | null;
  totp_enabled: boolean;
  disabled: boolean;
  role_id: string;
  role_name: string;
  builtin: boolean;
  permissions: string[];
  data_scope: DataScope;
  mask_pii: boolean;
}

const USER_AUTH_COLUMNS = `u.tenant_id, u.id, u.email, u.name, u.locale, u.team_id, u.totp_enabled, u.disabled,
  r.id AS role_id, r.name AS role_name, r.builtin, r.permissions, r.data_scope, r.mask_pii`;

function sessionUser(r: UserAuthRow): SessionUser {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    locale: r.locale === 'en' ? 'en' : 'zh-CN',
    teamId: r.team_id,
    totpEnabled: r.totp_enabled,
    role: { id: r.role_id, name: r.role_name, builtin: r.builtin, permissions: r.permissions.filter(isPermission), dataScope: r.data_scope, maskPii: r.mask_pii },
  };
}

export async function loadSessionUser(q: Queryable, tenantId: string, userId: string): Promise<SessionUser> {
  const r = await q.query<UserAuthRow>(
    `SELECT ${USER_AUTH_COLUMNS} FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id WHERE u.tenant_id = $1 AND u.id = $2`,
    [tenantId, userId],
  );
  const row = r.rows[0];
  if (!row) throw new DatongError('USER_NOT_FOUND');
  return sessionUser(row);
}

export interface LoginInput {
  readonly email: string;
  readonly password: string;
  readonly totpCode?: string;
  readonly recoveryCode?: string;
  readonly tenantId?: string;
}

export interface LoginContext {
  readonly db: Queryable;
  readonly keyring: Keyring;
  readonly now: Date;
  readonly ip: string;
  readonly userAgent: string | null;
  readonly lockout: LockoutPolicy;
  readonly session: SessionPolicy;
  readonly defaultTenantId: string;
}

export interface LoginOutcome {
  readonly tenantId: string;
  readonly user: SessionUser;
  readonly token: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  /** Set when a recovery code was spent. */
  readonly recoveryCodeUsed: boolean;
}

/** Thrown for every failed sign-in: callers audit it, then rethrow `error`. */
export class LoginFailure extends Error {
  constructor(
    readonly error: DatongError,
    readonly tenantId: string | null,
    readonly userId: string | null,
    readonly reason: string,
  ) {
    super(error.message);
  }
}

interface LoginUserRow extends UserAuthRow {
  password_hash: string;
  totp_secret_enc: string | null;
  totp_last_step: number | string | null;
  recovery_code_hashes: string[];
  failed_attempts: number;
  locked_until: Date | string | null;
}

const lockedError = (until: Date, now: Date): DatongError => {
  const retryAfter = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new DatongError('AUTH_LOCKED', `Try again in ${retryAfter} s`, { extensions: { retryAfter } });
};

export const lockDuration = (failures: number, threshold: number, baseMs: number): number =>
  failures < threshold ? 0 : Math.min(MAX_LOCK_MS, baseMs * 2 ** Math.min(failures - threshold, 20));

/** One more failure for a throttle key; returns the lock it earned, if any. */
async function throttleFailure(q: Queryable, key: string, now: Date, threshold: number, baseMs: number, windowMs: number | null): Promise<void> {
  const windowStart = windowMs === null ? new Date(0) : new Date(now.getTime() - windowMs);
  const r = await q.query<{ failures: number }>(
    `INSERT INTO login_throttle (key, failures, first_failed_at) VALUES ($1, 1, $2)
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN login_throttle.first_failed_at < $3 THEN 1 ELSE login_throttle.failures + 1 END,
       first_failed_at = CASE WHEN login_throttle.first_failed_at < $3 THEN $2 ELSE login_throttle.first_failed_at END
     RETURNING failures`,
    [key, now.toISOString(), windowStart.toISOString()],
  );
  const lock = lockDuration(r.rows[0]?.failures ?? 0, threshold, baseMs);
  if (lock > 0) await q.query('UPDATE login_throttle SET locked_until = $2 WHERE key = $1', [key, new Date(now.getTime() + lock).toISOString()]);
}

async function throttleLock(q: Queryable, key: string, now: Date): Promise<Date | null> {
  const r = await q.query<{ locked_until: Date | string | null }>('SELECT locked_until FROM login_throttle WHERE key = $1', [key]);
  const until = r.rows[0]?.locked_until;
  return until && new Date(until) > now ? new Date(until) : null;
}

export const recoveryCodeHash = (keyring: Keyring, tenantId: string, userId: string, code: string): string =>
  keyring.blindIndex(tenantId, `recovery-code:${userId}:${code.replace(/[\s-]/g, '').toLowerCase()}`);

/**
 * Signs a user in. Every failure takes about as long and answers alike whether the email is
 * unknown, the account disabled or the password wrong (AUTH_LOGIN_FAILED). Failures count per
 * account and per IP address; past the thresholds, sign-in is locked with a doubling delay
 * (AUTH_LOCKED, checked before the password so a lock cannot be probed).
 */
export async function login(ctx: LoginContext, input: LoginInput): Promise<LoginOutcome> {
  const { db, now, lockout } = ctx;
  const ipKey = `ip:${ctx.ip}`;
  const ipLock = await throttleLock(db, ipKey, now);
  if (ipLock) throw new LoginFailure(lockedError(ipLock, now), null, null, 'ip_locked');

  const email = normalizeEmail(input.email) ?? input.email.trim().toLowerCase();
  const candidates = await db.query<LoginUserRow>(
    `SELECT ${USER_AUTH_COLUMNS}, u.password_hash, u.totp_secret_enc, u.totp_last_step, u.recovery_code_hashes, u.failed_attempts, u.locked_until
     FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id
     WHERE u.email = $1 ${input.tenantId ? 'AND u.tenant_id = $2' : ''}`,
    input.tenantId ? [email, input.tenantId] : [email],
  );
  // Without a tenant, an email names the default tenant's user, else the only user with it.
  const user =
    candidates.rows.length === 1 ? candidates.rows[0] : candidates.rows.find((u) => u.tenant_id === (input.tenantId ?? ctx.defaultTenantId));
  const accountKey = `account:${input.tenantId ?? '*'}:${email}`;

  const fail = async (reason: string, error: DatongError = new DatongError('AUTH_LOGIN_FAILED')): Promise<never> => {
    await throttleFailure(db, ipKey, now, lockout.ipMaxFailures, lockout.lockMs, IP_WINDOW_MS);
    if (user) {
      const r = await db.query<{ failed_attempts: number }>(
        'UPDATE users SET failed_attempts = failed_attempts + 1 WHERE tenant_id = $1 AND id = $2 RETURNING failed_attempts',
        [user.tenant_id, user.id],
      );
      const lock = lockDuration(r.rows[0]?.failed_attempts ?? 0, lockout.maxFailures, lockout.lockMs);
      if (lock > 0) await db.query('UPDATE users SET locked_until = $3 WHERE tenant_id = $1 AND id = $2', [user.tenant_id, user.id, new Date(now.getTime() + lock).toISOString()]);
    } else {
      await throttleFailure(db, accountKey, now, lockout.maxFailures, lockout.lockMs, null);
    }
    throw new LoginFailure(error, user?.tenant_id ?? null, user?.id ?? null, reason);
  };

  if (!user) {
    const lock = await throttleLock(db, accountKey, now);
    if (lock) throw new LoginFailure(lockedError(lock, now), null, null, 'account_locked');
    await verifyNothing(input.password);
    return fail('unknown_email');
  }
  if (user.locked_until && new Date(user.locked_until) > now) throw new LoginFailure(lockedError(new Date(user.locked_until), now), user.tenant_id, user.id, 'account_locked');
  const passwordOk = await verifyPassword(user.password_hash, input.password);
  if (!passwordOk) return fail('wrong_password');
  if (user.disabled) return fail('disabled');

  let recoveryCodeUsed = false;
  if (user.totp_enabled && user.totp_secret_enc) {
    if (input.recoveryCode) {
      const h = recoveryCodeHash(ctx.keyring, user.tenant_id, user.id, input.recoveryCode);
      // Spent in one statement, so two sign-ins racing with one code cannot both succeed.
      const spent = await db.query(
        'UPDATE users SET recovery_code_hashes = array_remove(recovery_code_hashes, $3) WHERE tenant_id = $1 AND id = $2 AND $3 = ANY(recovery_code_hashes)',
        [user.tenant_id, user.id, h],
      );
      if (spent.affectedRows === 0) return fail('wrong_recovery_code', new DatongError('AUTH_TOTP_REQUIRED', 'The recovery code is wrong or was used already'));
      recoveryCodeUsed = true;
    } else if (input.totpCode) {
      const secret = ctx.keyring.decrypt(user.totp_secret_enc);
      const step = totpStep(secret, input.totpCode.trim(), now.getTime());
      const last = user.totp_last_step === null ? -1 : Number(user.totp_last_step);
      if (step === null || step <= last) return fail('wrong_totp', new DatongError('AUTH_TOTP_REQUIRED', 'The code is wrong or was used already; enter the current one'));
      await db.query('UPDATE users SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2', [user.tenant_id, user.id, step]);
    } else {
      // The expected second step, not a failure: the console now asks for the code.
      throw new LoginFailure(new DatongError('AUTH_TOTP_REQUIRED', 'Enter the 6-digit code from your authenticator app, or a recovery code'), user.tenant_id, user.id, 'totp_required');
    }
  }

  await db.query('UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = $3 WHERE tenant_id = $1 AND id = $2', [
    user.tenant_id,
    user.id,
    now.toISOString(),
  ]);
  await pruneAuthTables(db, now);
  const s = await createSession(db, user.tenant_id, user.id, now, ctx.session, ctx.ip, ctx.userAgent);
  return { tenantId: user.tenant_id, user: sessionUser(user), ...s, recoveryCodeUsed };
}

/**
 * Forgets sessions that ended over a day ago and failure counts untouched for a day (a sign-in
 * is a good moment: it is rare compared with other requests, and frequent enough).
 */
async function pruneAuthTables(q: Queryable, now: Date): Promise<void> {
  const dayAgo = new Date(now.getTime() - 86_400_000).toISOString();
  await q.query('DELETE FROM user_sessions WHERE expires_at < $1 OR revoked_at < $1', [dayAgo]);
  await q.query('DELETE FROM login_throttle WHERE first_failed_at < $1 AND (locked_until IS NULL OR locked_until < $2)', [dayAgo, now.toISOString()]);
}

export async function createSession(
  q: Queryable,
  tenantId: string,
  userId: string,
  now: Date,
  policy: SessionPolicy,
  ip: string | null,
  userAgent: string | null,
): Promise<{ token: string; csrfToken: string; expiresAt: Date; sessionId: string }> {
  const token = `${SESSION_TOKEN_PREFIX}${randomToken(32)}`;
  const csrfToken = randomToken(24);
  const sessionId = newId('ses', now.getTime());
  const expiresAt = new Date(now.getTime() + policy.maxMs);
  await q.query(
    `INSERT INTO user_sessions (tenant_id, id, token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)`,
    [tenantId, sessionId, sha256Hex(token), userId, csrfToken, now.toISOString(), expiresAt.toISOString(), ip, userAgent?.slice(0, 300) ?? null],
  );
  return { token, csrfToken, expiresAt, sessionId };
}

/** The live session of a session token: not revoked, not idle too long, not past its end, its user enabled. */
export async function resolveSession(q: Queryable, token: string, now: Date, policy: SessionPolicy): Promise<ActiveSession> {
  if (!token.startsWith(SESSION_TOKEN_PREFIX)) throw new DatongError('AUTH_REQUIRED', 'The session cookie is not valid; sign in again');
  const r = await q.query<UserAuthRow & { session_id: string; csrf_token: string; last_seen_at: Date | string; expires_at: Date | string; revoked_at: Date | null }>(
    `SELECT ${USER_AUTH_COLUMNS}, s.id AS session_id, s.csrf_token, s.last_seen_at, s.expires_at, s.revoked_at
     FROM user_sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id
     WHERE s.token_hash = $1`,
    [sha256Hex(token)],
  );
  const row = r.rows[0];
  if (!row || row.revoked_at !== null || row.disabled) throw new DatongError('AUTH_REQUIRED', 'Sign in again');
  const lastSeen = new Date(row.last_seen_at).getTime();
  if (now.getTime() - lastSeen > policy.idleMs || now.getTime() >= new Date(row.expires_at).getTime()) {
    throw new DatongError('AUTH_SESSION_EXPIRED');
  }
  if (now.getTime() - lastSeen > TOUCH_MS) {
    await q.query('UPDATE user_sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND id = $2', [row.tenant_id, row.session_id, now.toISOString()]);
  }
  return { tenantId: row.tenant_id, sessionId: row.session_id, csrfToken: row.csrf_token, user: sessionUser(row) };
}

export function csrfMatches(expected: string, sent: string | string[] | undefined): boolean {
  const v = Array.isArray(sent) ? sent[0] : sent;
  return typeof v === 'string' && v !== '' && safeEqual(v, expected);
}

export async function revokeSession(q: Queryable, tenantId: string, sessionId: string, now: Date): Promise<void> {
  await q.query('UPDATE user_sessions SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL', [tenantId, sessionId, now.toISOString()]);
}
