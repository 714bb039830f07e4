import { DatongError } from '@datong/core';
import { CursorQuery, IdParam, Page, Problem, Type, Webhook, WebhookCreate, WebhookDelivery, WebhookUpdate } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/client.js';
import { iso, isoReq, keysetPage, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { ServerDeps } from '../../usecases/context.js';
import { generateWebhookSecret, resolveAndCheck, validateWebhookUrl } from '../../webhooks/index.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

interface SubRow {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  created_at: Date;
}
const subOut = (s: SubRow) => ({
  id: s.id,
  url: s.url,
  eventTypes: s.event_types,
  description: s.description,
  enabled: s.enabled,
  createdAt: isoReq(s.created_at),
});

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_type: string;
  status: 'pending' | 'delivering' | 'succeeded' | 'dead';
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  last_latency_ms: number | null;
  created_at: Date;
  delivered_at: Date | null;
}
const deliveryOut = (d: DeliveryRow) => ({
  id: d.id,
  subscriptionId: d.subscription_id,
  eventType: d.event_type,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'succeeded' || d.status === 'dead' ? null : iso(d.next_attempt_at),
  lastStatus: d.last_status,
  lastError: d.last_error,
  latencyMs: d.last_latency_ms,
  createdAt: isoReq(d.created_at),
  deliveredAt: iso(d.delivered_at),
});

async function getSub(q: Queryable, tenantId: string, id: string): Promise<SubRow> {
  const r = await q.query<SubRow>('SELECT id, url, event_types, description, enabled, created_at FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    id,
  ]);
  const row = r.rows[0];
  if (!row) throw new DatongError('WEBHOOK_NOT_FOUND', `No webhook subscription ${id}`);
  return row;
}

