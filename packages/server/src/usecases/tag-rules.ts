import {
  evaluateCondition,
  ORDER_COMPLETED,
  ORDER_REFUNDED,
  walkLeaves,
  type LeafCondition,
  type LeafValue,
  type RuleCondition,
} from '@datong/core';
import type { Queryable } from '../db/client.js';
import type { DomainEvent } from './outbox.js';

export interface StoredRule {
  readonly id: string;
  readonly tag: string;
  readonly condition: RuleCondition;
  readonly triggers: readonly string[];
  readonly timeDependent: boolean;
}

export async function loadEnabledRules(q: Queryable, tenantId: string): Promise<StoredRule[]> {
  const r = await q.query<{ id: string; tag: string; condition: RuleCondition; triggers: string[]; time_dependent: boolean }>(
    'SELECT id, tag, condition, triggers, time_dependent FROM tag_rules WHERE tenant_id = $1 AND enabled ORDER BY created_at, id',
    [tenantId],
  );
  return r.rows.map((x) => ({ id: x.id, tag: x.tag, condition: x.condition, triggers: x.triggers, timeDependent: x.time_dependent }));
}

const DAY_MS = 86_400_000;

/** A constant as an SQL string literal (only for our own constants, never for user input). */
function sqlString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}
/** The predicate of the partial index events_orders, written exactly as in the migration. */
const ORDER_EVENTS_SQL = `e.event IN (${sqlString(ORDER_COMPLETED)}, ${sqlString(ORDER_REFUNDED)})`;

/** A leaf's value for a root with no matching events (no row in the leaf's query). */
export function leafDefault(leaf: LeafCondition): LeafValue {
  switch (leaf.type) {
    case 'event_count':
    case 'order_count':
      return 0;
    case 'total_spend':
      return 0n;
    case 'has_tag':
      return 0;
    case 'days_since_last_order':
    case 'first_channel':
    case 'trait':
      return null;
  }
}

/**
 * One leaf's value for each of `roots` (aggregated over each root's merged customers), one
 * statement. With `'all'`, every root of the tenant that has a matching event, without
 * passing the roots in: roots missing from the answer hold `leafDefault(leaf)`.
 */
