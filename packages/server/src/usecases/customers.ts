import { DatongError, formatMinorUnits, isIdentifierType, normalizeIdentifier, ORDER_COMPLETED, ORDER_REFUNDED, type Identifier } from '@datong/core';
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
  value_index: string;
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

interface CustomerRow {
  id: string;
  owner_user_id: string | null;
  owner_name: string | null;
  traits: Record<string, unknown>;
  consent: Record<string, unknown>;
  first_seen_at: Date | string;
  last_seen_at: Date | string;
  created_at: Date | string;
  updated_at: Date | string;
  members: string[];
  identities: (Omit<IdentityRow, 'created_at'> & { created_at: string })[] | null;
  tags: { tag: string; source: string; rule_id: string | null; added_at: string; expires_at: string | null }[] | null;
  events: number;
  orders: number;
  spend: { currency: string; total: string }[] | null;
  merges:
    | {
        id: string;
        from_customer_id: string;
        into_customer_id: string;
        identifier_type: string;
        rule: string;
        source_id: string | null;
        message_id: string | null;
        created_at: string;
        unmerged_at: string | null;
      }[]
    | null;
}

/**
 * The customer 360 of the root that `anyId` belongs to, in one statement (one round trip,
 * one plan): profile, identities, live tags, counts, spend per currency and merge history,
 * each gathered over the root's members.
 */
const LOAD_CUSTOMER_SQL = `
  WITH root AS (SELECT r.* FROM customers x JOIN customers r ON r.tenant_id = x.tenant_id AND r.id = x.root_id WHERE x.tenant_id = $1 AND x.id = $2),
  members AS (SELECT m.id, m.created_at FROM customers m, root WHERE m.tenant_id = $1 AND m.root_id = root.id)
  SELECT root.id, root.traits, root.consent, root.first_seen_at, root.last_seen_at, root.created_at, root.updated_at, root.owner_user_id,
    (SELECT u.name FROM users u WHERE u.tenant_id = $1 AND u.id = root.owner_user_id) AS owner_name,
    (SELECT array_agg(id ORDER BY created_at, id) FROM members) AS members,
    (SELECT json_agg(i ORDER BY i.created_at, i.type) FROM (
       SELECT i.value_index, i.type, i.collection, i.value, i.value_enc, i.customer_id, i.source_id, i.created_at
       FROM customer_identities i JOIN members m ON i.tenant_id = $1 AND i.customer_id = m.id) i) AS identities,
    (SELECT json_agg(t ORDER BY t.tag) FROM (
       SELECT DISTINCT ON (t.tag) t.tag, t.source, t.rule_id, t.added_at, t.expires_at
       FROM customer_tags t JOIN members m ON t.tenant_id = $1 AND t.customer_id = m.id
       WHERE t.expires_at IS NULL OR t.expires_at > $3 ORDER BY t.tag, t.added_at) t) AS tags,
    (SELECT count(*)::int FROM events e JOIN members m ON e.tenant_id = $1 AND e.customer_id = m.id) AS events,
    (SELECT count(*)::int FROM events e JOIN members m ON e.tenant_id = $1 AND e.customer_id = m.id WHERE e.event = $4) AS orders,
    (SELECT json_agg(s ORDER BY s.currency) FROM (
       SELECT e.currency, sum(CASE WHEN e.event = $4 THEN e.amount_minor ELSE -e.amount_minor END)::text AS total
       FROM events e JOIN members m ON e.tenant_id = $1 AND e.customer_id = m.id
       WHERE e.amount_minor IS NOT NULL AND e.event IN ($4, $5) GROUP BY e.currency) s) AS spend,
    (SELECT json_agg(g ORDER BY g.created_at, g.id) FROM (
       SELECT mg.id, mg.from_customer_id, mg.into_customer_id, mg.identifier_type, mg.rule, mg.source_id, mg.message_id, mg.created_at, mg.unmerged_at
       FROM customer_merges mg WHERE mg.tenant_id = $1 AND mg.into_customer_id IN (SELECT id FROM members)
       UNION -- two index lookups; an OR in the join condition would scan the table
       SELECT mg.id, mg.from_customer_id, mg.into_customer_id, mg.identifier_type, mg.rule, mg.source_id, mg.message_id, mg.created_at, mg.unmerged_at
       FROM customer_merges mg WHERE mg.tenant_id = $1 AND mg.from_customer_id IN (SELECT id FROM members)) g) AS merges
  FROM root`;

export async function loadCustomer(q: Queryable, keyring: Keyring, tenantId: string, anyId: string, now: Date) {
  const res = await q.query<CustomerRow>(LOAD_CUSTOMER_SQL, [tenantId, anyId, now.toISOString(), ORDER_COMPLETED, ORDER_REFUNDED]);
  const r = res.rows[0];
  if (!r) throw new DatongError('CUSTOMER_NOT_FOUND', `No customer ${anyId}`);
  const tier = typeof r.traits['tier'] === 'string' ? r.traits['tier'] : null;
  const members = r.members ?? [r.id];
  return {
    id: r.id,
    owner: r.owner_user_id ? { id: r.owner_user_id, name: r.owner_name ?? '' } : null,
    traits: r.traits,
    identities: (r.identities ?? []).map((i) => ({
      id: i.value_index,
      type: i.type,
      collection: i.collection === '' ? null : i.collection,
      value: identityValue(keyring, i),
      customerId: i.customer_id,
      sourceId: i.source_id,
      createdAt: isoReq(i.created_at),
    })),
    tags: (r.tags ?? []).map((t) => ({
      name: t.tag,
      source: t.source as 'manual' | 'rule' | 'platform',
      ruleId: t.rule_id,
      addedAt: isoReq(t.added_at),
      expiresAt: iso(t.expires_at),
    })),
    consent: r.consent,
    tier,
    counts: { events: r.events, orders: r.orders, mergedCustomers: members.length - 1 },
    spend: (r.spend ?? []).map((s) => ({ currency: s.currency, total: formatMinorUnits(BigInt(s.total), s.currency) })),
    mergedCustomerIds: members.filter((m) => m !== r.id),
    merges: (r.merges ?? []).map((m) => ({
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
