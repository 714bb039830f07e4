import { buildIdentityRules, canonicalTagName, DatongError, DEFAULT_IDENTITY_RULES, type IdentityRulesInput } from '@datong/core';
import {
  ApiKey,
  ApiKeyCreate,
  Benefit,
  BenefitCreate,
  BenefitUpdate,
  CursorQuery,
  IdentityRules,
  IdentityRulesBody,
  IdParam,
  Page,
  Problem,
  QuarantineFix,
  QuarantineItem,
  Source,
  SourceCreate,
  Type,
} from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/client.js';
import type { Authenticator } from '../../http/auth.js';
import { iso, isoReq, keysetPage, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import { randomToken, sha256Hex } from '../../security/keys.js';
import type { ServerDeps } from '../../usecases/context.js';
import { maskPayloadFor } from '../../usecases/customer-access.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

export const API_KEY_PREFIX = 'dtk_';
export const WRITE_KEY_PREFIX = 'dtw_';

export async function createApiKey(q: Queryable, tenantId: string, name: string, scopes: readonly string[], key?: string) {
  const id = newId('key');
  const raw = key ?? `${API_KEY_PREFIX}${randomToken(24)}`;
  await q.query('INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4, $5, $6::text[])', [
    tenantId,
    id,
    name,
    raw.slice(0, 8),
    sha256Hex(raw),
    scopes,
  ]);
  return { id, key: raw };
}

export async function createSource(q: Queryable, deps: Pick<ServerDeps, 'keyring'>, tenantId: string, name: string, type: string, at: Date) {
  const id = newId('src', at.getTime());
  const writeKey = `${WRITE_KEY_PREFIX}${randomToken(18)}`;
  await q.query(
    'INSERT INTO sources (tenant_id, id, name, type, write_key_hash, write_key_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [tenantId, id, name, type, sha256Hex(writeKey), deps.keyring.encrypt(writeKey), at.toISOString()],
  );
  return { id, name, type, writeKey, createdAt: at.toISOString() };
}

interface BenefitRow {
  id: string;
  name: string;
  description: string | null;
  tags: string[];
  match: string;
  active: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  created_at: Date;
}
export const benefitOut = (b: BenefitRow) => ({
  id: b.id,
  name: b.name,
  description: b.description,
  tags: b.tags,
  match: b.match,
  active: b.active,
  startsAt: iso(b.starts_at),
  endsAt: iso(b.ends_at),
  createdAt: isoReq(b.created_at),
});

export function adminRoutes(app: FastifyInstance, deps: ServerDeps, authenticator: Authenticator): void {
  const { db, keyring } = deps;

  // Sources and their write keys.
  app.post(
    '/v1/sources',
    {
      config: { auth: 'apiKey:admin', permission: 'settings.manage', idempotent: true },
      schema: { tags: ['sources'], summary: 'Create a source; answers with its write key', security: [{ apiKey: [] }], body: SourceCreate, response: { 201: Source, ...errors } },
    },
    async (req, reply) => {
      const body = req.body as { name: string; type: string };
      return reply.code(201).send(await createSource(db, deps, req.auth?.tenantId ?? '', body.name, body.type, deps.clock()));
    },
  );
  const listSources = async (tenantId: string, id?: string) => {
    const r = await db.query<{ id: string; name: string; type: string; write_key_enc: string; created_at: Date }>(
      `SELECT id, name, type, write_key_enc, created_at FROM sources WHERE tenant_id = $1 AND disabled_at IS NULL ${id ? 'AND id = $2' : ''} ORDER BY created_at, id`,
      id ? [tenantId, id] : [tenantId],
    );
    return r.rows.map((s) => ({ id: s.id, name: s.name, type: s.type, writeKey: keyring.decrypt(s.write_key_enc), createdAt: isoReq(s.created_at) }));
  };
  app.get(
    '/v1/sources',
    { config: { auth: 'apiKey:admin', permission: 'settings.manage' }, schema: { tags: ['sources'], summary: 'Sources', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(Source) }), ...errors } } },
    async (req) => ({ data: await listSources(req.auth?.tenantId ?? '') }),
  );
  app.get(
    '/v1/sources/:id',
    { config: { auth: 'apiKey:admin', permission: 'settings.manage' }, schema: { tags: ['sources'], summary: 'One source', security: [{ apiKey: [] }], params: IdParam, response: { 200: Source, ...errors } } },
    async (req) => {
      const s = (await listSources(req.auth?.tenantId ?? '', (req.params as { id: string }).id))[0];
      if (!s) throw new DatongError('SOURCE_NOT_FOUND');
      return s;
    },
  );
  app.post(
    '/v1/sources/:id/rotate-write-key',
    {
      config: { auth: 'apiKey:admin', permission: 'settings.manage' },
      schema: { tags: ['sources'], summary: 'Replace the write key (the old one stops working)', security: [{ apiKey: [] }], params: IdParam, response: { 200: Source, ...errors } },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const writeKey = `${WRITE_KEY_PREFIX}${randomToken(18)}`;
      const r = await db.query('UPDATE sources SET write_key_hash = $3, write_key_enc = $4 WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL', [
        tenantId,
        id,
        sha256Hex(writeKey),
        keyring.encrypt(writeKey),
      ]);
      if (r.affectedRows === 0) throw new DatongError('SOURCE_NOT_FOUND');
      authenticator.invalidate();
      const s = (await listSources(tenantId, id))[0];
      if (!s) throw new DatongError('SOURCE_NOT_FOUND');
      return s;
    },
  );
  app.delete(
    '/v1/sources/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'settings.manage' },
      schema: { tags: ['sources'], summary: 'Disable a source (its write key stops working; its events stay)', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const r = await db.query('UPDATE sources SET disabled_at = now() WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL', [req.auth?.tenantId ?? '', (req.params as { id: string }).id]);
      if (r.affectedRows === 0) throw new DatongError('SOURCE_NOT_FOUND');
      authenticator.invalidate();
      return reply.code(204).send();
    },
  );

  // API keys.
  const keyOut = (k: { id: string; name: string; prefix: string; scopes: string[]; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }) => ({
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    createdAt: isoReq(k.created_at),
    lastUsedAt: iso(k.last_used_at),
    revokedAt: iso(k.revoked_at),
  });
  app.post(
    '/v1/api-keys',
    {
      config: { auth: 'apiKey:admin', permission: 'settings.manage', idempotent: true },
      schema: { tags: ['api-keys'], summary: 'Create an API key; the key is shown once', security: [{ apiKey: [] }], body: ApiKeyCreate, response: { 201: ApiKey, ...errors } },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as { name: string; scopes: string[] };
      const { id, key } = await createApiKey(db, tenantId, body.name, body.scopes);
      const r = await db.query<Parameters<typeof keyOut>[0]>('SELECT * FROM api_keys WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      const row = r.rows[0];
      if (!row) throw new DatongError('INTERNAL');
      return reply.code(201).send({ ...keyOut(row), key });
    },
  );
  app.get(
    '/v1/api-keys',
    { config: { auth: 'apiKey:admin', permission: 'settings.manage' }, schema: { tags: ['api-keys'], summary: 'API keys (without the keys)', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(ApiKey) }), ...errors } } },
    async (req) => {
      const r = await db.query<Parameters<typeof keyOut>[0]>('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [req.auth?.tenantId ?? '']);
      return { data: r.rows.map(keyOut) };
    },
  );
  app.delete(
    '/v1/api-keys/:id',
    { config: { auth: 'apiKey:admin', permission: 'settings.manage' }, schema: { tags: ['api-keys'], summary: 'Revoke an API key', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      const r = await db.query('UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL', [req.auth?.tenantId ?? '', (req.params as { id: string }).id]);
      if (r.affectedRows === 0) throw new DatongError('API_KEY_NOT_FOUND');
      authenticator.invalidate();
      return reply.code(204).send();
    },
  );

  // Identity rules.
  const currentRules = async (tenantId: string) => {
    const r = await db.query<{ rules: IdentityRulesInput | null }>("SELECT settings->'identityRules' AS rules FROM tenants WHERE id = $1", [tenantId]);
    const rules = r.rows[0]?.rules ? buildIdentityRules(r.rows[0].rules) : DEFAULT_IDENTITY_RULES;
    return {
      priority: [...rules.priority],
      limits: { ...rules.limits } as Record<string, number>,
      blocked: rules.blocked.map((b) => ({ type: b.type, value: b.value, ...(b.collection && b.collection !== '*' ? { collection: b.collection } : {}) })),
    };
  };
  app.get(
    '/v1/identity-rules',
    { config: { auth: 'apiKey:read', permission: 'settings.manage' }, schema: { tags: ['identity'], summary: 'Identity resolution rules', security: [{ apiKey: [] }], response: { 200: IdentityRules, ...errors } } },
    async (req) => currentRules(req.auth?.tenantId ?? ''),
  );
  app.put(
    '/v1/identity-rules',
    {
      config: { auth: 'apiKey:admin', permission: 'settings.manage' },
      schema: {
        tags: ['identity'],
        summary: 'Set identifier priority, per-type limits and blocked values',
        description: 'Omitted parts keep their defaults. Applies to messages processed from now on; existing customers are not re-resolved.',
        security: [{ apiKey: [] }],
        body: IdentityRulesBody,
        response: { 200: IdentityRules, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as IdentityRulesInput;
      buildIdentityRules(body);
      await db.query(`UPDATE tenants SET settings = jsonb_set(settings, '{identityRules}', $2::jsonb) WHERE id = $1`, [tenantId, JSON.stringify(body)]);
      return currentRules(tenantId);
    },
  );

  // Quarantine.
  interface QRow {
    id: string;
    kind: 'message' | 'value';
    source_id: string | null;
    message_id: string | null;
    field: string | null;
    reason: string;
    payload_enc: string;
    status: 'open' | 'fixed' | 'discarded';
    created_at: Date;
    resolved_at: Date | null;
  }
  const qOut = (x: QRow) => {
    let payload: unknown = null;
    try {
      payload = JSON.parse(keyring.decrypt(x.payload_enc));
    } catch {
      payload = null;
    }
    return {
      id: x.id,
      kind: x.kind,
      sourceId: x.source_id,
      messageId: x.message_id,
      field: x.field,
      reason: x.reason,
      payload,
      status: x.status,
      createdAt: isoReq(x.created_at),
      resolvedAt: iso(x.resolved_at),
    };
  };
  app.get(
    '/v1/quarantine',
    {
      config: { auth: 'apiKey:admin', permission: 'quarantine.manage' },
      schema: {
        tags: ['quarantine'],
        summary: 'Records set aside by validation, newest first',
        security: [{ apiKey: [] }],
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('fixed'), Type.Literal('discarded')], { default: 'open' })),
          ...CursorQuery,
        }),
        response: { 200: Page(QuarantineItem), ...errors },
      },
    },
    async (req) => {
      const { status = 'open', cursor, limit = 50 } = req.query as { status?: string; cursor?: string; limit?: number };
      const params: unknown[] = [req.auth?.tenantId ?? '', status];
      const where = ['tenant_id = $1', 'status = $2'];
      const order = keysetPage(params, where, cursor, limit, 'created_at', 'id');
      const r = await db.query<QRow>(`SELECT * FROM quarantine WHERE ${where.join(' AND ')} ${order}`, params);
      // Console roles that mask personal data see quarantined payloads masked too.
      return toPage(r.rows, limit, (x) => (req.auth ? maskPayloadFor(req.auth, qOut(x)) : qOut(x)), (x) => [x.created_at, x.id]);
    },
  );
  const openItem = async (q: Queryable, tenantId: string, id: string): Promise<QRow> => {
    const r = await q.query<QRow>('SELECT * FROM quarantine WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
    const row = r.rows[0];
    if (!row) throw new DatongError('QUARANTINE_ITEM_NOT_FOUND');
    if (row.status !== 'open') throw new DatongError('QUARANTINE_ITEM_RESOLVED', `This item was already ${row.status}`);
    return row;
  };
  app.post(
    '/v1/quarantine/:id/fix',
    {
      config: { auth: 'apiKey:admin', permission: 'quarantine.manage' },
      schema: {
        tags: ['quarantine'],
        summary: 'Fix a quarantined record: the corrected message or value is processed again',
        description:
          'kind=message: send the whole corrected Segment message. kind=value: send the corrected value; it is applied to the same customer as an identify.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: QuarantineFix,
        response: { 200: QuarantineItem, ...errors, 409: Problem },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const fixed = (req.body as { payload: unknown }).payload;
      const now = deps.clock();
      const row = await db.tx(async (q) => {
        const item = await openItem(q, tenantId, id);
        if (!item.source_id) throw new DatongError('VALIDATION_FAILED', 'This item has no source to reprocess it from');
        let message: Record<string, unknown>;
        let messageId: string;
        if (item.kind === 'message') {
          if (typeof fixed !== 'object' || fixed === null || Array.isArray(fixed)) throw new DatongError('VALIDATION_FAILED', 'payload must be the corrected message object');
          message = fixed as Record<string, unknown>;
          messageId = `${item.message_id ?? id}:fix:${id}`;
        } else {
          const original = JSON.parse(keyring.decrypt(item.payload_enc)) as { field?: string; message?: Record<string, unknown> };
          message = valueFixMessage(original.field ?? item.field ?? '', fixed, original.message ?? {});
          messageId = `${item.message_id ?? id}:fix:${id}`;
        }
        await q.query(
          `INSERT INTO inbox (tenant_id, source_id, message_id, received_at, payload_enc) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, source_id, message_id) DO UPDATE SET payload_enc = EXCLUDED.payload_enc, status = 0, attempts = 0`,
          [tenantId, item.source_id, messageId, now.toISOString(), keyring.encrypt(JSON.stringify({ ...message, messageId }))],
        );
        const r = await q.query<QRow>(
          "UPDATE quarantine SET status = 'fixed', resolved_at = $3, resolution = $4 WHERE tenant_id = $1 AND id = $2 RETURNING *",
          [tenantId, id, now.toISOString(), `reprocessed as ${messageId}`],
        );
        return r.rows[0];
      });
      deps.kick();
      if (!row) throw new DatongError('QUARANTINE_ITEM_NOT_FOUND');
      return req.auth ? maskPayloadFor(req.auth, qOut(row)) : qOut(row);
    },
  );
  app.post(
    '/v1/quarantine/:id/discard',
    {
      config: { auth: 'apiKey:admin', permission: 'quarantine.manage' },
      schema: { tags: ['quarantine'], summary: 'Discard a quarantined record (kept, marked discarded)', security: [{ apiKey: [] }], params: IdParam, response: { 200: QuarantineItem, ...errors, 409: Problem } },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const row = await db.tx(async (q) => {
        await openItem(q, tenantId, id);
        const r = await q.query<QRow>(
          "UPDATE quarantine SET status = 'discarded', resolved_at = $3, resolution = $4 WHERE tenant_id = $1 AND id = $2 RETURNING *",
          [tenantId, id, deps.clock().toISOString(), `discarded by ${req.auth?.actor ?? 'unknown'}`],
        );
        return r.rows[0];
      });
      if (!row) throw new DatongError('QUARANTINE_ITEM_NOT_FOUND');
      return req.auth ? maskPayloadFor(req.auth, qOut(row)) : qOut(row);
    },
  );

  // Benefits shown in the mall to customers with matching tags.
  const getBenefit = async (tenantId: string, id: string) => {
    const r = await db.query<BenefitRow>('SELECT * FROM benefits WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    const row = r.rows[0];
    if (!row) throw new DatongError('BENEFIT_NOT_FOUND');
    return row;
  };
  app.post(
    '/v1/benefits',
    {
      config: { auth: 'apiKey:write', permission: 'settings.manage', idempotent: true },
      schema: { tags: ['benefits'], summary: 'Create a benefit shown to customers with all/any of the given tags', security: [{ apiKey: [] }], body: BenefitCreate, response: { 201: Benefit, ...errors } },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const b = req.body as { name: string; description?: string; tags: string[]; match?: string; active?: boolean; startsAt?: string; endsAt?: string };
      const now = deps.clock();
      const id = newId('bnf', now.getTime());
      await db.query(
        `INSERT INTO benefits (tenant_id, id, name, description, tags, match, active, starts_at, ends_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, $10, $10)`,
        [tenantId, id, b.name, b.description ?? null, [...new Set(b.tags.map(canonicalTagName))], b.match ?? 'any', b.active ?? true, b.startsAt ?? null, b.endsAt ?? null, now.toISOString()],
      );
      return reply.code(201).send(benefitOut(await getBenefit(tenantId, id)));
    },
  );
  app.get(
    '/v1/benefits',
    { config: { auth: 'apiKey:read', permission: 'settings.manage' }, schema: { tags: ['benefits'], summary: 'Benefits', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(Benefit) }), ...errors } } },
    async (req) => {
      const r = await db.query<BenefitRow>('SELECT * FROM benefits WHERE tenant_id = $1 ORDER BY created_at, id', [req.auth?.tenantId ?? '']);
      return { data: r.rows.map(benefitOut) };
    },
  );
  app.get(
    '/v1/benefits/:id',
    { config: { auth: 'apiKey:read', permission: 'settings.manage' }, schema: { tags: ['benefits'], summary: 'One benefit', security: [{ apiKey: [] }], params: IdParam, response: { 200: Benefit, ...errors } } },
    async (req) => benefitOut(await getBenefit(req.auth?.tenantId ?? '', (req.params as { id: string }).id)),
  );
  app.patch(
    '/v1/benefits/:id',
    {
      config: { auth: 'apiKey:write', permission: 'settings.manage' },
      schema: { tags: ['benefits'], summary: 'Change a benefit', security: [{ apiKey: [] }], params: IdParam, body: BenefitUpdate, response: { 200: Benefit, ...errors } },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const cur = await getBenefit(tenantId, id);
      const b = req.body as { name?: string; description?: string; tags?: string[]; match?: string; active?: boolean; startsAt?: string; endsAt?: string };
      await db.query(
        `UPDATE benefits SET name = $3, description = $4, tags = $5::text[], match = $6, active = $7, starts_at = $8, ends_at = $9, updated_at = now()
         WHERE tenant_id = $1 AND id = $2`,
        [
          tenantId,
          id,
          b.name ?? cur.name,
          b.description ?? cur.description,
          b.tags ? [...new Set(b.tags.map(canonicalTagName))] : cur.tags,
          b.match ?? cur.match,
          b.active ?? cur.active,
          b.startsAt ?? iso(cur.starts_at),
          b.endsAt ?? iso(cur.ends_at),
        ],
      );
      return benefitOut(await getBenefit(tenantId, id));
    },
  );
  app.delete(
    '/v1/benefits/:id',
    { config: { auth: 'apiKey:write', permission: 'settings.manage' }, schema: { tags: ['benefits'], summary: 'Delete a benefit', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      const r = await db.query('DELETE FROM benefits WHERE tenant_id = $1 AND id = $2', [req.auth?.tenantId ?? '', (req.params as { id: string }).id]);
      if (r.affectedRows === 0) throw new DatongError('BENEFIT_NOT_FOUND');
      return reply.code(204).send();
    },
  );
}

/**
 * Builds the identify message that applies a corrected value to the customer of the original
 * message (same userId / anonymousId), so that the fix neither repeats the original event
 * nor loses the value.
 */
export function valueFixMessage(field: string, value: unknown, original: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = { type: 'identify' };
  for (const k of ['userId', 'anonymousId', 'timestamp']) if (original[k] !== undefined) base[k] = original[k];
  if (field === 'traits.phone' || field === 'traits.email') {
    return { ...base, traits: { [field.slice('traits.'.length)]: value } };
  }
  if (field === 'userId' || field === 'anonymousId' || field === 'previousId') {
    const key = field === 'previousId' ? 'anonymousId' : field;
    return { ...base, [key]: value };
  }
  const m = /^context\.externalIds\[(\d+)\]$/.exec(field);
  if (m) {
    const ctx = (original['context'] ?? {}) as { externalIds?: unknown[] };
    const orig = (ctx.externalIds?.[Number(m[1])] ?? {}) as Record<string, unknown>;
    const fixedId = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { ...orig, id: value };
    return { ...base, context: { externalIds: [fixedId] } };
  }
  throw new DatongError('VALIDATION_FAILED', `A value in ${field} cannot be fixed here; discard it and resend the corrected event`);
}
