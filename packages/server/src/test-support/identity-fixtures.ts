import type { Db } from '../db/client.js';

/** An identifier in a generated test message: a type of the OneID model and its value. */
export interface TestIdentifier {
  readonly type: string;
  readonly id: string;
}

/**
 * A Segment track message carrying these identifiers the way clients send them: the first
 * user_id as `userId`, the first anonymous_id as `anonymousId`, everything else (and any second
 * one) in `context.externalIds`.
 */
export function trackWithIdentifiers(ids: readonly TestIdentifier[], messageId: string, properties: Record<string, unknown>): Record<string, unknown> {
  const m: Record<string, unknown> = { type: 'track', event: 'Product Viewed', messageId, properties };
  const ext: Record<string, unknown>[] = [];
  for (const i of ids) {
    if (i.type === 'user_id' && m['userId'] === undefined) m['userId'] = i.id;
    else if (i.type === 'anonymous_id' && m['anonymousId'] === undefined) m['anonymousId'] = i.id;
    else ext.push({ id: i.id, type: i.type, collection: '', encoding: 'none' });
  }
  if (ext.length > 0) m['context'] = { externalIds: ext };
  return m;
}

/** A tenant's customers as sorted groups of `type:value` (the identifier types of these tests are stored in plain text). */
export async function customerGroups(db: Db, tenantId: string): Promise<string[]> {
  const r = await db.query<{ root_id: string; type: string; value: string }>(
    `SELECT c.root_id, i.type, i.value FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id WHERE i.tenant_id = $1`,
    [tenantId],
  );
  const groups = new Map<string, string[]>();
  for (const row of r.rows) groups.set(row.root_id, [...(groups.get(row.root_id) ?? []), `${row.type}:${row.value}`]);
  return [...groups.values()].map((g) => g.sort().join(' ')).sort();
}
