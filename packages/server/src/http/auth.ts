import { createHmac } from 'node:crypto';
import { DatongError, type Permission } from '@datong/core';
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.js';
import { safeEqual, sha256Hex, type Keyring } from '../security/keys.js';
import { csrfMatches, resolveSession, type SessionPolicy, type SessionUser } from '../usecases/sessions.js';

export type ApiScope = 'read' | 'write' | 'admin';

/**
 * Every route declares one of these in `config.auth`; the server refuses to register a route
 * without. `apiKey:*` routes also accept a console session (the `datong_session` cookie), whose
 * role must then hold the route's permission; `session` routes accept only a session.
 */
export type AuthPolicy = `apiKey:${ApiScope}` | 'session' | 'writeKey' | 'customerToken' | 'public';

export const SESSION_COOKIE = 'datong_session';
export const CSRF_COOKIE = 'datong_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The permission a session user needs on an `apiKey:*` route that declares none. */
export const DEFAULT_PERMISSION: Record<ApiScope, Permission> = {
  read: 'customers.read',
  write: 'customers.write',
  admin: 'settings.manage',
};

export interface AuthContext {
  readonly tenantId: string;
  /** API key id, `src:<id>` for a write key, `cus:<id>` for a customer token. */
  readonly actor: string;
  readonly scopes: readonly ApiScope[];
  readonly sourceId?: string;
  readonly sourceType?: string;
  readonly customerId?: string;
  readonly connectorId?: string;
  readonly platformUserId?: string;
  /** The API key's name (audit log). */
  readonly label?: string;
  /** Set when a console user is signed in with a session cookie (then `actor` is the user id). */
  readonly user?: SessionUser;
  readonly sessionId?: string;
  readonly csrfToken?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthPolicy;
    /** What a console user's role must grant (default for `apiKey:*` routes: DEFAULT_PERMISSION). */
    permission?: Permission;
    /** POSTs that create: honour Idempotency-Key. */
    idempotent?: boolean;
    /** The audit action for a change (default `<METHOD> <route>`); false when the handler audits itself. */
    audit?: string | false;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

interface CacheEntry<T> {
  value: T;
  expires: number;
}

const CACHE_MS = 10_000;

/** Checks API keys and write keys, with a short cache so the ingest path needs no lookup per request. */
export class Authenticator {
  readonly #db: Queryable;
  readonly #keyring: Keyring;
  readonly #keys = new Map<string, CacheEntry<{ tenantId: string; id: string; name: string; scopes: ApiScope[] } | null>>();
  readonly #writeKeys = new Map<string, CacheEntry<{ tenantId: string; id: string; type: string } | null>>();
  readonly #lastUsedWritten = new Map<string, number>();
  readonly #clock: () => Date;
  readonly #sessions: SessionPolicy;

  constructor(db: Queryable, keyring: Keyring, clock: () => Date = () => new Date(), sessions: SessionPolicy = { idleMs: 30 * 60_000, maxMs: 12 * 3_600_000 }) {
    this.#db = db;
    this.#keyring = keyring;
    this.#clock = clock;
    this.#sessions = sessions;
  }

  invalidate(): void {
    this.#keys.clear();
    this.#writeKeys.clear();
  }

