import { PassThrough, Readable } from 'node:stream';
import { canonicalTagName, DatongError, maskEmail, maskName, maskPhone, normalizeEmail, normalizePhone, spreadsheetSafe } from '@datong/core';
import {
  CursorQuery,
  Customer,
  CustomerSummary,
  CustomerUpdate,
  ExportQuery,
  IdParam,
  Page,
  Problem,
  RevealBody,
  RevealResult,
  TagsAddBody,
  TagsBody,
  TimelineItem,
  Type,
} from '@datong/contracts';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { auditAction } from '../../http/audit.js';
import type { AuthContext } from '../../http/auth.js';
import { isoReq, keysetPage, toPage } from '../../http/pagination.js';
import type { ServerDeps } from '../../usecases/context.js';
import { contactsOf, SUMMARY_COLUMNS, summaryOut, traitString, type SummaryRow } from '../../usecases/customer-summaries.js';
import { maskCustomerFor, masksPii, maskPropertiesFor, scopeCondition, scopeOf, visibleRoot } from '../../usecases/customer-access.js';
import { loadCustomer, lookupCustomerId, lookupIdentifier, membersOf, rootOf } from '../../usecases/customers.js';
import { subscribedTypes, writeOutbox } from '../../usecases/outbox.js';
import { refreshSegments } from '../../usecases/segments.js';
import { unmerge } from '../../usecases/unmerge.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const EXPORT_PAGE = 500;
const EXPORT_COLUMNS = ['id', 'name', 'phone', 'email', 'tags', 'owner', 'firstSeenAt', 'lastSeenAt', 'createdAt'] as const;

const authOf = (auth: AuthContext | null): AuthContext => {
  if (!auth) throw new DatongError('AUTH_REQUIRED');
  return auth;
};

/** What kind of search term it was, for the audit log (never the term: it may be a phone number). */
const queryKind = (q: string | undefined): string | undefined =>
  q === undefined || q.trim() === '' ? undefined : /^[+\d\s\-()]{7,}$/.test(q.trim()) ? 'phone' : q.includes('@') ? 'email' : 'text';