export async function leafValues(q: Queryable, tenantId: string, leaf: LeafCondition, roots: readonly string[] | 'all', now: Date): Promise<Map<string, LeafValue>> {
  const out = new Map<string, LeafValue>();
  const params: unknown[] = [tenantId];
  if (roots !== 'all') {
    params.push(roots);
    for (const root of roots) out.set(root, leafDefault(leaf));
  }
  // Segment-only leaves read tags and profiles, not events.
  if (leaf.type === 'has_tag') {
    params.push(leaf.tag, now.toISOString());
    const r = await q.query<{ root: string; v: number }>(
      `SELECT c.root_id AS root, count(*)::int AS v FROM customer_tags t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
       WHERE t.tenant_id = $1${roots !== 'all' ? ' AND c.root_id = ANY($2::text[])' : ''}
         AND t.tag = $${params.length - 1} AND (t.expires_at IS NULL OR t.expires_at > $${params.length}::timestamptz)
       GROUP BY c.root_id`,
      params,
    );
    for (const row of r.rows) out.set(row.root, row.v);
    return out;
  }
  if (leaf.type === 'trait') {
    params.push(leaf.key.split('.'));
    const path = `c.traits #> $${params.length}::text[]`;
    const r = await q.query<{ root: string; v: unknown }>(
      `SELECT c.id AS root, ${path} AS v FROM customers c
       WHERE c.tenant_id = $1 AND c.merged_into IS NULL${roots !== 'all' ? ' AND c.id = ANY($2::text[])' : ''} AND ${path} IS NOT NULL`,
      params,
    );
    for (const row of r.rows) out.set(row.root, { trait: row.v });
    return out;
  }
  const since = (days: number | undefined): string => {
    if (days === undefined) return '';
    params.push(new Date(now.getTime() - days * DAY_MS).toISOString());
    return ` AND e.occurred_at >= $${params.length}::timestamptz`;
  };
  /**
   * `SELECT <select> FROM <the roots' events matching where> [GROUP BY root]`. For given roots the
   * plan is driven by them: each root's members by index, each member's events by index
   * (LATERAL … OFFSET 0 keeps both parameterized index scans whatever the statistics say).
   */
  const over = (select: string, where: string, tail = 'GROUP BY c.root_id'): string =>
    roots === 'all'
      ? `SELECT ${select} FROM events e JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id WHERE e.tenant_id = $1${where} ${tail}`
      : `SELECT ${select} FROM unnest($2::text[]) AS r(root)
         CROSS JOIN LATERAL (SELECT id, root_id FROM customers WHERE tenant_id = $1 AND root_id = r.root OFFSET 0) c
         CROSS JOIN LATERAL (SELECT e.id, e.event, e.occurred_at, e.channel, e.amount_minor FROM events e WHERE e.tenant_id = $1 AND e.customer_id = c.id${where} OFFSET 0) e ${tail}`;
  switch (leaf.type) {
    case 'event_count': {
      params.push(leaf.event);
      let where = ` AND e.event = $${params.length}`;
      if (leaf.where && Object.keys(leaf.where).length > 0) {
        params.push(JSON.stringify(leaf.where));
        where += ` AND e.properties @> $${params.length}::jsonb`;
      }
      where += since(leaf.withinDays);
      const r = await q.query<{ root: string; v: number }>(over('c.root_id AS root, count(*)::int AS v', where), params);
      for (const row of r.rows) out.set(row.root, row.v);
      return out;
    }
    case 'order_count': {
      // Literal event names (not parameters) so the planner can use the partial index events_orders.
      const where = ` AND ${ORDER_EVENTS_SQL} AND e.event = ${sqlString(ORDER_COMPLETED)}${since(leaf.withinDays)}`;
      const r = await q.query<{ root: string; v: number }>(over('c.root_id AS root, count(*)::int AS v', where), params);
      for (const row of r.rows) out.set(row.root, row.v);
      return out;
    }
    case 'total_spend': {
      params.push(leaf.currency ?? 'CNY');
      const where = ` AND ${ORDER_EVENTS_SQL} AND e.currency = $${params.length} AND e.amount_minor IS NOT NULL${since(leaf.withinDays)}`;
      const select = `c.root_id AS root, coalesce(sum(CASE WHEN e.event = ${sqlString(ORDER_COMPLETED)} THEN e.amount_minor ELSE -e.amount_minor END), 0)::text AS v`;
      const r = await q.query<{ root: string; v: string }>(over(select, where), params);
      for (const row of r.rows) out.set(row.root, BigInt(row.v));
      return out;
    }
    case 'days_since_last_order': {
      const where = ` AND ${ORDER_EVENTS_SQL} AND e.event = ${sqlString(ORDER_COMPLETED)}`;
      const r = await q.query<{ root: string; v: Date | string }>(over('c.root_id AS root, max(e.occurred_at) AS v', where), params);
      for (const row of r.rows) out.set(row.root, Math.floor((now.getTime() - new Date(row.v).getTime()) / DAY_MS));
      return out;
    }
    case 'first_channel': {
      const r = await q.query<{ root: string; v: string | null }>(over('DISTINCT ON (c.root_id) c.root_id AS root, e.channel AS v', '', 'ORDER BY c.root_id, e.occurred_at, e.id'), params);
      for (const row of r.rows) out.set(row.root, row.v);
      return out;
    }
  }
}

export interface ConditionMatches {
  /** Root customers of the tenant for which the condition holds now. */
  readonly count: number;
  /** Every root customer of the tenant. */
  readonly total: number;
  /** Whether a root is among the matches. */
  isMatch(rootId: string): boolean;
  /** Matching roots that have some leaf value of their own (the others match as a class: see `defaultsMatch`). */
  readonly matchedWithValues: readonly string[];
  /** Whether a root with no value for any leaf matches (then most roots may match). */
  readonly defaultsMatch: boolean;
  /** Roots with some leaf value of their own that do not match (segments: every other root matches when `defaultsMatch`). */
  readonly unmatchedWithValues: readonly string[];
}

/**
 * Which root customers of the tenant match `condition` now, over all of them: one set-based
 * statement per leaf (no list of roots passed in), then the same `evaluateCondition` as the
 * rule tags use. Roots that appear in no leaf's answer all hold the default values, so they
 * are decided once, as a class. Merged customers count once, under their root.
 */
export async function matchCondition(q: Queryable, tenantId: string, condition: RuleCondition, now: Date): Promise<ConditionMatches> {
  const leaves: LeafCondition[] = [];
  walkLeaves(condition, (l) => leaves.push(l));
  const values: Map<string, LeafValue>[] = [];
  for (const l of leaves) values.push(await leafValues(q, tenantId, l, 'all', now));
  const defaults = leaves.map(leafDefault);
  const defaultsMatch = evaluateCondition(condition, defaults);
  const withValues = new Set<string>();
  for (const m of values) for (const root of m.keys()) withValues.add(root);
  const matchedWithValues: string[] = [];
  const unmatchedWithValues: string[] = [];
  for (const root of withValues) {
    if (evaluateCondition(condition, values.map((m, i) => (m.has(root) ? (m.get(root) ?? null) : (defaults[i] ?? null))))) matchedWithValues.push(root);
    else unmatchedWithValues.push(root);
  }
  const r = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM customers WHERE tenant_id = $1 AND merged_into IS NULL', [tenantId]);
  const total = r.rows[0]?.n ?? 0;
  const matchedSet = new Set(matchedWithValues);
  return {
    count: matchedWithValues.length + (defaultsMatch ? Math.max(0, total - withValues.size) : 0),
    total,
    matchedWithValues,
    unmatchedWithValues,
    defaultsMatch,
    isMatch: (root) => (withValues.has(root) ? matchedSet.has(root) : defaultsMatch),
  };
}

