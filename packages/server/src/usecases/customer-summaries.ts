import type { Queryable } from '../db/client.js';
import { isoReq } from '../http/pagination.js';
import type { Keyring } from '../security/keys.js';
import { identityValue } from './customers.js';

/**
 * Customer summaries as lists show them (the customers search, the rule-tag preview's sample):
 * a root's traits, owner, tags gathered over its members, and its first phone and email.
 * Not masked here: callers pass each one through `maskCustomerFor`.
 */

export interface SummaryRow {
  id: string;
  traits: Record<string, unknown>;
  first_seen_at: Date;
  last_seen_at: Date;
  created_at: Date;
  tags: string[] | null;
  owner_user_id: string | null;
  owner_name: string | null;
}

/** The columns of a `SummaryRow` for root customers aliased `c`. */
export const SUMMARY_COLUMNS = `c.id, c.traits, c.first_seen_at, c.last_seen_at, c.created_at, c.owner_user_id,
       (SELECT u.name FROM users u WHERE u.tenant_id = c.tenant_id AND u.id = c.owner_user_id) AS owner_name,
       (SELECT array_agg(DISTINCT t.tag ORDER BY t.tag) FROM customer_tags t JOIN customers m ON m.tenant_id = t.tenant_id AND m.id = t.customer_id
        WHERE t.tenant_id = c.tenant_id AND m.root_id = c.id) AS tags`;

/** A trait as a non-empty string, or null. */
export const traitString = (traits: Record<string, unknown>, key: string): string | null => {
  const v = traits[key];
  return typeof v === 'string' && v !== '' ? v : null;
};

export const summaryOut = (c: SummaryRow, contacts: Map<string, string>) => ({
  id: c.id,
  owner: c.owner_user_id ? { id: c.owner_user_id, name: c.owner_name ?? '' } : null,
  phone: contacts.get(`${c.id}:phone`) ?? traitString(c.traits, 'phone'),
  email: contacts.get(`${c.id}:email`) ?? traitString(c.traits, 'email'),
  traits: c.traits,
  tags: c.tags ?? [],
  firstSeenAt: isoReq(c.first_seen_at),
  lastSeenAt: isoReq(c.last_seen_at),
  createdAt: isoReq(c.created_at),
});
export type CustomerSummaryOut = ReturnType<typeof summaryOut>;

/** The first phone and email identity of each root (decrypted), keyed `<root>:phone` / `<root>:email`. */
export async function contactsOf(q: Queryable, keyring: Keyring, tenantId: string, rootIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (rootIds.length === 0) return out;
  const r = await q.query<{ root_id: string; type: string; value: string | null; value_enc: string | null }>(
    `SELECT DISTINCT ON (c.root_id, i.type) c.root_id, i.type, i.value, i.value_enc
     FROM customers c JOIN customer_identities i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id
     WHERE c.tenant_id = $1 AND c.root_id = ANY($2::text[]) AND i.type IN ('phone', 'email')
     ORDER BY c.root_id, i.type, i.created_at`,
    [tenantId, rootIds],
  );
  for (const x of r.rows) out.set(`${x.root_id}:${x.type}`, identityValue(keyring, x));
  return out;
}

/** Summaries of these root customers (a short list), in the given order; unknown ids are left out. */
export async function customerSummaries(q: Queryable, keyring: Keyring, tenantId: string, rootIds: readonly string[]): Promise<CustomerSummaryOut[]> {
  if (rootIds.length === 0) return [];
  const r = await q.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM customers c WHERE c.tenant_id = $1 AND c.id = ANY($2::text[]) AND c.merged_into IS NULL`, [
    tenantId,
    rootIds,
  ]);
  const contacts = await contactsOf(q, keyring, tenantId, rootIds);
  const byId = new Map(r.rows.map((c) => [c.id, c]));
  return rootIds.flatMap((id) => {
    const c = byId.get(id);
    return c ? [summaryOut(c, contacts)] : [];
  });
}