/**
 * The least string above every string that starts with `prefix`, in code point (= UTF-8 byte)
 * order: the last code point plus one. Null when there is none (the prefix ends in U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next);
  }
  return null;
}

/** RFC 4180 field, defused for spreadsheets. */
const csvField = (v: string): string => {
  const s = spreadsheetSafe(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function customersRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring } = deps;

  /** Root customers matching the search, in the caller's data scope (a SQL condition, so pages stay full). */
  const searchPage = async (
    auth: AuthContext,
    query: { q?: string | undefined; tag?: string | undefined; segment?: string | undefined },
    cursor: string | undefined,
    limit: number,
  ) => {
    const { q, tag, segment } = query;
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
      if (phone || email) {
        // A phone or an email is no name prefix: the identifiers found are the answer.
        where.push(`c.id = ANY($${params.length}::text[])`);
      } else {
        // A name prefix as a byte-wise range over search_name (index customers_search_name,
        // text_pattern_ops), which a generic plan of this statement can use as well.
        const prefix = term.toLowerCase();
        const upper = prefixUpperBound(prefix);
        params.push(prefix);
        const range = [`c.search_name ~>=~ $${params.length}`];
        if (upper !== null) {
          params.push(upper);
          range.push(`c.search_name ~<~ $${params.length}`);
        }
        where.push(`(c.id = ANY($${params.length - range.length}::text[]) OR (${range.join(' AND ')}))`);
      }
    }
    if (tag) {
      params.push(canonicalTagName(tag), deps.clock().toISOString());
      where.push(`EXISTS (SELECT 1 FROM customer_tags t JOIN customers m ON m.tenant_id = t.tenant_id AND m.id = t.customer_id
                  WHERE t.tenant_id = c.tenant_id AND m.root_id = c.id AND t.tag = $${params.length - 1}
                    AND (t.expires_at IS NULL OR t.expires_at > $${params.length}::timestamptz))`);
    }
    if (segment) {
      params.push(segment);
      where.push(`EXISTS (SELECT 1 FROM segment_members s WHERE s.tenant_id = c.tenant_id AND s.segment_id = $${params.length} AND s.customer_id = c.id)`);
    }
    const scope = scopeCondition(scopeOf(auth), params);
    if (scope) where.push(scope);
    const order = keysetPage(params, where, cursor, limit, 'c.created_at', 'c.id');
    const r = await db.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS}
       FROM customers c WHERE ${where.join(' AND ')} ${order}`,
      params,
    );
    const contacts = await contactsOf(db, keyring, auth.tenantId, r.rows.slice(0, limit).map((c) => c.id));
    return toPage(r.rows, limit, (c) => summaryOut(c, contacts), (c) => [c.created_at, c.id]);
  };

  /** A segment filter names a segment of the tenant (404 otherwise, not an empty list). */
  const requireSegment = async (tenantId: string, id: string): Promise<void> => {
    const r = await db.query('SELECT 1 FROM segments WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    if (r.rows.length === 0) throw new DatongError('SEGMENT_NOT_FOUND', `No segment ${id}`);
  };

  /** Customers out of the caller's scope answer as missing ones; API keys and "all" scopes skip the check. */
  const checkVisible = async (auth: AuthContext, id: string): Promise<void> => {
    if (scopeOf(auth) !== null) await visibleRoot(db, auth, id);
  };

  app.get(
    '/v1/customers',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'Search customers by name, phone, email, identifier, tag or segment',
        description: "Only customers in the caller's data scope; personal values masked for roles that mask them.",
        security: [{ apiKey: [] }],
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 200, description: 'Name prefix, phone, email, any identifier value, or a customer id' })),
          tag: Type.Optional(Type.String({ maxLength: 64 })),
          segment: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Members of this segment only' })),
          ...CursorQuery,
        }),
        response: { 200: Page(CustomerSummary), ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const { q, tag, segment, cursor, limit = 50 } = req.query as { q?: string; tag?: string; segment?: string; cursor?: string; limit?: number };
      if (segment) await requireSegment(auth.tenantId, segment);
      const page = await searchPage(auth, { q, tag, segment }, cursor, limit);
      if (page.data.length > 0) {
        const kind = queryKind(q);
        await auditAction(db, deps.clock, req, 'customer.search', 'customer', null, {
          results: page.data.map((c) => c.id),
          ...(kind ? { query: kind } : {}),
          ...(tag ? { tag } : {}),
          ...(segment ? { segment } : {}),
        });
      }
      return { data: page.data.map((c) => maskCustomerFor(auth, c)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/customers/export',
    {
      config: { auth: 'apiKey:read', permission: 'customers.export' },
      schema: {
        tags: ['customers'],
        summary: 'Export the customers a search finds, as CSV or XLSX (streamed)',
        description:
          "Same filters and data scope as the search; masked for roles that mask personal data. Cells that a spreadsheet would run as a formula start with '. The export is audited.",
        security: [{ apiKey: [] }],
        querystring: ExportQuery,
        produces: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
        response: {
          200: {
            description: 'The file, as an attachment',
            content: {
              'text/csv': { schema: Type.String() },
              'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { schema: Type.String({ format: 'binary' }) },
            },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const auth = authOf(req.auth);
      const { format = 'csv', q, tag, segment } = req.query as { format?: 'csv' | 'xlsx'; q?: string; tag?: string; segment?: string };
      if (tag) canonicalTagName(tag);
      if (segment) await requireSegment(auth.tenantId, segment);
      const kind = queryKind(q);
      await auditAction(db, deps.clock, req, 'customer.export', 'customer', null, { format, ...(kind ? { query: kind } : {}), ...(tag ? { tag } : {}), ...(segment ? { segment } : {}) });
      const mask = masksPii(auth);
      const rows = async function* (): AsyncGenerator<string[]> {
        let cursor: string | undefined;
        do {
          const page = await searchPage(auth, { q, tag, segment }, cursor, EXPORT_PAGE);
          for (const c of page.data) {
            const phone = c.phone ?? '';
            const email = c.email ?? '';
            const name = traitString(c.traits, 'name') ?? '';
            yield [
              c.id,
              mask && name ? maskName(name) : name,
              mask && phone ? maskPhone(phone) : phone,
              mask && email ? maskEmail(email) : email,
              c.tags.join(';'),
              c.owner?.name ?? '',
              c.firstSeenAt,
              c.lastSeenAt,
              c.createdAt,
            ];
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
      };
      const stamp = deps.clock().toISOString().slice(0, 10).replace(/-/g, '');
      reply.header('content-disposition', `attachment; filename="customers-${stamp}.${format}"`).header('cache-control', 'no-store');
      if (format === 'csv') {
        const lines = async function* (): AsyncGenerator<string> {
          // A byte-order mark, so that Excel reads the UTF-8 (Chinese names) as UTF-8.
          yield `\uFEFF${EXPORT_COLUMNS.join(',')}\r\n`;
          for await (const r of rows()) yield `${r.map(csvField).join(',')}\r\n`;
        };
        return reply.type('text/csv; charset=utf-8').send(Readable.from(lines()));
      }
      const out = new PassThrough();
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
      const ws = wb.addWorksheet('Customers');
      void (async () => {
        ws.addRow([...EXPORT_COLUMNS]).commit();
        for await (const r of rows()) ws.addRow(r.map(spreadsheetSafe)).commit();
        ws.commit();
        await wb.commit();
      })().catch((e: unknown) => {
        req.log.error({ err: e, event: 'customers.export_failed' }, 'export failed');
        out.destroy(e instanceof Error ? e : new Error(String(e)));
      });
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(out);
    },
  );


  app.get(
    '/v1/customers/lookup',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
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
      const auth = authOf(req.auth);
      const { type, value, collection } = req.query as { type: string; value: string; collection?: string };
      const id = await lookupCustomerId(db, keyring, auth.tenantId, type, value, collection);
      if (!id) throw new DatongError('IDENTITY_NOT_FOUND', `No customer has this ${type}`);
      // Out of scope answers like no customer at all: the lookup must not confirm who holds a phone.
      if (scopeOf(auth) !== null) await visibleRoot(db, auth, id, 'IDENTITY_NOT_FOUND');
      const c = await loadCustomer(db, keyring, auth.tenantId, id, deps.clock());
      await auditAction(db, deps.clock, req, 'customer.lookup', 'customer', c.id, { type });
      return maskCustomerFor(auth, c);
    },
  );

  app.get(
    '/v1/customers/:id',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
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
      const auth = authOf(req.auth);
      const id = (req.params as { id: string }).id;
      await checkVisible(auth, id);
      const c = await loadCustomer(db, keyring, auth.tenantId, id, deps.clock());
      await auditAction(db, deps.clock, req, 'customer.read', 'customer', c.id);
      return maskCustomerFor(auth, c);
    },
  );

  app.get(
    '/v1/customers/:id/timeline',
    {
      config: { auth: 'apiKey:read', permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: "The customer's timeline across every channel, newest first",
        security: [{ apiKey: [] }],
        params: IdParam,
        querystring: Type.Object({
          type: Type.Optional(Type.String({ description: 'identify, track, page, …' })),
          event: Type.Optional(Type.String({ maxLength: 200 })),
          sourceId: Type.Optional(Type.String({ maxLength: 64 })),
          channel: Type.Optional(Type.String({ maxLength: 64, description: "The event's channel (web, miniprogram, youzan, doudian, … or a campaign source)" })),
          ...CursorQuery,
        }),
        response: { 200: Page(TimelineItem), ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const { type, event, sourceId, channel, cursor, limit = 50 } = req.query as { type?: string; event?: string; sourceId?: string; channel?: string; cursor?: string; limit?: number };
      const id = (req.params as { id: string }).id;
      const rootId = scopeOf(auth) === null ? await rootOf(db, auth.tenantId, id) : await visibleRoot(db, auth, id);
      const members = await membersOf(db, auth.tenantId, rootId);
      // One record (most customers): an equality, so the events key (a backward scan) gives the order and a page reads a page.
      const params: unknown[] = [auth.tenantId, members.length === 1 ? members[0] : members];
      const where = ['e.tenant_id = $1', members.length === 1 ? 'e.customer_id = $2' : 'e.customer_id = ANY($2::text[])'];
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
      if (channel) {
        params.push(channel);
        where.push(`e.channel = $${params.length}`);
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
      const page = toPage(
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
      if (page.data.length > 0) await auditAction(db, deps.clock, req, 'customer.timeline', 'customer', rootId, { events: page.data.length });
      return { data: page.data.map((e) => maskPropertiesFor(auth, e)), nextCursor: page.nextCursor };
    },
  );

  const tagChange = Type.Object({ customerId: Type.String(), added: Type.Array(Type.String()), removed: Type.Array(Type.String()) });

  app.post(
    '/v1/customers/:id/tags',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
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
      const auth = authOf(req.auth);
      await checkVisible(auth, (req.params as { id: string }).id);
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
          await refreshSegments(q, auth.tenantId, [rootId], { tags: added }, now);
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
      if (removed.length > 0) await refreshSegments(q, tenantId, [rootId], { tags: removed }, now);
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
      config: { auth: 'apiKey:write', permission: 'customers.write' },
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
      const auth = authOf(req.auth);
      await checkVisible(auth, (req.params as { id: string }).id);
      const names = [...new Set((req.body as { tags: string[] }).tags.map(canonicalTagName))];
      return removeTags(auth.tenantId, (req.params as { id: string }).id, names);
    },
  );

  app.delete(
    '/v1/customers/:id/tags/:tag',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
      schema: {
        tags: ['tags'],
        summary: 'Remove one tag from a customer',
        security: [{ apiKey: [] }],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), tag: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: tagChange, ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const p = req.params as { id: string; tag: string };
      await checkVisible(auth, p.id);
      return removeTags(auth.tenantId, p.id, [canonicalTagName(p.tag)]);
    },
  );

  app.post(
    '/v1/customers/:id/unmerge',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
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
      const auth = authOf(req.auth);
      await checkVisible(auth, (req.params as { id: string }).id);
      const body = (req.body ?? {}) as { mergeId?: string; customerId?: string };
      return db.tx((q) => unmerge(q, auth.tenantId, (req.params as { id: string }).id, body, auth.actor, deps.clock()));
    },
  );

  app.patch(
    '/v1/customers/:id',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write', audit: 'customer.update' },
      schema: {
        tags: ['customers'],
        summary: "Edit a customer's name, traits (custom fields) or owner",
        description: 'traits are merged into the profile (null removes one); ownerId is a console user id, or null. Answers the customer as the caller may see it.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: CustomerUpdate,
        response: { 200: Customer, ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const id = (req.params as { id: string }).id;
      const body = req.body as { name?: string; traits?: Record<string, unknown>; ownerId?: string | null };
      const now = deps.clock();
      const set: Record<string, unknown> = {};
      const unset: string[] = [];
      for (const [k, v] of Object.entries(body.traits ?? {})) {
        if (k.trim() === '' || k.length > 64) throw new DatongError('VALIDATION_FAILED', 'trait names must be 1 to 64 characters');
        if (v === null) unset.push(k);
        else set[k] = v;
      }
      if (body.name !== undefined) {
        const name = body.name.trim();
        if (name === '') throw new DatongError('VALIDATION_FAILED', 'name must not be blank');
        set['name'] = name;
      }
      if (JSON.stringify(set).length > 16_384) throw new DatongError('VALIDATION_FAILED', 'traits are larger than 16 KB');
      await db.tx(async (q) => {
        const rootId = scopeOf(auth) === null ? await rootOf(q, auth.tenantId, id) : await visibleRoot(q, auth, id);
        if (body.ownerId) {
          const u = await q.query('SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2', [auth.tenantId, body.ownerId]);
          if (u.rows.length === 0) throw new DatongError('VALIDATION_FAILED', `ownerId: no user ${body.ownerId}`);
        }
        // own_traits too: unmerge rebuilds a profile from its members' own traits, newest row last.
        await q.query(
          `UPDATE customers SET traits = (traits - $3::text[]) || $4::jsonb, own_traits = (own_traits - $3::text[]) || $4::jsonb,
             owner_user_id = CASE WHEN $5 THEN $6 ELSE owner_user_id END, updated_at = $7
           WHERE tenant_id = $1 AND id = $2`,
          [auth.tenantId, rootId, unset, JSON.stringify(set), body.ownerId !== undefined, body.ownerId ?? null, now.toISOString()],
        );
        const wanted = await subscribedTypes(q, auth.tenantId);
        if (wanted.has('customer.updated')) await writeOutbox(q, auth.tenantId, [{ type: 'customer.updated', payload: { customerId: rootId } }], now);
      });
      // The owner may have moved the customer out of the caller's scope: then it answers 404 like any other.
      await checkVisible(auth, id);
      return maskCustomerFor(auth, await loadCustomer(db, keyring, auth.tenantId, id, now));
    },
  );

  app.post(
    '/v1/customers/:id/reveal',
    {
      config: { auth: 'apiKey:read', permission: 'pii.reveal', audit: false },
      schema: {
        tags: ['customers'],
        summary: 'Reveal one masked value (phone, email, name or an identity); the reveal is audited',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: RevealBody,
        response: { 200: RevealResult, ...errors },
      },
    },
    async (req) => {
      const auth = authOf(req.auth);
      const id = (req.params as { id: string }).id;
      const { field, identityId } = req.body as { field: 'phone' | 'email' | 'name' | 'identity'; identityId?: string };
      await checkVisible(auth, id);
      const c = await loadCustomer(db, keyring, auth.tenantId, id, deps.clock());
      let value: string | null = null;
      let identityType: string | undefined;
      if (field === 'identity') {
        if (!identityId) throw new DatongError('VALIDATION_FAILED', 'identityId is required with field=identity');
        const i = c.identities.find((x) => x.id === identityId);
        if (!i) throw new DatongError('IDENTITY_NOT_FOUND', 'This customer has no such identity');
        value = i.value;
        identityType = i.type;
      } else {
        const trait = c.traits[field];
        value = typeof trait === 'string' ? trait : typeof trait === 'number' ? String(trait) : null;
        if (value === null && field !== 'name') value = c.identities.find((x) => x.type === field)?.value ?? null;
      }
      await auditAction(db, deps.clock, req, 'customer.reveal', 'customer', c.id, { field, ...(identityType ? { identityType } : {}) });
      return { value };
    },
  );
}