export function webhooksRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db } = deps;
  const allowPrivateNetwork = deps.config.webhooks.allowPrivateNetwork;

  // Refuse URLs whose host resolves to a private address now; delivery checks again at connect time.
  const checkUrl = async (raw: string): Promise<string> => {
    const url = validateWebhookUrl(raw, { allowPrivateNetwork });
    try {
      await resolveAndCheck(url.hostname.replace(/^\[|\]$/g, ''), { allowPrivateNetwork });
    } catch (e) {
      if (e instanceof DatongError && e.code === 'WEBHOOK_URL_FORBIDDEN') throw e;
      throw new DatongError('WEBHOOK_URL_INVALID', `The host ${url.hostname} does not resolve`, { cause: e });
    }
    return url.toString();
  };

  app.post(
    '/v1/webhooks',
    {
      config: { auth: 'apiKey:admin', permission: 'webhooks.manage', idempotent: true },
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe a URL to events; answers once with the signing secret',
        description:
          'Deliveries follow the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature) and are retried with backoff, then dead-lettered.',
        security: [{ apiKey: [] }],
        body: WebhookCreate,
        response: { 201: Webhook, ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as { url: string; eventTypes: string[]; description?: string };
      const url = await checkUrl(body.url);
      const now = deps.clock();
      const id = newId('whk', now.getTime());
      const secret = generateWebhookSecret();
      await db.query(
        `INSERT INTO webhook_subscriptions (tenant_id, id, url, event_types, secret_enc, description, created_at, updated_at)
         VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $7)`,
        [tenantId, id, url, body.eventTypes, deps.keyring.encrypt(secret), body.description ?? null, now.toISOString()],
      );
      return reply.code(201).send({ ...subOut(await getSub(db, tenantId, id)), secret });
    },
  );

  app.get(
    '/v1/webhooks',
    {
      config: { auth: 'apiKey:admin', permission: 'monitor.read' },
      schema: { tags: ['webhooks'], summary: 'Webhook subscriptions', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(Webhook) }), ...errors } },
    },
    async (req) => {
      const r = await db.query<SubRow>(
        'SELECT id, url, event_types, description, enabled, created_at FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY created_at, id',
        [req.auth?.tenantId ?? ''],
      );
      return { data: r.rows.map(subOut) };
    },
  );

  app.get(
    '/v1/webhooks/:id',
    { config: { auth: 'apiKey:admin', permission: 'monitor.read' }, schema: { tags: ['webhooks'], summary: 'One subscription', security: [{ apiKey: [] }], params: IdParam, response: { 200: Webhook, ...errors } } },
    async (req) => subOut(await getSub(db, req.auth?.tenantId ?? '', (req.params as { id: string }).id)),
  );

  app.patch(
    '/v1/webhooks/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'webhooks.manage' },
      schema: { tags: ['webhooks'], summary: 'Change a subscription', security: [{ apiKey: [] }], params: IdParam, body: WebhookUpdate, response: { 200: Webhook, ...errors } },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const cur = await getSub(db, tenantId, id);
      const body = req.body as { url?: string; eventTypes?: string[]; description?: string; enabled?: boolean };
      const url = body.url !== undefined ? await checkUrl(body.url) : cur.url;
      await db.query(
        `UPDATE webhook_subscriptions SET url = $3, event_types = $4::text[], description = $5, enabled = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, url, body.eventTypes ?? cur.event_types, body.description ?? cur.description, body.enabled ?? cur.enabled, deps.clock().toISOString()],
      );
      return subOut(await getSub(db, tenantId, id));
    },
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'webhooks.manage' },
      schema: { tags: ['webhooks'], summary: 'Delete a subscription and its pending deliveries', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await getSub(db, tenantId, id);
      await db.tx(async (q) => {
        await q.query("DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND status IN ('pending', 'delivering')", [tenantId, id]);
        await q.query('DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: { auth: 'apiKey:admin', permission: 'monitor.read' },
      schema: {
        tags: ['webhooks'],
        summary: 'Deliveries with status and latency, newest first',
        security: [{ apiKey: [] }],
        params: IdParam,
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivering'), Type.Literal('succeeded'), Type.Literal('dead')])),
          ...CursorQuery,
        }),
        response: { 200: Page(WebhookDelivery), ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await getSub(db, tenantId, id);
      const { status, cursor, limit = 50 } = req.query as { status?: string; cursor?: string; limit?: number };
      const params: unknown[] = [tenantId, id];
      const where = ['tenant_id = $1', 'subscription_id = $2'];
      if (status) {
        params.push(status);
        where.push(`status = $${params.length}`);
      }
      const order = keysetPage(params, where, cursor, limit, 'created_at', 'id');
      const r = await db.query<DeliveryRow>(
        `SELECT id, subscription_id, event_type, status, attempts, next_attempt_at, last_status, last_error, last_latency_ms, created_at, delivered_at
         FROM webhook_deliveries WHERE ${where.join(' AND ')} ${order}`,
        params,
      );
      return toPage(r.rows, limit, deliveryOut, (d) => [d.created_at, d.id]);
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries/:deliveryId',
    {
      config: { auth: 'apiKey:admin', permission: 'monitor.read' },
      schema: {
        tags: ['webhooks'],
        summary: 'One delivery with its payload and every attempt',
        security: [{ apiKey: [] }],
        params: Type.Object({ id: Type.String(), deliveryId: Type.String() }),
        response: {
          200: Type.Intersect([
            WebhookDelivery,
            Type.Object({
              payload: Type.Unknown(),
              attemptsLog: Type.Array(
                Type.Object({ attempt: Type.Integer(), at: Type.String(), statusCode: Type.Union([Type.Integer(), Type.Null()]), latencyMs: Type.Integer(), error: Type.Union([Type.String(), Type.Null()]) }),
              ),
            }),
          ]),
          ...errors,
        },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const p = req.params as { id: string; deliveryId: string };
      const r = await db.query<DeliveryRow & { body: string }>('SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND id = $3', [tenantId, p.id, p.deliveryId]);
      const d = r.rows[0];
      if (!d) throw new DatongError('WEBHOOK_DELIVERY_NOT_FOUND');
      const a = await db.query<{ attempt: number; at: Date; status_code: number | null; latency_ms: number; error: string | null }>(
        'SELECT attempt, at, status_code, latency_ms, error FROM webhook_attempts WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt',
        [tenantId, d.id],
      );
      return {
        ...deliveryOut(d),
        payload: JSON.parse(d.body) as unknown,
        attemptsLog: a.rows.map((x) => ({ attempt: x.attempt, at: isoReq(x.at), statusCode: x.status_code, latencyMs: x.latency_ms, error: x.error })),
      };
    },
  );

  app.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/replay',
    {
      config: { auth: 'apiKey:admin', permission: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivery again now (same webhook-id, so receivers can dedupe)',
        security: [{ apiKey: [] }],
        params: Type.Object({ id: Type.String(), deliveryId: Type.String() }),
        response: { 202: WebhookDelivery, ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const p = req.params as { id: string; deliveryId: string };
      const r = await db.query<DeliveryRow>(
        `UPDATE webhook_deliveries SET status = 'pending', replay_base = attempts, next_attempt_at = $4, lease_until = NULL, updated_at = $4
         WHERE tenant_id = $1 AND subscription_id = $2 AND id = $3 AND status <> 'delivering'
         RETURNING id, subscription_id, event_type, status, attempts, next_attempt_at, last_status, last_error, last_latency_ms, created_at, delivered_at`,
        [tenantId, p.id, p.deliveryId, deps.clock().toISOString()],
      );
      const d = r.rows[0];
      if (!d) throw new DatongError('WEBHOOK_DELIVERY_NOT_FOUND', 'No such delivery, or it is being sent right now');
      deps.kick();
      return reply.code(202).send(deliveryOut(d));
    },
  );

  app.post(
    '/v1/webhooks/:id/replay',
    {
      config: { auth: 'apiKey:admin', permission: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'Replay every dead-lettered delivery of a subscription',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 202: Type.Object({ replayed: Type.Integer() }), ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await getSub(db, tenantId, id);
      const r = await db.query(
        `UPDATE webhook_deliveries SET status = 'pending', replay_base = attempts, next_attempt_at = $3, lease_until = NULL, updated_at = $3
         WHERE tenant_id = $1 AND subscription_id = $2 AND status = 'dead'`,
        [tenantId, id, deps.clock().toISOString()],
      );
      deps.kick();
      return reply.code(202).send({ replayed: r.affectedRows });
    },
  );
}
