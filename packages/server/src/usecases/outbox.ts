import type { Queryable } from '../db/client.js';

export interface DomainEvent {
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

/** Writes domain events in the caller's transaction (the transactional outbox). */
export async function writeOutbox(q: Queryable, tenantId: string, events: readonly DomainEvent[], at: Date): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO outbox (tenant_id, type, payload, created_at)
     SELECT $1, x.type, x.payload, $2 FROM jsonb_to_recordset($3::jsonb) AS x(type text, payload jsonb)`,
    [tenantId, at.toISOString(), JSON.stringify(events)],
  );
}

/** Event types some enabled subscription of the tenant wants; only those are written to the outbox. */
export async function subscribedTypes(q: Queryable, tenantId: string): Promise<Set<string>> {
  const r = await q.query<{ t: string }>(
    'SELECT DISTINCT unnest(event_types) AS t FROM webhook_subscriptions WHERE tenant_id = $1 AND enabled',
    [tenantId],
  );
  return new Set(r.rows.map((x) => x.t));
}
