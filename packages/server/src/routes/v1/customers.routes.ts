import { canonicalTagName, DatongError, normalizeEmail, normalizePhone } from '@datong/core';
import { CursorQuery, Customer, CustomerSummary, IdParam, Page, Problem, TagsAddBody, TagsBody, TimelineItem, Type } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import { isoReq, keysetPage, toPage } from '../../http/pagination.js';
import type { ServerDeps } from '../../usecases/context.js';
import { loadCustomer, lookupCustomerId, lookupIdentifier, membersOf, rootOf } from '../../usecases/customers.js';
import { subscribedTypes, writeOutbox } from '../../usecases/outbox.js';
import { unmerge } from '../../usecases/unmerge.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

export function customersRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring } = deps;

  app.get(
    '/v1/customers',
    {
      config: { auth: 'apiKey:read' },
      schema: {
        tags: ['customers'],
        summary: 'Search customers by name, phone, email, identifier or tag',
        security: [{ apiKey: [] }],
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200, description: 'Name prefix, phone, email, any identifier value, or a customer id' })),
          tag: Type.Optional(Type.String({ maxLength: 64 })),
          ...CursorQuery,
        }),
        response: { 200: Page(CustomerSummary), ...errors },
      },
    },
    async (req) => {
      const { auth } = req;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const { q, tag, cursor, limit = 50 } = req.query as { q?: string; tag?: string; cursor?: string; limit?: number };
      const params: unknown[] = [auth.tenantId];
      const where: string[] = ['c.tenant_id = $1', 'c.merged_into IS NULL'];
      if (q && q.trim() !== '') {
        const term = q.trim();
        const ids = new Set<string>();
        const phone = /^[+\d\s\-()]{7,}$/.test(term) ? normalizePhone(term) : undefined;
        const email = term.includes('@') ? normalizeEmail(term) : undefined;
        if (phone) {
          const r = await lookupIdentifier(db, keyring, auth.tenantId, { type: 'phone', collection: '', value: phone });
          if (r) ids.add(r);
        }
        if (email) {
          const r = await lookupIdentifier(db, keyring, auth.tenantId, { type: 'email', collection: '', value: email });
          if (r) ids.add(r);
        }
        const byValue = await db.query<{ root_id: string }>(
          `SELECT DISTINCT c.root_id FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
           WHERE i.tenant_id = $1 AND i.value = $2 LIMIT 50`,
          [auth.tenantId, term],
        );
        for (const r of byValue.rows) ids.add(r.root_id);
        const byId = await db.query<{ root_id: string }>('SELECT root_id FROM customers WHERE tenant_id = $1 AND id = $2', [auth.tenantId, term]);
        for (const r of byId.rows) ids.add(r.root_id);
        params.push([...ids]);
        const likeTerm = `${term.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
        params.push(likeTerm);
        where.push(`(c.id = ANY($${params.length - 1}::text[]) OR lower(c.traits->>'name') LIKE $${params.length})`);
      }
      if (tag) {
        params.push(canonicalTagName(tag), deps.clock().toISOString());
        where.push(`EXISTS (SELECT 1 FROM customer_tags t JOIN customers m ON m.tenant_id = t.tenant_id AND m.id = t.customer_id
                    WHERE t.tenant_id = c.tenant_id AND m.root_id = c.id AND t.tag = $${params.length - 1}
                      AND (t.expires_at IS NULL OR t.expires_at > $${params.length}::timestamptz))`);
      }
      const order = keysetPage(params, where, cursor, limit, 'c.created_at', 'c.id');
      const r = await db.query<{ id: string; traits: Record<string, unknown>; first_seen_at: Date; last_seen_at: Date; created_at: Date; tags: string[] | null }>(
        `SELECT c.id, c.traits, c.first_seen_at, c.last_seen_at, c.created_at,
                (SELECT array_agg(DISTINCT t.tag ORDER BY t.tag) FROM customer_tags t JOIN customers m ON m.tenant_id = t.tenant_id AND m.id = t.customer_id
                 WHERE t.tenant_id = c.tenant_id AND m.root_id = c.id) AS tags
         FROM customers c WHERE ${where.join(' AND ')} ${order}`,
        params,
      );
      return toPage(
        r.rows,
        limit,
        (c) => ({
          id: c.id,
          traits: c.traits,
          tags: c.tags ?? [],
          firstSeenAt: isoReq(c.first_seen_at),
          lastSeenAt: isoReq(c.last_seen_at),
          createdAt: isoReq(c.created_at),
        }),
        (c) => [c.created_at, c.id],
      );
    },
  );

  app.get(
    '/v1/customers/lookup',
    {
      config: { auth: 'apiKey:read' },
      schema: {
        tags: ['customers'],
        summary: 'Find the customer holding an identifier',
        description: 'The value is normalized as on ingestion (phones to E.164, emails lower-cased). 404 when no customer has it.',
        security: [{ apiKey: [] }],
        querystring: Type.Object({
          type: Type.String({ description: 'Identifier type, e.g. phone, email, wechat_openid' }),
          value: Type.String({ minLength: 1, maxLength: 256 }),
          collection: Type.Optional(Type.String({ maxLength: 128, description: 'appId, corpId or CRM name for typed collections' })),
        }),
        response: { 200: Customer, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const { type, value, collection } = req.query as { type: string; value: string; collection?: string };
      const id = await lookupCustomerId(db, keyring, auth.tenantId, type, value, collection);
      if (!id) throw new DatongError('IDENTITY_NOT_FOUND', `No customer has this ${type}`);
      return loadCustomer(db, keyring, auth.tenantId, id, deps.clock());
    },
  );

  app.get(
    '/v1/customers/:id',
    {
      config: { auth: 'apiKey:read' },
      schema: {
        tags: ['customers'],
        summary: 'The unified customer: profile, identities, tags, consent, counts, merge history',
        description: 'Asking for a customer that was merged answers with the customer it was merged into.',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: Customer, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      return loadCustomer(db, keyring, auth.tenantId, (req.params as { id: string }).id, deps.clock());
    },
  );

  app.get(
    '/v1/customers/:id/timeline',
    {
      config: { auth: 'apiKey:read' },
      schema: {
        tags: ['customers'],
        summary: "The customer's timeline across every channel, newest first",
        security: [{ apiKey: [] }],
        params: IdParam,
        querystring: Type.Object({
          type: Type.Optional(Type.String({ description: 'identify, track, page, …' })),
          event: Type.Optional(Type.String({ maxLength: 200 })),
          sourceId: Type.Optional(Type.String({ maxLength: 64 })),
          ...CursorQuery,
        }),
        response: { 200: Page(TimelineItem), ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const { type, event, sourceId, cursor, limit = 50 } = req.query as { type?: string; event?: string; sourceId?: string; cursor?: string; limit?: number };
      const rootId = await rootOf(db, auth.tenantId, (req.params as { id: string }).id);
      const members = await membersOf(db, auth.tenantId, rootId);
      const params: unknown[] = [auth.tenantId, members];
      const where = ['e.tenant_id = $1', 'e.customer_id = ANY($2::text[])'];
      if (type) {
        params.push(type);
        where.push(`e.type = $${params.length}`);
      }
      if (event) {
        params.push(event);
        where.push(`e.event = $${params.length}`);
      }
      if (sourceId) {
        params.push(sourceId);
        where.push(`e.source_id = $${params.length}`);
      }
      const order = keysetPage(params, where, cursor, limit, 'e.occurred_at', 'e.id');
      const r = await db.query<{
        id: string;
        type: string;
        event: string | null;
        occurred_at: Date;
        received_at: Date;
        source_id: string;
        source_name: string | null;
        source_type: string | null;
        channel: string | null;
        customer_id: string;
        message_id: string;
        properties: Record<string, unknown>;
      }>(
        `SELECT e.id, e.type, e.event, e.occurred_at, e.received_at, e.source_id, s.name AS source_name, s.type AS source_type, e.channel,
                e.customer_id, e.message_id, e.properties
         FROM events e LEFT JOIN sources s ON s.tenant_id = e.tenant_id AND s.id = e.source_id
         WHERE ${where.join(' AND ')} ${order}`,
        params,
      );
      return toPage(
        r.rows,
        limit,
        (e) => ({
          id: e.id,
          type: e.type,
          event: e.event,
          occurredAt: isoReq(e.occurred_at),
          receivedAt: isoReq(e.received_at),
          source: { id: e.source_id, name: e.source_name, type: e.source_type },
          channel: e.channel,
          customerId: e.customer_id,
          messageId: e.message_id,
          properties: e.properties,
        }),
        (e) => [e.occurred_at, e.id],
      );
    },
  );

  const tagChange = Type.Object({ customerId: Type.String(), added: Type.Array(Type.String()), removed: Type.Array(Type.String()) });

  app.post(
    '/v1/customers/:id/tags',
    {
      config: { auth: 'apiKey:write' },
      schema: {
        tags: ['tags'],
        summary: 'Add manual tags to a customer, optionally until a given time',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: TagsAddBody,
        response: { 200: tagChange, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const body = req.body as { tags: string[]; expiresAt?: string };
      const names = [...new Set(body.tags.map(canonicalTagName))];
      const now = deps.clock();
      if (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= now.getTime()) {
        throw new DatongError('VALIDATION_FAILED', 'expiresAt must be in the future');
      }
      return db.tx(async (q) => {
        const rootId = await rootOf(q, auth.tenantId, (req.params as { id: string }).id);
        const existing = await q.query<{ tag: string }>(
          `SELECT DISTINCT t.tag FROM customer_tags t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
           WHERE t.tenant_id = $1 AND c.root_id = $2 AND t.tag = ANY($3::text[]) AND (t.expires_at IS NULL OR t.expires_at > $4)`,
          [auth.tenantId, rootId, names, now.toISOString()],
        );
        const have = new Set(existing.rows.map((r) => r.tag));
        const added = names.filter((n) => !have.has(n));
        if (added.length > 0) {
          await q.query(
            `INSERT INTO customer_tags (tenant_id, customer_id, tag, source, added_at, expires_at)
             SELECT $1, $2, t, 'manual', $3, $5 FROM unnest($4::text[]) AS t
             ON CONFLICT (tenant_id, customer_id, tag) DO UPDATE SET source = 'manual', rule_id = NULL, added_at = EXCLUDED.added_at, expires_at = EXCLUDED.expires_at`,
            [auth.tenantId, rootId, now.toISOString(), added, body.expiresAt ?? null],
          );
          await q.query('INSERT INTO tags (tenant_id, name) SELECT $1, t FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING', [auth.tenantId, added]);
          const wanted = await subscribedTypes(q, auth.tenantId);
          if (wanted.has('tag.added')) {
            await writeOutbox(q, auth.tenantId, added.map((tag) => ({ type: 'tag.added', payload: { customerId: rootId, tag, source: 'manual' } })), now);
          }
        }
        return { customerId: rootId, added, removed: [] };
      });
    },
  );

  const removeTags = async (tenantId: string, id: string, names: string[]) => {
    const now = deps.clock();
    return db.tx(async (q) => {
      const rootId = await rootOf(q, tenantId, id);
      const r = await q.query<{ tag: string }>(
        `DELETE FROM customer_tags t USING customers c
         WHERE t.tenant_id = $1 AND c.tenant_id = t.tenant_id AND c.id = t.customer_id AND c.root_id = $2 AND t.tag = ANY($3::text[])
         RETURNING t.tag`,
        [tenantId, rootId, names],
      );
      const removed = [...new Set(r.rows.map((x) => x.tag))];
      const wanted = await subscribedTypes(q, tenantId);
      if (removed.length > 0 && wanted.has('tag.removed')) {
        await writeOutbox(q, tenantId, removed.map((tag) => ({ type: 'tag.removed', payload: { customerId: rootId, tag, source: 'manual' } })), now);
      }
      return { customerId: rootId, added: [], removed };
    });
  };

  app.delete(
    '/v1/customers/:id/tags',
    {
      config: { auth: 'apiKey:write' },
      schema: {
        tags: ['tags'],
        summary: 'Remove tags from a customer',
        description: 'A rule tag whose rule still matches comes back at the next evaluation; disable the rule to stop it.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: TagsBody,
        response: { 200: tagChange, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const names = [...new Set((req.body as { tags: string[] }).tags.map(canonicalTagName))];
      return removeTags(auth.tenantId, (req.params as { id: string }).id, names);
    },
  );

  app.delete(
    '/v1/customers/:id/tags/:tag',
    {
      config: { auth: 'apiKey:write' },
      schema: {
        tags: ['tags'],
        summary: 'Remove one tag from a customer',
        security: [{ apiKey: [] }],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), tag: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: tagChange, ...errors },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const p = req.params as { id: string; tag: string };
      return removeTags(auth.tenantId, p.id, [canonicalTagName(p.tag)]);
    },
  );

  app.post(
    '/v1/customers/:id/unmerge',
    {
      config: { auth: 'apiKey:write' },
      // The body is optional; Fastify validates a missing body against the object schema otherwise.
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        tags: ['customers'],
        summary: 'Undo a merge: restore the merged customer with its identities, events and tags',
        description: 'Without a body, undoes the most recent merge into this customer.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: Type.Optional(
          Type.Object({
            mergeId: Type.Optional(Type.String({ maxLength: 64 })),
            customerId: Type.Optional(Type.String({ maxLength: 64, description: 'The merged customer to split off' })),
          }),
        ),
        response: {
          200: Type.Object({ customerId: Type.String(), restoredCustomerId: Type.String(), mergeId: Type.String(), movedCustomerIds: Type.Array(Type.String()) }),
          ...errors,
          409: Problem,
        },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth) throw new DatongError('AUTH_REQUIRED');
      const body = (req.body ?? {}) as { mergeId?: string; customerId?: string };
      return db.tx((q) => unmerge(q, auth.tenantId, (req.params as { id: string }).id, body, auth.actor, deps.clock()));
    },
  );
}
