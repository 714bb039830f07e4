import { randomBytes } from 'node:crypto';
import { DatongError } from '@datong/core';
import { LoginBody, PasswordChange, PasswordConfirm, Problem, Session, TotpEnable, TotpRecoveryCodes, TotpSetup, Type } from '@datong/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_COOKIE, SESSION_COOKIE, type AuthContext } from '../../http/auth.js';
import { hashPassword, verifyPassword } from '../../security/passwords.js';
import { newTotpSecret, otpauthUrl, qrDataUrl, totpStep } from '../../security/totp.js';
import { DEFAULT_TENANT_ID } from '../../tenants.js';
import { revokeUserSessions } from '../../usecases/access.js';
import { recordAudit } from '../../usecases/audit.js';
import type { ServerDeps } from '../../usecases/context.js';
import { loadSessionUser, login, LoginFailure, recoveryCodeHash, revokeSession, type SessionUser } from '../../usecases/sessions.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const RECOVERY_CODES = 10;
// RFC 4648 base32 without the easily confused 0/1/8/9 being an issue: these 32 symbols only.
const CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export const meOut = (u: SessionUser) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  locale: u.locale,
  teamId: u.teamId,
  totpEnabled: u.totpEnabled,
  role: { ...u.role, permissions: [...u.role.permissions] },
});

/** 10 base32 characters (50 bits) as `xxxxx-xxxxx`. */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  const s = Array.from(bytes, (b) => CODE_ALPHABET[b % 32]).join('');
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

function sessionOf(req: FastifyRequest): AuthContext & { user: SessionUser; sessionId: string } {
  const a = req.auth;
  if (!a?.user || !a.sessionId) throw new DatongError('AUTH_REQUIRED', 'Sign in first');
  return a as AuthContext & { user: SessionUser; sessionId: string };
}

