import { canonicalTagName, DatongError, isTimeDependent, parseRuleCondition, triggeringEvents } from '@datong/core';
import { IdParam, Problem, RecomputeResult, TagDefinition, TagDefinitionUpdate, TagRule, TagRuleCreate, TagRulePreview, TagRulePreviewBody, TagRuleUpdate, Type } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/client.js';
import { auditAction } from '../../http/audit.js';
import { iso, isoReq } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { ServerDeps } from '../../usecases/context.js';
import { maskCustomerFor, scopeOf } from '../../usecases/customer-access.js';
import { customerSummaries } from '../../usecases/customer-summaries.js';
import { recomputeRule } from '../../usecases/recompute.js';
import { previewRule } from '../../usecases/tag-rule-preview.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
/** Customers shown in a rule preview's sample. */
const PREVIEW_SAMPLE = 10;

interface RuleRow {
  id: string;
  name: string;
  tag: string;
  condition: unknown;
  enabled: boolean;
  time_dependent: boolean;
  created_at: Date;
  updated_at: Date;
  last_recomputed_at: Date | null;
}

function ruleOut(r: RuleRow) {
  return {
    id: r.id,
    name: r.name,
    tag: r.tag,
    condition: r.condition,
    enabled: r.enabled,
    timeDependent: r.time_dependent,
    createdAt: isoReq(r.created_at),
    updatedAt: isoReq(r.updated_at),
    lastRecomputedAt: iso(r.last_recomputed_at),
  };
}

