import { DatongError, formatMinorUnits, isIdentifierType, normalizeIdentifier, ORDER_COMPLETED, type Identifier } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { iso, isoReq } from '../http/pagination.js';
import { identifierIndexInput } from '../jobs/process-inbox.js';
import type { Keyring } from '../security/keys.js';

export async function rootOf(q: Queryable, tenantId: string, customerId: string): Promise<string> {
  const r = await q.query<{ root_id: string }>('SELECT root_id FROM customers WHERE tenant_id = $1 AND id = $2', [tenantId, customerId]);
  const row = r.rows[0];
  if (!row) throw new DatongError('CUSTOMER_NOT_FOUND', `No customer ${customerId}`);
  return row.root_id;
}

export async function membersOf(q: Queryable, tenantId: string, rootId: string): Promise<string[]> {
  const r = await q.query<{ id: string }>('SELECT id FROM customers WHERE tenant_id = $1 AND root_id = $2 ORDER BY created_at, id', [tenantId, rootId]);
  return r.rows.map((x) => x.id);
}

interface IdentityRow {
  type: string;
  collection: string;
  value: string | null;
  value_enc: string | null;
  customer_id: string;
  source_id: string | null;
  created_at: Date | string;
}

export function identityValue(keyring: Keyring, row: { value: string | null; value_enc: string | null }): string {
  return row.value ?? (row.value_enc ? keyring.decrypt(row.value_enc) : '');
}

export async function loadCustomer(q: Queryable, keyring: Keyring, tenantId: string, anyId: string, now: Date) {
  const rootId = await rootOf(q, tenantId, anyId);
  const [root, members, identities, tags, counts, spend, merges] = await Promise.all([
    q.query<{ id: string; traits: Record<string, unknown>; consent: Record<string, unknown>; first_seen_at: Date; last_seen_at: Date; created_at: Date; updated_at: Date }>(
      'SELECT id, traits, consent, first_seen_at, last_seen_at, created_at, updated_at FROM customers WHERE tenant_id = $1 AND id = $2',
      [tenantId, rootId],
    ),
    membersOf(q, tenantId, rootId),
    q.query<IdentityRow>(
      `SELECT i.type, i.collection, i.value, i.value_enc, i.customer_id, i.source_id, i.created_at FROM customer_identities i
       JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
       WHERE i.tenant_id = $1 AND c.root_id = $2 ORDER BY i.created_at, i.type`,
      [tenantId, rootId],
    ),
    q.query<{ tag: string; source: string; rule_id: string | null; added_at: Date; expires_at: Date | null }>(
      `SELECT DISTINCT ON (t.tag) t.tag, t.source, t.rule_id, t.added_at, t.expires_at FROM customer_tags t
       JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
       WHERE t.tenant_id = $1 AND c.root_id = $2 AND (t.expires_at IS NULL OR t.expires_at > $3)
       ORDER BY t.tag, t.added_at`,
      [tenantId, rootId, now.toISOString()],
    ),
    q.query<{ events: number; orders: number }>(
      `SELECT count(*)::int AS events, count(*) FILTER (WHERE e.event = $3)::int AS orders FROM events e
       JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id WHERE e.tenant_id = $1 AND c.root_id = $2`,
      [tenantId, rootId, ORDER_COMPLETED],
    ),
    q.query<{ currency: string; total: string }>(
      `SELECT e.currency, sum(CASE WHEN e.event = 'Order Completed' THEN e.amount_minor ELSE -e.amount_minor END)::text AS total FROM events e
       JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id
       WHERE e.tenant_id = $1 AND c.root_id = $2 AND e.amount_minor IS NOT NULL AND e.event IN ('Order Completed', 'Order Refunded')
       GROUP BY e.currency ORDER BY e.currency`,
      [tenantId, rootId],
    ),
    q.query<{ id: string; from_customer_id: string; into_customer_id: string; identifier_type: string; rule: string; source_id: string | null; message_id: string | null; created_at: Date; unmerged_at: Date | null }>(
      `SELECT m.* FROM customer_merges m WHERE m.tenant_id = $1 AND (m.into_customer_id = ANY($2::text[]) OR m.from_customer_id = ANY($2::text[]))
       ORDER BY m.created_at, m.id`,
      [tenantId, await membersOf(q, tenantId, rootId)],
    ),
  ]);
  const r = root.rows[0];
  if (!r) throw new DatongError('CUSTOMER_NOT_FOUND');
  const tier = typeof r.traits['tier'] === 'string' ? r.traits['tier'] : null;
  return {
    id: r.id,
    traits: r.traits,
    identities: identities.rows.map((i) => ({
      type: i.type,
      collection: i.collection === '' ? null : i.collection,
      value: identityValue(keyring, i),
      customerId: i.customer_id,
      sourceId: i.source_id,
      createdAt: isoReq(i.created_at),
    })),
    tags: tags.rows.map((t) => ({
      name: t.tag,
      source: t.source as 'manual' | 'rule' | 'platform',
      ruleId: t.rule_id,
      addedAt: isoReq(t.added_at),
      expiresAt: iso(t.expires_at),
    })),
    consent: r.consent,
    tier,
    counts: { events: counts.rows[0]?.events ?? 0, orders: counts.rows[0]?.orders ?? 0, mergedCustomers: members.length - 1 },
    spend: spend.rows.map((s) => ({ currency: s.currency, total: formatMinorUnits(BigInt(s.total), s.currency) })),
    mergedCustomerIds: members.filter((m) => m !== rootId),
    merges: merges.rows.map((m) => ({
      id: m.id,
      fromCustomerId: m.from_customer_id,
      intoCustomerId: m.into_customer_id,
      identifierType: m.identifier_type,
      rule: m.rule,
      sourceId: m.source_id,
      messageId: m.message_id,
      createdAt: isoReq(m.created_at),
      unmergedAt: iso(m.unmerged_at),
    })),
    firstSeenAt: isoReq(r.first_seen_at),
    lastSeenAt: isoReq(r.last_seen_at),
    createdAt: isoReq(r.created_at),
    updatedAt: isoReq(r.updated_at),
  };
}

/** Finds the customer (root) holding an identifier, normalizing the value as ingestion does. */
export async function lookupCustomerId(
  q: Queryable,
  keyring: Keyring,
  tenantId: string,
  type: string,
  value: string,
  collection: string | undefined,
): Promise<string | null> {
  if (!isIdentifierType(type)) throw new DatongError('IDENTITY_TYPE_UNKNOWN', `Unknown identifier type "${type}"`);
  const n = normalizeIdentifier(type, value, collection);
  if (!n.ok) throw new DatongError('IDENTITY_VALUE_INVALID', n.reason);
  return lookupIdentifier(q, keyring, tenantId, n.identifier);
}

export async function lookupIdentifier(q: Queryable, keyring: Keyring, tenantId: string, id: Identifier): Promise<string | null> {
  const index = keyring.blindIndex(tenantId, identifierIndexInput(id));
  const r = await q.query<{ root_id: string }>(
    `SELECT c.root_id FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
     WHERE i.tenant_id = $1 AND i.value_index = $2`,
    [tenantId, index],
  );
  return r.rows[0]?.root_id ?? null;
}