export function authRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring, config } = deps;
  const maxAgeSeconds = config.security.sessionMaxHours * 3600;
  // Secure when the request came over https (directly, or through a trusted proxy's X-Forwarded-Proto).
  const cookieOptions = (req: FastifyRequest, httpOnly: boolean) => ({ path: '/', sameSite: 'strict' as const, secure: req.protocol === 'https', httpOnly });
  const clearCookies = (req: FastifyRequest, reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(req, true));
    reply.clearCookie(CSRF_COOKIE, cookieOptions(req, false));
  };

  app.post(
    '/v1/auth/login',
    {
      config: { auth: 'public', audit: false },
      schema: {
        tags: ['auth'],
        summary: 'Sign in to the console: sets the session cookie (HttpOnly) and the CSRF cookie',
        description:
          'A wrong password and an unknown email answer alike (AUTH_LOGIN_FAILED). With two-factor sign-in on, the right password without a valid code answers AUTH_TOTP_REQUIRED: ' +
          'post again with totpCode (or recoveryCode). Too many failures lock sign-in for the account or the address (429 AUTH_LOCKED with Retry-After).',
        body: LoginBody,
        response: { 200: Session, ...errors, 429: Problem },
      },
    },
    async (req, reply) => {
      const body = req.body as { email: string; password: string; totpCode?: string; recoveryCode?: string; tenantId?: string };
      const now = deps.clock();
      try {
        const out = await login(
          {
            db,
            keyring,
            now,
            ip: req.ip,
            userAgent: req.headers['user-agent'] ?? null,
            lockout: { maxFailures: config.security.loginMaxFailures, ipMaxFailures: config.security.loginIpMaxFailures, lockMs: config.security.loginLockSeconds * 1000 },
            session: { idleMs: config.security.sessionIdleMinutes * 60_000, maxMs: maxAgeSeconds * 1000 },
            defaultTenantId: DEFAULT_TENANT_ID,
          },
          body,
        );
        await recordAudit(db, {
          tenantId: out.tenantId,
          actor: { type: 'user', id: out.user.id, label: out.user.email },
          action: 'auth.login',
          resourceType: 'user',
          resourceId: out.user.id,
          details: { method: out.recoveryCodeUsed ? 'recovery_code' : body.totpCode && out.user.totpEnabled ? 'totp' : 'password' },
          ip: req.ip,
          requestId: req.id,
          at: now,
        });
        reply.setCookie(SESSION_COOKIE, out.token, { ...cookieOptions(req, true), maxAge: maxAgeSeconds });
        reply.setCookie(CSRF_COOKIE, out.csrfToken, { ...cookieOptions(req, false), maxAge: maxAgeSeconds });
        return { user: meOut(out.user), csrfToken: out.csrfToken };
      } catch (e) {
        if (!(e instanceof LoginFailure)) throw e;
        if (e.reason !== 'totp_required') {
          // The attempted email is not recorded: for an unknown account it may be someone's mistyped password.
          await recordAudit(db, {
            tenantId: e.tenantId ?? body.tenantId ?? DEFAULT_TENANT_ID,
            actor: e.userId ? { type: 'user', id: e.userId, label: null } : { type: 'system', id: null, label: null },
            action: 'auth.login_failed',
            resourceType: 'user',
            resourceId: e.userId,
            details: { reason: e.reason },
            ip: req.ip,
            requestId: req.id,
            at: now,
          }).catch(() => undefined);
        }
        const retryAfter = e.error.extensions?.['retryAfter'];
        if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
        throw e.error;
      }
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { auth: 'session', audit: 'auth.logout' },
      schema: { tags: ['auth'], summary: 'Sign out: ends the session and clears its cookies', security: [{ session: [] }], response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const s = sessionOf(req);
      await revokeSession(db, s.tenantId, s.sessionId, deps.clock());
      clearCookies(req, reply);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/auth/me',
    {
      config: { auth: 'session' },
      schema: { tags: ['auth'], summary: 'The signed-in user, their role, and the CSRF token of the session', security: [{ session: [] }], response: { 200: Session, ...errors } },
    },
    async (req) => {
      const s = sessionOf(req);
      return { user: meOut(s.user), csrfToken: s.csrfToken ?? '' };
    },
  );

  app.patch(
    '/v1/auth/me',
    {
      config: { auth: 'session', audit: 'auth.profile_update' },
      schema: {
        tags: ['auth'],
        summary: "Change one's own display name or console language",
        security: [{ session: [] }],
        body: Type.Object(
          { name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })), locale: Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')])) },
          { additionalProperties: false },
        ),
        response: { 200: Session, ...errors },
      },
    },
    async (req) => {
      const s = sessionOf(req);
      const b = req.body as { name?: string; locale?: string };
      await db.query('UPDATE users SET name = COALESCE($3, name), locale = COALESCE($4, locale), updated_at = $5 WHERE tenant_id = $1 AND id = $2', [
        s.tenantId,
        s.user.id,
        b.name?.trim() || null,
        b.locale ?? null,
        deps.clock().toISOString(),
      ]);
      return { user: meOut(await loadSessionUser(db, s.tenantId, s.user.id)), csrfToken: s.csrfToken ?? '' };
    },
  );

  app.post(
    '/v1/auth/totp/setup',
    {
      config: { auth: 'session', audit: 'auth.totp_setup' },
      schema: {
        tags: ['auth'],
        summary: 'Start two-factor enrolment: a new secret and its QR code (confirm it with /v1/auth/totp/enable)',
        security: [{ session: [] }],
        response: { 200: TotpSetup, ...errors },
      },
    },
    async (req) => {
      const s = sessionOf(req);
      if (s.user.totpEnabled) throw new DatongError('VALIDATION_FAILED', 'Two-factor sign-in is on already; turn it off first to enrol a new device');
      const secret = newTotpSecret();
      await db.query('UPDATE users SET totp_pending_enc = $3 WHERE tenant_id = $1 AND id = $2', [s.tenantId, s.user.id, keyring.encrypt(secret)]);
      const url = otpauthUrl(secret, s.user.email);
      return { secret, otpauthUrl: url, qrDataUrl: await qrDataUrl(url) };
    },
  );

  app.post(
    '/v1/auth/totp/enable',
    {
      config: { auth: 'session', audit: 'auth.totp_enable' },
      schema: {
        tags: ['auth'],
        summary: 'Turn two-factor sign-in on with a first code from the app; answers 10 one-time recovery codes, shown once',
        security: [{ session: [] }],
        body: TotpEnable,
        response: { 200: TotpRecoveryCodes, ...errors },
      },
    },
    async (req) => {
      const s = sessionOf(req);
      const now = deps.clock();
      const r = await db.query<{ totp_pending_enc: string | null }>('SELECT totp_pending_enc FROM users WHERE tenant_id = $1 AND id = $2', [s.tenantId, s.user.id]);
      const pending = r.rows[0]?.totp_pending_enc;
      if (!pending) throw new DatongError('VALIDATION_FAILED', 'Start with POST /v1/auth/totp/setup');
      const secret = keyring.decrypt(pending);
      const step = totpStep(secret, (req.body as { code: string }).code.trim(), now.getTime());
      if (step === null) throw new DatongError('AUTH_TOTP_INVALID', 'The code does not match; check the time on the phone and enter the current code');
      const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
      await db.query(
        `UPDATE users SET totp_enabled = true, totp_secret_enc = $3, totp_pending_enc = NULL, totp_last_step = $4, recovery_code_hashes = $5::text[], updated_at = $6
         WHERE tenant_id = $1 AND id = $2`,
        [s.tenantId, s.user.id, pending, step, codes.map((c) => recoveryCodeHash(keyring, s.tenantId, s.user.id, c)), now.toISOString()],
      );
      return { recoveryCodes: codes };
    },
  );

  app.post(
    '/v1/auth/totp/disable',
    {
      config: { auth: 'session', audit: 'auth.totp_disable' },
      schema: { tags: ['auth'], summary: 'Turn two-factor sign-in off (needs the password)', security: [{ session: [] }], body: PasswordConfirm, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const s = sessionOf(req);
      await checkOwnPassword(s, (req.body as { password: string }).password);
      await db.query(
        `UPDATE users SET totp_enabled = false, totp_secret_enc = NULL, totp_pending_enc = NULL, totp_last_step = NULL, recovery_code_hashes = '{}', updated_at = $3
         WHERE tenant_id = $1 AND id = $2`,
        [s.tenantId, s.user.id, deps.clock().toISOString()],
      );
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/auth/password',
    {
      config: { auth: 'session', audit: 'auth.password_change' },
      schema: {
        tags: ['auth'],
        summary: "Change one's own password (other sessions of the user end)",
        security: [{ session: [] }],
        body: PasswordChange,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = sessionOf(req);
      const b = req.body as { currentPassword: string; newPassword: string };
      await checkOwnPassword(s, b.currentPassword);
      const now = deps.clock();
      await db.query('UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2', [s.tenantId, s.user.id, await hashPassword(b.newPassword), now.toISOString()]);
      await revokeUserSessions(db, s.tenantId, s.user.id, now, s.sessionId);
      return reply.code(204).send();
    },
  );

  async function checkOwnPassword(s: { tenantId: string; user: SessionUser }, password: string): Promise<void> {
    const r = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2', [s.tenantId, s.user.id]);
    const hash = r.rows[0]?.password_hash;
    if (!hash || !(await verifyPassword(hash, password))) throw new DatongError('AUTH_PASSWORD_INVALID');
  }
}
