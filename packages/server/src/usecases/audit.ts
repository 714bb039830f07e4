import type { Queryable } from '../db/client.js';
import type { AuthContext } from '../http/auth.js';
import { isoReq, keysetPage, toPage } from '../http/pagination.js';
import { newId } from '../ids.js';

/**
 * The audit log (issue 3, C13): who read personal data, who changed what. Entries name the
 * resource and the fields touched, never their values.
 */

export type ActorType = 'user' | 'apiKey' | 'system';

export interface AuditEntry {
  readonly tenantId: string;
  readonly actor: { readonly type: ActorType; readonly id: string | null; readonly label: string | null };
  readonly action: string;
  readonly resourceType?: string | null;
  readonly resourceId?: string | null;
  readonly details?: Record<string, unknown>;
  readonly ip?: string | null;
  readonly requestId?: string | null;
  readonly at: Date;
}

export function actorOf(auth: AuthContext): AuditEntry['actor'] {
  if (auth.user) return { type: 'user', id: auth.user.id, label: auth.user.email };
  return { type: 'apiKey', id: auth.actor, label: auth.label ?? null };
}

export async function recordAudit(q: Queryable, e: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (tenant_id, id, at, actor_type, actor_id, actor_label, action, resource_type, resource_id, details, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)`,
    [
      e.tenantId,
      newId('aud', e.at.getTime()),
      e.at.toISOString(),
      e.actor.type,
      e.actor.id,
      e.actor.label,
      e.action,
      e.resourceType ?? null,
      e.resourceId ?? null,
      JSON.stringify(e.details ?? {}),
      e.ip ?? null,
      e.requestId ?? null,
    ],
  );
}

export interface AuditFilter {
  readonly actorId?: string;
  readonly actorType?: string;
  readonly action?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly cursor?: string;
  readonly limit: number;
}

interface AuditRow {
  id: string;
  at: Date | string;
  actor_type: ActorType;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  details: Record<string, unknown>;
  ip: string | null;
}

/** Newest first, keyset-paginated on (at, id). `from` is inclusive, `to` exclusive. */
export async function listAudit(q: Queryable, tenantId: string, f: AuditFilter) {
  const params: unknown[] = [tenantId];
  const where = ['tenant_id = $1'];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined || v === '') return;
    params.push(v);
    where.push(`${col} = $${params.length}`);
  };
  eq('actor_id', f.actorId);
  eq('actor_type', f.actorType);
  eq('action', f.action);
  eq('resource_type', f.resourceType);
  eq('resource_id', f.resourceId);
  if (f.from) {
    params.push(f.from);
    where.push(`at >= $${params.length}::timestamptz`);
  }
  if (f.to) {
    params.push(f.to);
    where.push(`at < $${params.length}::timestamptz`);
  }
  const order = keysetPage(params, where, f.cursor, f.limit, 'at', 'id');
  const r = await q.query<AuditRow>(
    `SELECT id, at, actor_type, actor_id, actor_label, action, resource_type, resource_id, details, ip FROM audit_log WHERE ${where.join(' AND ')} ${order}`,
    params,
  );
  return toPage(
    r.rows,
    f.limit,
    (a) => ({
      id: a.id,
      at: isoReq(a.at),
      actor: { type: a.actor_type, id: a.actor_id, label: a.actor_label },
      action: a.action,
      resourceType: a.resource_type,
      resourceId: a.resource_id,
      details: a.details,
      ip: a.ip,
    }),
    (a) => [a.at, a.id],
  );
}
