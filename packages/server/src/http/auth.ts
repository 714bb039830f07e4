import { createHmac } from 'node:crypto';
import { DatongError } from '@datong/core';
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.js';
import { safeEqual, sha256Hex, type Keyring } from '../security/keys.js';

export type ApiScope = 'read' | 'write' | 'admin';

/** Every route declares one of these in `config.auth`; the server refuses to register a route without. */
export type AuthPolicy = `apiKey:${ApiScope}` | 'writeKey' | 'customerToken' | 'public';

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
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthPolicy;
    /** POSTs that create: honour Idempotency-Key. */
    idempotent?: boolean;
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
  readonly #keys = new Map<string, CacheEntry<{ tenantId: string; id: string; scopes: ApiScope[] } | null>>();
  readonly #writeKeys = new Map<string, CacheEntry<{ tenantId: string; id: string; type: string } | null>>();
  readonly #lastUsedWritten = new Map<string, number>();
  readonly #clock: () => Date;

  constructor(db: Queryable, keyring: Keyring, clock: () => Date = () => new Date()) {
    this.#db = db;
    this.#keyring = keyring;
    this.#clock = clock;
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
    const scope = policy.slice('apiKey:'.length) as ApiScope;
    if (!header) throw new DatongError('AUTH_REQUIRED', 'Send the API key as "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m?.[1]) throw new DatongError('AUTH_API_KEY_INVALID', 'Authorization must be "Bearer <key>"');
    const key = await this.#apiKey(m[1]);
    if (!key) throw new DatongError('AUTH_API_KEY_INVALID');
    if (!key.scopes.includes('admin') && !key.scopes.includes(scope)) {
      throw new DatongError('AUTH_SCOPE_MISSING', `This route needs the "${scope}" scope; the key has ${key.scopes.join(', ')}`);
    }
    return { tenantId: key.tenantId, actor: key.id, scopes: key.scopes };
  }

  async #apiKey(raw: string): Promise<{ tenantId: string; id: string; scopes: ApiScope[] } | null> {
    const hash = sha256Hex(raw);
    const now = Date.now();
    const hit = this.#keys.get(hash);
    if (hit && hit.expires > now) return hit.value;
    const r = await this.#db.query<{ tenant_id: string; id: string; scopes: string[] }>(
      'SELECT tenant_id, id, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    const row = r.rows[0];
    const value = row ? { tenantId: row.tenant_id, id: row.id, scopes: row.scopes as ApiScope[] } : null;
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
