import { customerInScope, DatongError, maskEmail, maskIdentityValue, maskPhone, maskTraits, maskValue, piiKind, type ErrorCode, type ScopedViewer } from '@datong/core';
import type { Queryable } from '../db/client.js';
import type { AuthContext } from '../http/auth.js';

/**
 * Data scopes and masking of the customer API (issue 3, C13). API keys see every customer
 * whole; a console user sees what the role's data scope allows, masked when the role masks
 * personal data. A customer outside the scope answers exactly as one that does not exist.
 */

/** The scope to enforce, or null when the caller sees every customer. */
export function scopeOf(auth: AuthContext): ScopedViewer | null {
  const u = auth.user;
  if (!u || u.role.dataScope === 'all') return null;
  return { id: u.id, teamId: u.teamId, dataScope: u.role.dataScope };
}

export function masksPii(auth: AuthContext): boolean {
  return auth.user?.role.maskPii === true;
}

/**
 * The SQL condition limiting root customers `alias` to the viewer's scope (null: no limit).
 * Pushes its parameters onto `params`.
 */
export function scopeCondition(viewer: ScopedViewer | null, params: unknown[], alias = 'c'): string | null {
  if (viewer === null) return null;
  params.push(viewer.id);
  const me = `$${params.length}`;
  if (viewer.dataScope === 'own' || viewer.teamId === null) return `${alias}.owner_user_id = ${me}`;
  params.push(viewer.teamId);
  return `(${alias}.owner_user_id = ${me} OR ${alias}.owner_user_id IN (SELECT tu.id FROM users tu WHERE tu.tenant_id = ${alias}.tenant_id AND tu.team_id = $${params.length}))`;
}

/**
 * The root of `anyId` when the caller may see it; otherwise `notFound` (the same error as for
 * a customer that does not exist).
 */
export async function visibleRoot(q: Queryable, auth: AuthContext, anyId: string, notFound: ErrorCode = 'CUSTOMER_NOT_FOUND'): Promise<string> {
  const r = await q.query<{ root_id: string; owner_user_id: string | null; owner_team_id: string | null }>(
    `SELECT r.id AS root_id, r.owner_user_id, u.team_id AS owner_team_id
     FROM customers x JOIN customers r ON r.tenant_id = x.tenant_id AND r.id = x.root_id
     LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.owner_user_id
     WHERE x.tenant_id = $1 AND x.id = $2`,
    [auth.tenantId, anyId],
  );
  const row = r.rows[0];
  const viewer = scopeOf(auth);
  const visible = row !== undefined && (viewer === null || customerInScope(viewer, row.owner_user_id ? { id: row.owner_user_id, teamId: row.owner_team_id } : null));
  if (!row || !visible) throw new DatongError(notFound, notFound === 'CUSTOMER_NOT_FOUND' ? `No customer ${anyId}` : undefined);
  return row.root_id;
}

interface Maskable {
  traits: Record<string, unknown>;
  identities?: { type: string; value: string }[];
  phone?: string | null;
  email?: string | null;
}

/** The customer as the caller may see it: personal traits and phone/email identities masked, `masked: true`. */
export function maskCustomerFor<T extends Maskable>(auth: AuthContext, c: T): T & { masked?: boolean } {
  if (!masksPii(auth)) return c;
  return {
    ...c,
    traits: maskTraits(c.traits),
    ...(c.identities ? { identities: c.identities.map((i) => ({ ...i, value: maskIdentityValue(i.type, i.value) })) } : {}),
    ...(typeof c.phone === 'string' ? { phone: maskPhone(c.phone) } : {}),
    ...(typeof c.email === 'string' ? { email: maskEmail(c.email) } : {}),
    masked: true,
  };
}

export function maskPropertiesFor<T extends { properties: Record<string, unknown> }>(auth: AuthContext, e: T): T & { masked?: boolean } {
  if (!masksPii(auth)) return e;
  return { ...e, properties: maskTraits(e.properties), masked: true };
}

/**
 * A stored payload (a quarantined message or value) as the caller may see it: personal fields
 * masked wherever they sit, and a set-aside value masked by the kind of field it came from.
 */
export function maskPayloadFor<T extends { payload: unknown }>(auth: AuthContext, item: T): T {
  if (!masksPii(auth) || typeof item.payload !== 'object' || item.payload === null || Array.isArray(item.payload)) return item;
  const p = maskTraits(item.payload as Record<string, unknown>);
  const field = typeof p['field'] === 'string' ? p['field'] : '';
  const kind = piiKind(field.split('.').pop() ?? '');
  if (kind !== null && p['value'] !== undefined && p['value'] !== null) p['value'] = typeof p['value'] === 'string' ? maskValue(kind, p['value']) : '***';
  return { ...item, payload: p };
}
