import { DatongError, type RuleCondition } from '@datong/core';
import type { ServerDeps } from './context.js';
import { subscribedTypes, writeOutbox } from './outbox.js';
import { refreshSegments } from './segments.js';
import { applyRules, type StoredRule } from './tag-rules.js';

const CHUNK = 1000;

/**
 * Batch recompute of one rule over every customer of the tenant, a chunk of roots per
 * transaction so that ingestion is never blocked for long.
 */
export async function recomputeRule(deps: ServerDeps, tenantId: string, ruleId: string): Promise<{ evaluated: number; added: number; removed: number }> {
  const r = await deps.db.query<{ id: string; tag: string; condition: RuleCondition; triggers: string[]; time_dependent: boolean; enabled: boolean }>(
    'SELECT id, tag, condition, triggers, time_dependent, enabled FROM tag_rules WHERE tenant_id = $1 AND id = $2',
    [tenantId, ruleId],
  );
  const row = r.rows[0];
  if (!row) throw new DatongError('TAG_RULE_NOT_FOUND');
  const rule: StoredRule = { id: row.id, tag: row.tag, condition: row.condition, triggers: row.triggers, timeDependent: row.time_dependent };
  const total = { evaluated: 0, added: 0, removed: 0 };
  let after = '';
  for (;;) {
    const chunk = await deps.db.query<{ id: string }>(
      'SELECT id FROM customers WHERE tenant_id = $1 AND merged_into IS NULL AND id > $2 ORDER BY id LIMIT $3',
      [tenantId, after, CHUNK],
    );
    if (chunk.rows.length === 0) break;
    const roots = chunk.rows.map((c) => c.id);
    after = roots[roots.length - 1] ?? after;
    const now = deps.clock();
    await deps.db.tx(async (q) => {
      const outcome = await applyRules(q, tenantId, [rule], roots, now);
      const wanted = await subscribedTypes(q, tenantId);
      await writeOutbox(q, tenantId, outcome.events.filter((e) => wanted.has(e.type)), now);
      // Segments on this tag follow the roots that gained or lost it.
      await refreshSegments(q, tenantId, [...new Set(outcome.events.map((e) => String(e.payload['customerId'])))], { tags: [rule.tag] }, now);
      total.evaluated += outcome.evaluated;
      total.added += outcome.added;
      total.removed += outcome.removed;
    });
    if (chunk.rows.length < CHUNK) break;
  }
  await deps.db.query('UPDATE tag_rules SET last_recomputed_at = $3 WHERE tenant_id = $1 AND id = $2', [tenantId, ruleId, deps.clock().toISOString()]);
  return total;
}

/** Recomputes every enabled time-dependent rule of every tenant (windows slide, days pass). */
export async function recomputeTimeDependentRules(deps: ServerDeps): Promise<number> {
  const r = await deps.db.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM tag_rules WHERE enabled AND time_dependent ORDER BY tenant_id, id');
  for (const row of r.rows) await recomputeRule(deps, row.tenant_id, row.id);
  return r.rows.length;
}
