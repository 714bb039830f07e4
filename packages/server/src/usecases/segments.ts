import { DatongError, evaluateCondition, tagTrigger, TRAIT_TRIGGER, walkLeaves, type LeafCondition, type LeafValue, type RuleCondition } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { lockTenantIdentities } from './identity-lock.js';
import type { ServerDeps } from './context.js';
import { leafValues, matchCondition } from './tag-rules.js';

/**
 * Segments (C3): stored memberships of root customers, decided by the same leaf queries and
 * `evaluateCondition` as the rule tags. Whole tenant on create/update/recompute (set-based, one
 * statement per leaf); a few roots at a time when events, traits or tags of those roots change.
 */

export interface StoredSegment {
  readonly id: string;
  readonly condition: RuleCondition;
  readonly triggers: readonly string[];
  readonly timeDependent: boolean;
}

type SegmentRow = { id: string; condition: RuleCondition; triggers: string[]; time_dependent: boolean };
const toStored = (x: SegmentRow): StoredSegment => ({ id: x.id, condition: x.condition, triggers: x.triggers, timeDependent: x.time_dependent });

export async function loadSegments(q: Queryable, tenantId: string): Promise<StoredSegment[]> {
  const r = await q.query<SegmentRow>('SELECT id, condition, triggers, time_dependent FROM segments WHERE tenant_id = $1 ORDER BY id', [tenantId]);
  return r.rows.map(toStored);
}

/** What changed for some roots, to pick the segments that can change with it. */
export interface SegmentChange {
  /** Names of the events that arrived. */
  readonly events?: ReadonlySet<string>;
  /** Whether any message arrived (segments with a first_channel leaf). */
  readonly anyMessage?: boolean;
  /** Whether some root's traits may have changed. */
  readonly traits?: boolean;
  /** Tags added to or removed from the roots. */
  readonly tags?: Iterable<string>;
  /** Every segment (merges and unmerges change every aggregate of a root). */
  readonly all?: boolean;
}

export function segmentsTriggeredBy(segments: readonly StoredSegment[], change: SegmentChange): StoredSegment[] {
  if (change.all) return [...segments];
  const tagTriggers = new Set([...(change.tags ?? [])].map(tagTrigger));
  return segments.filter((s) =>
    s.triggers.some((t) =>
      t === '*' ? change.anyMessage === true : t === TRAIT_TRIGGER ? change.traits === true : tagTriggers.has(t) || (change.events?.has(t) ?? false),
    ),
  );
}

export interface MembershipOutcome {
  added: number;
  removed: number;
}

async function adjustCount(q: Queryable, tenantId: string, segmentId: string, delta: number): Promise<void> {
  if (delta !== 0) await q.query('UPDATE segments SET member_count = member_count + $3 WHERE tenant_id = $1 AND id = $2', [tenantId, segmentId, delta]);
}

/**
 * Re-decides `segments` for these root customers and writes the difference (members added with
 * `now`, leavers deleted, `member_count` moved by what was actually inserted and deleted).
 */
export async function applySegments(q: Queryable, tenantId: string, segments: readonly StoredSegment[], roots: readonly string[], now: Date): Promise<MembershipOutcome> {
  const outcome: MembershipOutcome = { added: 0, removed: 0 };
  const uniqueRoots = [...new Set(roots)];
  if (segments.length === 0 || uniqueRoots.length === 0) return outcome;
  for (const seg of segments) {
    const leaves: LeafCondition[] = [];
    walkLeaves(seg.condition, (l) => leaves.push(l));
    // Sequentially: `q` may be a transaction's single connection.
    const values: Map<string, LeafValue>[] = [];
    for (const l of leaves) values.push(await leafValues(q, tenantId, l, uniqueRoots, now));
    const yes: string[] = [];
    const no: string[] = [];
    for (const root of uniqueRoots) (evaluateCondition(seg.condition, values.map((m) => m.get(root) ?? null)) ? yes : no).push(root);
    let delta = 0;
    if (no.length > 0) {
      const d = await q.query('DELETE FROM segment_members WHERE tenant_id = $1 AND segment_id = $2 AND customer_id = ANY($3::text[]) RETURNING customer_id', [tenantId, seg.id, no]);
      outcome.removed += d.rows.length;
      delta -= d.rows.length;
    }
    if (yes.length > 0) {
      const i = await q.query(
        `INSERT INTO segment_members (tenant_id, segment_id, customer_id, added_at)
         SELECT $1, $2, r, $3 FROM unnest($4::text[]) AS r ON CONFLICT DO NOTHING RETURNING customer_id`,
        [tenantId, seg.id, now.toISOString(), yes],
      );
      outcome.added += i.rows.length;
      delta += i.rows.length;
    }
    await adjustCount(q, tenantId, seg.id, delta);
  }
  return outcome;
}