export interface RuleOutcome {
  evaluated: number;
  added: number;
  removed: number;
  events: DomainEvent[];
}

/**
 * Evaluates rules for the given root customers and reconciles their rule tags: adds the
 * tag where the condition holds, removes a tag this rule added where it no longer does.
 * Manual and platform tags with the same name are left alone.
 */
export async function applyRules(
  q: Queryable,
  tenantId: string,
  rules: readonly StoredRule[],
  roots: readonly string[] | ((rule: StoredRule) => readonly string[]),
  now: Date,
): Promise<RuleOutcome> {
  const outcome: RuleOutcome = { evaluated: 0, added: 0, removed: 0, events: [] };
  for (const rule of rules) {
    const uniqueRoots = [...new Set(typeof roots === 'function' ? roots(rule) : roots)];
    if (uniqueRoots.length === 0) continue;
    const leaves: LeafCondition[] = [];
    walkLeaves(rule.condition, (l) => leaves.push(l));
    // Sequentially: `q` may be a transaction's single connection.
    const values: Map<string, LeafValue>[] = [];
    for (const l of leaves) values.push(await leafValues(q, tenantId, l, uniqueRoots, now));
    const matching = new Set<string>();
    for (const root of uniqueRoots) {
      if (evaluateCondition(rule.condition, values.map((m) => m.get(root) ?? null))) matching.add(root);
    }
    outcome.evaluated += uniqueRoots.length;
    // Current holders of the tag among these roots (on any member), and which of them hold it
    // from this rule: driven by the roots, since a popular tag may have many holders.
    const cur = await q.query<{ root: string; source: string; rule_id: string | null }>(
      `SELECT c.root_id AS root, t.source, t.rule_id FROM unnest($3::text[]) AS r(root)
       CROSS JOIN LATERAL (SELECT id, root_id FROM customers WHERE tenant_id = $1 AND root_id = r.root OFFSET 0) c
       CROSS JOIN LATERAL (SELECT source, rule_id FROM customer_tags WHERE tenant_id = $1 AND customer_id = c.id AND tag = $2 OFFSET 0) t`,
      [tenantId, rule.tag, uniqueRoots],
    );
    const holders = new Set(cur.rows.map((r) => r.root));
    const fromRule = new Set(cur.rows.filter((r) => r.rule_id === rule.id).map((r) => r.root));
    const toAdd = [...matching].filter((r) => !holders.has(r));
    const toRemove = [...fromRule].filter((r) => !matching.has(r));
    if (toAdd.length > 0) {
      // The tag itself too, in the same statement (ingest runs this under the tenant's lock:
      // a round trip fewer there).
      await q.query(
        `WITH tag AS (INSERT INTO tags (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING)
         INSERT INTO customer_tags (tenant_id, customer_id, tag, source, rule_id, added_at)
         SELECT $1, r, $2, 'rule', $3, $4 FROM unnest($5::text[]) AS r ON CONFLICT DO NOTHING`,
        [tenantId, rule.tag, rule.id, now.toISOString(), toAdd],
      );
      for (const r of toAdd) outcome.events.push({ type: 'tag.added', payload: { customerId: r, tag: rule.tag, source: 'rule', ruleId: rule.id } });
    }
    if (toRemove.length > 0) {
      await q.query(
        `DELETE FROM customer_tags t USING customers c
         WHERE t.tenant_id = $1 AND t.tag = $2 AND t.rule_id = $3 AND c.tenant_id = t.tenant_id AND c.id = t.customer_id AND c.root_id = ANY($4::text[])`,
        [tenantId, rule.tag, rule.id, toRemove],
      );
      for (const r of toRemove) outcome.events.push({ type: 'tag.removed', payload: { customerId: r, tag: rule.tag, source: 'rule', ruleId: rule.id } });
    }
    outcome.added += toAdd.length;
    outcome.removed += toRemove.length;
  }
  return outcome;
}

/** Rules whose value can change when events with these names arrive. */
export function rulesTriggeredBy(rules: readonly StoredRule[], eventNames: ReadonlySet<string>, anyEvent: boolean): StoredRule[] {
  return rules.filter((r) => r.triggers.some((t) => (t === '*' ? anyEvent : eventNames.has(t))));
}
