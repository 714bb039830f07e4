import { DatongError } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { lockTenantIdentities } from './identity-lock.js';
import { subscribedTypes, writeOutbox, type DomainEvent } from './outbox.js';
import { rootOf } from './customers.js';
import { refreshSegments } from './segments.js';
import { applyRules, loadEnabledRules } from './tag-rules.js';

/** Recomputes a root's merged profile from its members' own traits (older first, newer wins). */
export async function recomputeRootProfile(q: Queryable, tenantId: string, rootId: string, nowIso: string): Promise<void> {
  const r = await q.query<{ own_traits: Record<string, unknown>; first_seen_at: Date; last_seen_at: Date }>(
    'SELECT own_traits, first_seen_at, last_seen_at FROM customers WHERE tenant_id = $1 AND root_id = $2 ORDER BY updated_at, created_at, id',
    [tenantId, rootId],
  );
  const traits: Record<string, unknown> = {};
  let fs: number | null = null;
  let ls: number | null = null;
  for (const row of r.rows) {
    Object.assign(traits, row.own_traits);
    const f = new Date(row.first_seen_at).getTime();
    const l = new Date(row.last_seen_at).getTime();
    fs = fs === null ? f : Math.min(fs, f);
    ls = ls === null ? l : Math.max(ls, l);
  }
  await q.query('UPDATE customers SET traits = $3::jsonb, first_seen_at = $4, last_seen_at = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    rootId,
    JSON.stringify(traits),
    new Date(fs ?? Date.parse(nowIso)).toISOString(),
    new Date(ls ?? Date.parse(nowIso)).toISOString(),
    nowIso,
  ]);
}

export interface UnmergeOutcome {
  customerId: string;
  restoredCustomerId: string;
  mergeId: string;
  movedCustomerIds: string[];
}

/**
 * Undoes one merge into the customer `customerId`: the merged customer becomes a customer of
 * its own again, with everything that was merged into it, its identities, its events and
 * its tags (they never moved). Both profiles are rebuilt and rule tags re-evaluated.
 */
export async function unmerge(
  q: Queryable,
  tenantId: string,
  customerId: string,
  selector: { mergeId?: string | undefined; customerId?: string | undefined },
  actor: string,
  now: Date,
): Promise<UnmergeOutcome> {
  await lockTenantIdentities(q, tenantId);
  const rootId = await rootOf(q, tenantId, customerId);
  const active = await q.query<{ id: string; from_customer_id: string; into_customer_id: string }>(
    `SELECT m.id, m.from_customer_id, m.into_customer_id FROM customer_merges m
     JOIN customers f ON f.tenant_id = m.tenant_id AND f.id = m.from_customer_id
     WHERE m.tenant_id = $1 AND m.unmerged_at IS NULL AND f.root_id = $2 AND f.merged_into = m.into_customer_id
     ORDER BY m.created_at DESC, m.id DESC`,
    [tenantId, rootId],
  );
  const merge = active.rows.find(
    (m) => (selector.mergeId === undefined || m.id === selector.mergeId) && (selector.customerId === undefined || m.from_customer_id === selector.customerId),
  );
  if (!merge) {
    throw new DatongError(
      'MERGE_NOT_FOUND',
      selector.mergeId || selector.customerId ? 'That merge is not an active merge of this customer' : 'This customer has no merge to undo',
    );
  }
  const nowIso = now.toISOString();
  const sub = await q.query<{ id: string }>(
    `WITH RECURSIVE sub AS (
       SELECT id FROM customers WHERE tenant_id = $1 AND id = $2
       UNION ALL
       SELECT c.id FROM customers c JOIN sub ON c.merged_into = sub.id WHERE c.tenant_id = $1 AND c.root_id = $3
     ) SELECT id FROM sub`,
    [tenantId, merge.from_customer_id, rootId],
  );
  const moved = sub.rows.map((r) => r.id);
  await q.query('UPDATE customers SET root_id = $2 WHERE tenant_id = $1 AND id = ANY($3::text[])', [tenantId, merge.from_customer_id, moved]);
  await q.query('UPDATE customers SET merged_into = NULL, merged_at = NULL WHERE tenant_id = $1 AND id = $2', [tenantId, merge.from_customer_id]);
  await q.query('UPDATE customer_merges SET unmerged_at = $3, unmerged_by = $4 WHERE tenant_id = $1 AND id = $2', [tenantId, merge.id, nowIso, actor]);
  await recomputeRootProfile(q, tenantId, rootId, nowIso);
  await recomputeRootProfile(q, tenantId, merge.from_customer_id, nowIso);
  const wanted = await subscribedTypes(q, tenantId);
  const events: DomainEvent[] = [];
  if (wanted.has('customer.unmerged')) {
    events.push({ type: 'customer.unmerged', payload: { customerId: rootId, restoredCustomerId: merge.from_customer_id, mergeId: merge.id } });
  }
  const outcome = await applyRules(q, tenantId, await loadEnabledRules(q, tenantId), [rootId, merge.from_customer_id], now);
  for (const e of outcome.events) if (wanted.has(e.type)) events.push(e);
  // Both profiles were rebuilt: every segment is re-decided for both roots.
  await refreshSegments(q, tenantId, [rootId, merge.from_customer_id], { all: true }, now);
  await writeOutbox(q, tenantId, events, now);
  return { customerId: rootId, restoredCustomerId: merge.from_customer_id, mergeId: merge.id, movedCustomerIds: moved };
}
