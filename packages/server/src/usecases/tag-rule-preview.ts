import type { RuleCondition, ScopedViewer } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { scopeCondition } from './customer-access.js';
import { matchCondition } from './tag-rules.js';

/** Roots read per statement while picking the sample, and how many such reads at most. */
const SAMPLE_CHUNK = 1000;
const SAMPLE_MAX_READS = 10;

export interface RulePreview {
  /** Root customers of the tenant the rule would tag now (every customer, whatever the caller's scope). */
  readonly count: number;
  /** Root customers of the tenant. */
  readonly total: number;
  /** Up to `sampleSize` matching roots in the viewer's scope, newest first within what was read. */
  readonly sampleIds: string[];
}

/**
 * How many root customers a rule condition matches now (set-based over the whole tenant, the
 * same evaluation as the rule tags), and a few of them the viewer may see. The sample is
 * bounded work: at most SAMPLE_MAX_READS reads of SAMPLE_CHUNK roots, so it can come back
 * shorter than `sampleSize` when the matches in the viewer's scope are rare.
 */
export async function previewRule(
  q: Queryable,
  tenantId: string,
  condition: RuleCondition,
  now: Date,
  viewer: ScopedViewer | null,
  sampleSize: number,
): Promise<RulePreview> {
  const m = await matchCondition(q, tenantId, condition, now);
  const sampleIds: string[] = [];
  if (m.count > 0 && sampleSize > 0) {
    if (m.defaultsMatch) {
      // Most roots may match: walk the newest roots in scope and keep the matching ones.
      let after: [Date, string] | null = null;
      for (let read = 0; read < SAMPLE_MAX_READS && sampleIds.length < sampleSize; read++) {
        const params: unknown[] = [tenantId];
        const where = ['c.tenant_id = $1', 'c.merged_into IS NULL'];
        const scope = scopeCondition(viewer, params);
        if (scope) where.push(scope);
        if (after) {
          params.push(after[0], after[1]);
          where.push(`(c.created_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length})`);
        }
        params.push(SAMPLE_CHUNK);
        const r = await q.query<{ id: string; created_at: Date }>(
          `SELECT c.id, c.created_at FROM customers c WHERE ${where.join(' AND ')} ORDER BY c.created_at DESC, c.id DESC LIMIT $${params.length}`,
          params,
        );
        for (const row of r.rows) if (sampleIds.length < sampleSize && m.isMatch(row.id)) sampleIds.push(row.id);
        const last = r.rows[r.rows.length - 1];
        if (!last || r.rows.length < SAMPLE_CHUNK) break;
        after = [last.created_at, last.id];
      }
    } else {
      // Only roots with values can match: read those, a chunk at a time, keeping the ones in scope.
      const candidates = m.matchedWithValues;
      for (let read = 0, at = 0; read < SAMPLE_MAX_READS && at < candidates.length && sampleIds.length < sampleSize; read++, at += SAMPLE_CHUNK) {
        const params: unknown[] = [tenantId, candidates.slice(at, at + SAMPLE_CHUNK)];
        const where = ['c.tenant_id = $1', 'c.id = ANY($2::text[])', 'c.merged_into IS NULL'];
        const scope = scopeCondition(viewer, params);
        if (scope) where.push(scope);
        params.push(sampleSize - sampleIds.length);
        const r = await q.query<{ id: string }>(
          `SELECT c.id FROM customers c WHERE ${where.join(' AND ')} ORDER BY c.created_at DESC, c.id DESC LIMIT $${params.length}`,
          params,
        );
        for (const row of r.rows) sampleIds.push(row.id);
      }
    }
  }
  return { count: m.count, total: m.total, sampleIds };
}