  async authenticate(req: FastifyRequest, policy: AuthPolicy): Promise<AuthContext | null> {
    if (policy === 'public') return null;
    const header = req.headers.authorization;
    if (policy === 'writeKey') return this.#writeKey(header);
    if (policy === 'customerToken') return this.#customerToken(header);
    const cookie = (req.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
    if (policy === 'session') {
      if (!cookie) throw new DatongError('AUTH_REQUIRED', 'Sign in first');
      return this.#session(req, cookie, req.routeOptions.config.permission);
    }
    const scope = policy.slice('apiKey:'.length) as ApiScope;
    // An Authorization header wins: API clients behave exactly as before sessions existed.
    if (!header && cookie) return this.#session(req, cookie, req.routeOptions.config.permission ?? DEFAULT_PERMISSION[scope]);
    if (!header) throw new DatongError('AUTH_REQUIRED', 'Send the API key as "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m?.[1]) throw new DatongError('AUTH_API_KEY_INVALID', 'Authorization must be "Bearer <key>"');
    const key = await this.#apiKey(m[1]);
    if (!key) throw new DatongError('AUTH_API_KEY_INVALID');
    if (!key.scopes.includes('admin') && !key.scopes.includes(scope)) {
      throw new DatongError('AUTH_SCOPE_MISSING', `This route needs the "${scope}" scope; the key has ${key.scopes.join(', ')}`);
    }
    return { tenantId: key.tenantId, actor: key.id, scopes: key.scopes, label: key.name };
  }

  /**
   * A console session. Non-GET requests must echo the session's CSRF token in X-CSRF-Token
   * (OWASP CSRF Prevention Cheat Sheet, "Signed double-submit cookie": the token is also in the
   * readable datong_csrf cookie, and compared here with the server's copy).
   */
  async #session(req: FastifyRequest, token: string, permission: Permission | undefined): Promise<AuthContext> {
    const s = await resolveSession(this.#db, token, this.#clock(), this.#sessions);
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && !csrfMatches(s.csrfToken, req.headers[CSRF_HEADER])) {
      throw new DatongError('AUTH_CSRF_INVALID', `Send the csrfToken of the session in the ${CSRF_HEADER} header`);
    }
    if (permission && !s.user.role.permissions.includes(permission)) {
      throw new DatongError('AUTH_PERMISSION_MISSING', `This needs the "${permission}" permission, which the role "${s.user.role.name}" does not grant`);
    }
    return { tenantId: s.tenantId, actor: s.user.id, scopes: [], label: s.user.email, user: s.user, sessionId: s.sessionId, csrfToken: s.csrfToken };
  }

  async #apiKey(raw: string): Promise<{ tenantId: string; id: string; name: string; scopes: ApiScope[] } | null> {
    const hash = sha256Hex(raw);
    const now = Date.now();
    const hit = this.#keys.get(hash);
    if (hit && hit.expires > now) return hit.value;
    const r = await this.#db.query<{ tenant_id: string; id: string; name: string; scopes: string[] }>(
      'SELECT tenant_id, id, name, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    const row = r.rows[0];
    const value = row ? { tenantId: row.tenant_id, id: row.id, name: row.name, scopes: row.scopes as ApiScope[] } : null;
    this.#keys.set(hash, { value, expires: now + CACHE_MS });
    if (value && (this.#lastUsedWritten.get(value.id) ?? 0) < now - 60_000) {
      this.#lastUsedWritten.set(value.id, now);
      await this.#db.query('UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2', [value.tenantId, value.id]);
    }
    return value;
  }

  async #writeKey(header: string | undefined): Promise<AuthContext> {
    if (!header) throw new DatongError('AUTH_REQUIRED', 'Send the source write key with HTTP Basic auth (write key as the user name)');
    const m = /^Basic\s+(\S+)$/i.exec(header);
    if (!m?.[1]) throw new DatongError('AUTH_WRITE_KEY_INVALID', 'Use HTTP Basic auth with the write key as the user name');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const writeKey = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    if (!writeKey) throw new DatongError('AUTH_WRITE_KEY_INVALID');
    const hash = sha256Hex(writeKey);
    const now = Date.now();
    let hit = this.#writeKeys.get(hash);
    if (!hit || hit.expires <= now) {
      const r = await this.#db.query<{ tenant_id: string; id: string; type: string }>(
        'SELECT tenant_id, id, type FROM sources WHERE write_key_hash = $1 AND disabled_at IS NULL',
        [hash],
      );
      const row = r.rows[0];
      hit = { value: row ? { tenantId: row.tenant_id, id: row.id, type: row.type } : null, expires: now + CACHE_MS };
      this.#writeKeys.set(hash, hit);
    }
    if (!hit.value) throw new DatongError('AUTH_WRITE_KEY_INVALID');
    return { tenantId: hit.value.tenantId, actor: `src:${hit.value.id}`, scopes: ['write'], sourceId: hit.value.id, sourceType: hit.value.type };
  }

  #customerToken(header: string | undefined): AuthContext {
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m?.[1]) throw new DatongError('AUTH_REQUIRED', 'Send the customer token from login as "Authorization: Bearer <token>"');
    const claims = verifyCustomerToken(this.#keyring, m[1], this.#clock().getTime());
    return {
      tenantId: claims.t,
      actor: `cus:${claims.c}`,
      scopes: [],
      customerId: claims.c,
      connectorId: claims.k,
      ...(claims.o ? { platformUserId: claims.o } : {}),
    };
  }
}

export interface CustomerTokenClaims {
  /** tenant */ t: string;
  /** customer */ c: string;
  /** connector */ k: string;
  /** the platform user id the session belongs to (WeChat openid) */ o?: string;
  /** expiry, seconds since epoch */ exp: number;
}

const TOKEN_PREFIX = 'dct_';

/** A compact HMAC-SHA256-signed token (JWT-like, without the algorithm negotiation). */
export function signCustomerToken(keyring: Keyring, claims: CustomerTokenClaims): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = createHmac('sha256', keyring.tokenKey).update(body).digest('base64url');
  return `${TOKEN_PREFIX}${body}.${sig}`;
}

export function verifyCustomerToken(keyring: Keyring, token: string, nowMs: number): CustomerTokenClaims {
  if (!token.startsWith(TOKEN_PREFIX)) throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID');
  const [body, sig] = token.slice(TOKEN_PREFIX.length).split('.');
  if (!body || !sig) throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID');
  const expected = createHmac('sha256', keyring.tokenKey).update(body).digest('base64url');
  if (!safeEqual(sig, expected)) throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID');
  let claims: CustomerTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CustomerTokenClaims;
  } catch (e) {
    throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID', undefined, { cause: e });
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID', 'The token has expired; log in again');
  return claims;
}