async function getRule(q: Queryable, tenantId: string, id: string): Promise<RuleRow> {
  const r = await q.query<RuleRow>('SELECT * FROM tag_rules WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('TAG_RULE_NOT_FOUND', `No tag rule ${id}`);
  return row;
}

export function tagsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db } = deps;

  app.get(
    '/v1/tags',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: { tags: ['tags'], summary: 'Tag definitions with their customer counts', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(TagDefinition) }), ...errors } },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const r = await db.query<{ name: string; description: string | null; visible: boolean; customers: number }>(
        `SELECT d.name, d.description, d.visible,
                (SELECT count(DISTINCT c.root_id) FROM customer_tags t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
                 WHERE t.tenant_id = d.tenant_id AND t.tag = d.name)::int AS customers
         FROM tags d WHERE d.tenant_id = $1 ORDER BY d.name`,
        [tenantId],
      );
      return { data: r.rows };
    },
  );

  app.patch(
    '/v1/tags/:name',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: {
        tags: ['tags'],
        summary: 'Describe a tag, or make it visible to customers in the mall',
        security: [{ apiKey: [] }],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
        body: TagDefinitionUpdate,
        response: { 200: TagDefinition, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const name = canonicalTagName((req.params as { name: string }).name);
      const body = req.body as { description?: string | null; visible?: boolean };
      await db.query(
        `INSERT INTO tags (tenant_id, name, description, visible) VALUES ($1, $2, $3, coalesce($4, false))
         ON CONFLICT (tenant_id, name) DO UPDATE SET
           description = CASE WHEN $5 THEN EXCLUDED.description ELSE tags.description END,
           visible = coalesce($4, tags.visible)`,
        [tenantId, name, body.description ?? null, body.visible ?? null, 'description' in body],
      );
      const r = await db.query<{ name: string; description: string | null; visible: boolean; customers: number }>(
        `SELECT d.name, d.description, d.visible,
                (SELECT count(DISTINCT c.root_id) FROM customer_tags t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
                 WHERE t.tenant_id = d.tenant_id AND t.tag = d.name)::int AS customers
         FROM tags d WHERE d.tenant_id = $1 AND d.name = $2`,
        [tenantId, name],
      );
      return r.rows[0];
    },
  );

  app.get(
    '/v1/tag-rules',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: { tags: ['tags'], summary: 'Rule tags', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(TagRule) }), ...errors } },
    },
    async (req) => {
      const r = await db.query<RuleRow>('SELECT * FROM tag_rules WHERE tenant_id = $1 ORDER BY created_at, id', [req.auth?.tenantId ?? '']);
      return { data: r.rows.map(ruleOut) };
    },
  );

  app.post(
    '/v1/tag-rules',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage', idempotent: true },
      schema: {
        tags: ['tags'],
        summary: 'Create a rule tag (evaluated as events arrive, and now for every customer)',
        description:
          'Conditions: event_count {event, where?, withinDays?, op, value}; total_spend {currency?, withinDays?, op, value: "1000.00"}; ' +
          'order_count {withinDays?, op, value}; days_since_last_order {op, value}; first_channel {in: [...]}; combine with {all: [...]} or {any: [...]}. ' +
          'op is one of gte, gt, lte, lt, eq, neq.',
        security: [{ apiKey: [] }],
        body: TagRuleCreate,
        response: { 201: Type.Intersect([TagRule, Type.Object({ recompute: RecomputeResult })]), ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as { name: string; tag: string; condition: unknown; enabled?: boolean };
      const condition = parseRuleCondition(body.condition);
      const tag = canonicalTagName(body.tag);
      const now = deps.clock();
      const id = newId('trl', now.getTime());
      await db.query(
        `INSERT INTO tag_rules (tenant_id, id, name, tag, condition, triggers, time_dependent, enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::text[], $7, $8, $9, $9)`,
        [tenantId, id, body.name, tag, JSON.stringify(condition), [...triggeringEvents(condition)], isTimeDependent(condition), body.enabled ?? true, now.toISOString()],
      );
      await db.query('INSERT INTO tags (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tenantId, tag]);
      const recompute = body.enabled === false ? { evaluated: 0, added: 0, removed: 0 } : await recomputeRule(deps, tenantId, id);
      const row = await getRule(db, tenantId, id);
      return reply.code(201).send({ ...ruleOut(row), recompute });
    },
  );

  app.post(
    '/v1/tag-rules/preview',
    {
      // A read, not a change: audited below as a read of the sample's personal data, not by the change hook.
      config: { auth: 'apiKey:read', permission: 'tags.manage', audit: false },
      schema: {
        tags: ['tags'],
        summary: 'How many customers a rule condition matches now, before saving it',
        description:
          'Evaluated over every customer of the tenant (merged customers once, as their root), as the rule tag would be; ' +
          "the sample lists a few matching customers in the caller's data scope, masked like the customers list. Nothing is stored.",
        security: [{ apiKey: [] }],
        body: TagRulePreviewBody,
        response: { 200: TagRulePreview, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const condition = parseRuleCondition((req.body as { condition: unknown }).condition);
      const preview = await previewRule(db, auth.tenantId, condition, deps.clock(), scopeOf(auth), PREVIEW_SAMPLE);
      const sample = await customerSummaries(db, deps.keyring, auth.tenantId, preview.sampleIds);
      if (sample.length > 0) await auditAction(db, deps.clock, req, 'tag_rule.preview', 'tag_rule', null, { results: sample.map((c) => c.id), count: preview.count });
      return { count: preview.count, total: preview.total, sample: sample.map((c) => maskCustomerFor(auth, c)) };
    },
  );

  app.get(
    '/v1/tag-rules/:id',
    { config: { auth: 'apiKey:read', permission: 'customers.read' }, schema: { tags: ['tags'], summary: 'One rule tag', security: [{ apiKey: [] }], params: IdParam, response: { 200: TagRule, ...errors } } },
    async (req) => ruleOut(await getRule(db, req.auth?.tenantId ?? '', (req.params as { id: string }).id)),
  );

  app.patch(
    '/v1/tag-rules/:id',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: {
        tags: ['tags'],
        summary: 'Change a rule tag (recomputed for every customer)',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: TagRuleUpdate,
        response: { 200: Type.Intersect([TagRule, Type.Object({ recompute: RecomputeResult })]), ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const cur = await getRule(db, tenantId, id);
      const body = req.body as { name?: string; tag?: string; condition?: unknown; enabled?: boolean };
      const condition = body.condition !== undefined ? parseRuleCondition(body.condition) : parseRuleCondition(cur.condition);
      const tag = body.tag !== undefined ? canonicalTagName(body.tag) : cur.tag;
      const now = deps.clock();
      await db.tx(async (q) => {
        if (tag !== cur.tag) await q.query('DELETE FROM customer_tags WHERE tenant_id = $1 AND rule_id = $2', [tenantId, id]);
        await q.query(
          `UPDATE tag_rules SET name = $3, tag = $4, condition = $5::jsonb, triggers = $6::text[], time_dependent = $7, enabled = $8, updated_at = $9
           WHERE tenant_id = $1 AND id = $2`,
          [tenantId, id, body.name ?? cur.name, tag, JSON.stringify(condition), [...triggeringEvents(condition)], isTimeDependent(condition), body.enabled ?? cur.enabled, now.toISOString()],
        );
        if (body.enabled === false) await q.query('DELETE FROM customer_tags WHERE tenant_id = $1 AND rule_id = $2', [tenantId, id]);
        await q.query('INSERT INTO tags (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tenantId, tag]);
      });
      const enabled = body.enabled ?? cur.enabled;
      const recompute = enabled ? await recomputeRule(deps, tenantId, id) : { evaluated: 0, added: 0, removed: 0 };
      return { ...ruleOut(await getRule(db, tenantId, id)), recompute };
    },
  );

  app.delete(
    '/v1/tag-rules/:id',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: { tags: ['tags'], summary: 'Delete a rule tag and the tags it gave', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await getRule(db, tenantId, id);
      await db.tx(async (q) => {
        await q.query('DELETE FROM customer_tags WHERE tenant_id = $1 AND rule_id = $2', [tenantId, id]);
        await q.query('DELETE FROM tag_rules WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/tag-rules/:id/recompute',
    {
      config: { auth: 'apiKey:write', permission: 'tags.manage' },
      schema: {
        tags: ['tags'],
        summary: 'Recompute a rule tag for every customer (batch)',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: RecomputeResult, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await getRule(db, tenantId, id);
      return recomputeRule(deps, tenantId, id);
    },
  );
}