/** Customers that stopped being roots (merged into another) leave every segment. */
export async function dropMergedMembers(q: Queryable, tenantId: string, mergedIds: readonly string[]): Promise<void> {
  if (mergedIds.length === 0) return;
  const d = await q.query<{ segment_id: string }>(
    'DELETE FROM segment_members WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) RETURNING segment_id',
    [tenantId, [...new Set(mergedIds)]],
  );
  const per = new Map<string, number>();
  for (const r of d.rows) per.set(r.segment_id, (per.get(r.segment_id) ?? 0) + 1);
  // In id order, as every writer of segment rows does, so two transactions cannot deadlock on them.
  for (const id of [...per.keys()].sort()) await adjustCount(q, tenantId, id, -(per.get(id) ?? 0));
}

/**
 * Outside the inbox worker (tag routes, rule-tag recompute, unmerge): re-decides the tenant's
 * segments that `change` can affect, for these roots. Reads the segments (not the worker's cache).
 */
export async function refreshSegments(q: Queryable, tenantId: string, roots: readonly string[], change: SegmentChange, now: Date): Promise<MembershipOutcome> {
  if (roots.length === 0) return { added: 0, removed: 0 };
  const triggered = segmentsTriggeredBy(await loadSegments(q, tenantId), change);
  return applySegments(q, tenantId, triggered, roots, now);
}

export interface RecomputeOutcome {
  count: number;
  added: number;
  removed: number;
}

/**
 * Recomputes one segment over the whole tenant in one transaction: one set-based statement per
 * leaf, then the members replaced by difference. It holds the tenant's identity lock (as the
 * inbox worker does while it resolves and re-decides segments), so no merge or incremental
 * update interleaves with the snapshot it writes.
 */
export async function recomputeSegment(deps: ServerDeps, tenantId: string, segmentId: string): Promise<RecomputeOutcome> {
  return deps.db.tx(async (q) => {
    await lockTenantIdentities(q, tenantId);
    const r = await q.query<SegmentRow>('SELECT id, condition, triggers, time_dependent FROM segments WHERE tenant_id = $1 AND id = $2', [tenantId, segmentId]);
    const row = r.rows[0];
    if (!row) throw new DatongError('SEGMENT_NOT_FOUND', `No segment ${segmentId}`);
    const now = deps.clock();
    const m = await matchCondition(q, tenantId, row.condition, now);
    const nowIso = now.toISOString();
    let removed: number;
    let added: number;
    if (m.defaultsMatch) {
      // Every root matches except those whose own values say no.
      const d = await q.query(
        `DELETE FROM segment_members s WHERE s.tenant_id = $1 AND s.segment_id = $2
           AND (s.customer_id = ANY($3::text[])
                OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = s.tenant_id AND c.id = s.customer_id AND c.merged_into IS NULL))
         RETURNING s.customer_id`,
        [tenantId, segmentId, m.unmatchedWithValues],
      );
      removed = d.rows.length;
      const i = await q.query(
        `INSERT INTO segment_members (tenant_id, segment_id, customer_id, added_at)
         SELECT $1, $2, c.id, $3 FROM customers c WHERE c.tenant_id = $1 AND c.merged_into IS NULL AND NOT (c.id = ANY($4::text[]))
         ON CONFLICT DO NOTHING RETURNING customer_id`,
        [tenantId, segmentId, nowIso, m.unmatchedWithValues],
      );
      added = i.rows.length;
    } else {
      const d = await q.query(
        'DELETE FROM segment_members WHERE tenant_id = $1 AND segment_id = $2 AND NOT (customer_id = ANY($3::text[])) RETURNING customer_id',
        [tenantId, segmentId, m.matchedWithValues],
      );
      removed = d.rows.length;
      const i = await q.query(
        `INSERT INTO segment_members (tenant_id, segment_id, customer_id, added_at)
         SELECT $1, $2, r, $3 FROM unnest($4::text[]) AS r ON CONFLICT DO NOTHING RETURNING customer_id`,
        [tenantId, segmentId, nowIso, m.matchedWithValues],
      );
      added = i.rows.length;
    }
    const c = await q.query<{ n: number }>(
      `UPDATE segments SET member_count = (SELECT count(*) FROM segment_members WHERE tenant_id = $1 AND segment_id = $2), recomputed_at = $3
       WHERE tenant_id = $1 AND id = $2 RETURNING member_count AS n`,
      [tenantId, segmentId, nowIso],
    );
    return { count: c.rows[0]?.n ?? m.count, added, removed };
  });
}

/** Recomputes every time-dependent segment of every tenant (windows slide, days pass, tags expire). */
export async function recomputeTimeDependentSegments(deps: ServerDeps): Promise<number> {
  const r = await deps.db.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM segments WHERE time_dependent ORDER BY tenant_id, id');
  for (const row of r.rows) await recomputeSegment(deps, row.tenant_id, row.id);
  return r.rows.length;
}
