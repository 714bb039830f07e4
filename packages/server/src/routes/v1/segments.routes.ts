import { DatongError, isTimeDependent, parseSegmentCondition, triggeringEvents } from '@datong/core';
import {
  CursorQuery,
  IdParam,
  Page,
  Problem,
  Segment,
  SegmentCreate,
  SegmentMember,
  SegmentPreview,
  SegmentPreviewBody,
  SegmentRecomputeResult,
  SegmentUpdate,
  Type,
} from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/client.js';
import { auditAction } from '../../http/audit.js';
import type { AuthContext } from '../../http/auth.js';
import { iso, isoReq, keysetPage, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { ServerDeps } from '../../usecases/context.js';
import { maskCustomerFor, scopeCondition, scopeOf } from '../../usecases/customer-access.js';
import { contactsOf, customerSummaries, SUMMARY_COLUMNS, summaryOut, type SummaryRow } from '../../usecases/customer-summaries.js';
import { recomputeSegment } from '../../usecases/segments.js';
import { previewRule } from '../../usecases/tag-rule-preview.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
/** Customers shown in a preview's sample. */
const PREVIEW_SAMPLE = 10;

interface SegmentRow {
  id: string;
  name: string;
  description: string | null;
  condition: unknown;
  time_dependent: boolean;
  member_count: number;
  created_at: Date;
  updated_at: Date;
  recomputed_at: Date | null;
}

const segmentOut = (r: SegmentRow) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  condition: r.condition,
  timeDependent: r.time_dependent,
  memberCount: Number(r.member_count),
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
  recomputedAt: iso(r.recomputed_at),
});

async function getSegment(q: Queryable, tenantId: string, id: string): Promise<SegmentRow> {
  const r = await q.query<SegmentRow>('SELECT * FROM segments WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('SEGMENT_NOT_FOUND', `No segment ${id}`);
  return row;
}

const authOf = (auth: AuthContext | null): AuthContext => {
  if (!auth) throw new DatongError('AUTH_REQUIRED');
  return auth;
};

export function segmentsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db } = deps;

  app.get(
    '/v1/segments',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: { tags: ['segments'], summary: 'Segments with their member counts', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(Segment) }), ...errors } },
    },
    async (req) => {
      const r = await db.query<SegmentRow>('SELECT * FROM segments WHERE tenant_id = $1 ORDER BY created_at, id', [authOf(req.auth).tenantId]);
      return { data: r.rows.map(segmentOut) };
    },
  );

  app.post(
    '/v1/segments',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage', idempotent: true },
      schema: {
        tags: ['segments'],
        summary: 'Create a segment (its members are computed now, then kept up to date as data arrives)',
        security: [{ apiKey: [] }],
        body: SegmentCreate,
        response: { 201: Segment, ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = authOf(req.auth).tenantId;
      const body = req.body as { name: string; description?: string | null; condition: unknown };
      const condition = parseSegmentCondition(body.condition);
      const now = deps.clock();
      const id = newId('seg', now.getTime());
      await db.query(
        `INSERT INTO segments (tenant_id, id, name, description, condition, triggers, time_dependent, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::text[], $7, $8, $8)`,
        [tenantId, id, body.name, body.description ?? null, JSON.stringify(condition), [...triggeringEvents(condition)], isTimeDependent(condition), now.toISOString()],
      );
      await recomputeSegment(deps, tenantId, id);
      return reply.code(201).send(segmentOut(await getSegment(db, tenantId, id)));
    },
  );

  app.post(
    '/v1/segments/preview',
    {
      // A read, not a change: audited below as a read of the sample's personal data, not by the change hook.
      config: { auth: 'apiKey:read', permission: 'tags.manage', audit: false },
      schema: {
        tags: ['segments'],
        summary: 'How many customers a segment condition matches now, before saving it',
        description:
          "Evaluated over every customer of the tenant (merged customers once, as their root); the sample lists a few matching customers in the caller's data scope, masked like the customers list. Nothing is stored.",
        security: [{ apiKey: [] }],
        body: SegmentPreviewBody,
        response: { 200: SegmentPreview, ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const condition = parseSegmentCondition((req.body as { condition: unknown }).condition);
      const preview = await previewRule(db, auth.tenantId, condition, deps.clock(), scopeOf(auth), PREVIEW_SAMPLE);
      const sample = await customerSummaries(db, deps.keyring, auth.tenantId, preview.sampleIds);
      if (sample.length > 0) await auditAction(db, deps.clock, req, 'segment.preview', 'segment', null, { results: sample.map((c) => c.id), count: preview.count });
      return { count: preview.count, total: preview.total, sample: sample.map((c) => maskCustomerFor(auth, c)) };
    },
  );

  app.get(
    '/v1/segments/:id',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: { tags: ['segments'], summary: 'One segment', security: [{ apiKey: [] }], params: IdParam, response: { 200: Segment, ...errors } },
    },
    async (req) => segmentOut(await getSegment(db, authOf(req.auth).tenantId, (req.params as { id: string }).id)),
  );

  app.patch(
    '/v1/segments/:id',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: {
        tags: ['segments'],
        summary: 'Change a segment (a new condition recomputes its members)',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: SegmentUpdate,
        response: { 200: Segment, ...errors },
      },
    },
    async (req) => {
      const tenantId = authOf(req.auth).tenantId;
      const id = (req.params as { id: string }).id;
      const cur = await getSegment(db, tenantId, id);
      const body = req.body as { name?: string; description?: string | null; condition?: unknown };
      const condition = body.condition !== undefined ? parseSegmentCondition(body.condition) : null;
      await db.query(
        `UPDATE segments SET name = $3, description = $4, updated_at = $5
           ${condition ? ', condition = $6::jsonb, triggers = $7::text[], time_dependent = $8' : ''}
         WHERE tenant_id = $1 AND id = $2`,
        [
          tenantId,
          id,
          body.name ?? cur.name,
          'description' in body ? (body.description ?? null) : cur.description,
          deps.clock().toISOString(),
          ...(condition ? [JSON.stringify(condition), [...triggeringEvents(condition)], isTimeDependent(condition)] : []),
        ],
      );
      if (condition) await recomputeSegment(deps, tenantId, id);
      return segmentOut(await getSegment(db, tenantId, id));
    },
  );

  app.delete(
    '/v1/segments/:id',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: { tags: ['segments'], summary: 'Delete a segment and its membership', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const tenantId = authOf(req.auth).tenantId;
      const id = (req.params as { id: string }).id;
      await getSegment(db, tenantId, id);
      // Members go with it (ON DELETE CASCADE).
      await db.query('DELETE FROM segments WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/segments/:id/recompute',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: {
        tags: ['segments'],
        summary: 'Recompute a segment over every customer (batch)',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: SegmentRecomputeResult, ...errors },
      },
    },
    async (req) => recomputeSegment(deps, authOf(req.auth).tenantId, (req.params as { id: string }).id),
  );

  app.get(
    '/v1/segments/:id/members',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: {
        tags: ['segments'],
        summary: "A segment's members, newest first",
        description: "Only customers in the caller's data scope; personal values masked for roles that mask them.",
        security: [{ apiKey: [] }],
        params: IdParam,
        querystring: Type.Object({ ...CursorQuery }),
        response: { 200: Page(SegmentMember), ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const id = (req.params as { id: string }).id;
      await getSegment(db, auth.tenantId, id);
      const { cursor, limit = 50 } = req.query as { cursor?: string; limit?: number };
      const params: unknown[] = [auth.tenantId, id];
      const where = ['s.tenant_id = $1', 's.segment_id = $2', 'c.merged_into IS NULL'];
      const scope = scopeCondition(scopeOf(auth), params);
      if (scope) where.push(scope);
      const order = keysetPage(params, where, cursor, limit, 's.added_at', 's.customer_id');
      const r = await db.query<SummaryRow & { added_at: Date; customer_id: string }>(
        `SELECT ${SUMMARY_COLUMNS}, s.added_at, s.customer_id
         FROM segment_members s JOIN customers c ON c.tenant_id = s.tenant_id AND c.id = s.customer_id
         WHERE ${where.join(' AND ')} ${order}`,
        params,
      );
      const contacts = await contactsOf(db, deps.keyring, auth.tenantId, r.rows.slice(0, limit).map((c) => c.id));
      const page = toPage(r.rows, limit, (c) => ({ ...summaryOut(c, contacts), addedAt: isoReq(c.added_at) }), (c) => [c.added_at, c.customer_id]);
      if (page.data.length > 0) await auditAction(db, deps.clock, req, 'segment.members', 'segment', id, { results: page.data.map((c) => c.id) });
      return { data: page.data.map((c) => maskCustomerFor(auth, c)), nextCursor: page.nextCursor };
    },
  );
}
