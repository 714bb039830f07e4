import {
  IdentityGraph,
  isDatongError,
  ORDER_COMPLETED,
  ORDER_REFUNDED,
  parseSegmentMessage,
  PII_TYPES,
  profileTraits,
  toMinorUnits,
  isCurrencyCode,
  type Identifier,
  type IdentityRef,
  type ParsedMessage,
} from '@datong/core';
import type { Queryable } from '../db/client.js';
import { newId } from '../ids.js';
import type { Keyring } from '../security/keys.js';
import type { ServerDeps } from '../usecases/context.js';
import { identityCacheFor, nextLockToken, type CachedIdentity, type GraphChanges, type IdentityCacheView } from '../usecases/identity-cache.js';
import { lockTenantIdentities, type IdentityLock } from '../usecases/identity-lock.js';
import { writeOutbox, type DomainEvent } from '../usecases/outbox.js';
import { applySegments, dropMergedMembers, segmentsTriggeredBy } from '../usecases/segments.js';
import { applyRules, rulesTriggeredBy } from '../usecases/tag-rules.js';
import { tenantConfig, type TenantConfig } from '../usecases/tenant-config.js';

export const INBOX_PENDING = 0;
export const INBOX_PROCESSED = 1;
export const INBOX_QUARANTINED = 2;
/** A message whose processing failed this many times goes to quarantine instead of blocking the queue. */
export const MAX_INBOX_ATTEMPTS = 3;
/** last_seen_at is kept to this precision (see processTenantMessages). */
export const LAST_SEEN_GRANULARITY_MS = 60_000;

export interface InboxRow {
  id: number;
  tenant_id: string;
  source_id: string;
  message_id: string;
  received_at: Date | string;
  payload_enc: string;
  attempts: number;
}

export interface BatchResult {
  claimed: number;
  processed: number;
  quarantined: number;
  /** The batch failed and was rolled back; retry its messages one at a time to find the culprit. */
  failed: boolean;
  /** When the processed messages had been accepted (for the accept → processed lag metric). */
  receivedAt: Date[];
}

/** Blind-index input for an identifier; type and collection are part of it so equal values of different types differ. */
export function identifierIndexInput(id: Identifier): string {
  return `${id.type}\u0000${id.collection}\u0000${id.value}`;
}

/**
 * Claims up to `limit` pending inbox messages (FOR UPDATE SKIP LOCKED, so any number of
 * workers share the queue and no message is processed twice) and processes them in one
 * transaction per claim: identity resolution, customers, identities, merges, timeline,
 * quarantine, rule tags and outbox all commit together or not at all.
 */
export async function processInboxBatch(deps: ServerDeps, limit: number): Promise<BatchResult> {
  const result: BatchResult = { claimed: 0, processed: 0, quarantined: 0, failed: false, receivedAt: [] };
  let claimedIds: number[] = [];
  try {
    await deps.db.tx(async (q) => {
      // Row locks are what keep several worker processes apart on PostgreSQL. The embedded
      // database is one process with one connection (transactions never overlap), where locking
      // 500 rows only costs a write per row.
      const lock = deps.db.kind === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
      const claimed = await q.query<InboxRow>(
        `SELECT id, tenant_id, source_id, message_id, received_at, payload_enc, attempts FROM inbox
         WHERE status = 0 ORDER BY id LIMIT $1 ${lock}`,
        [limit],
      );
      result.claimed = claimed.rows.length;
      result.receivedAt = claimed.rows.map((r) => new Date(r.received_at));
      claimedIds = claimed.rows.map((r) => Number(r.id));
      if (claimed.rows.length === 0) return;
      const byTenant = new Map<string, InboxRow[]>();
      for (const row of claimed.rows) {
        const list = byTenant.get(row.tenant_id) ?? [];
        list.push(row);
        byTenant.set(row.tenant_id, list);
      }
      for (const tenantId of [...byTenant.keys()].sort()) {
        const r = await processTenantMessages(deps, q, tenantId, byTenant.get(tenantId) ?? []);
        result.processed += r.processed;
        result.quarantined += r.quarantined;
      }
    });
  } catch (err) {
    if (claimedIds.length === 0) throw err;
    deps.logger.warn({ err, event: 'inbox.batch_failed', size: claimedIds.length }, 'inbox batch failed; will retry');
    const quarantined = await recordFailure(deps, claimedIds, err);
    return { claimed: claimedIds.length, processed: 0, quarantined, failed: true, receivedAt: [] };
  }
  return result;
}

/** After a failed batch: count the attempt; a message that keeps failing alone goes to quarantine. */
async function recordFailure(deps: ServerDeps, ids: number[], err: unknown): Promise<number> {
  const code = isDatongError(err) ? err.code : 'INTERNAL';
  return deps.db.tx(async (q) => {
    let quarantined = 0;
    const r = await q.query<{ id: number; tenant_id: string; source_id: string; message_id: string; payload_enc: string; attempts: number }>(
      `UPDATE inbox SET attempts = attempts + 1 WHERE id = ANY($1::bigint[]) AND status = 0
       RETURNING id, tenant_id, source_id, message_id, payload_enc, attempts`,
      [ids],
    );
    // Only a message that failed on its own is known to be the culprit.
    if (ids.length !== 1) return 0;
    for (const row of r.rows) {
      if (row.attempts < MAX_INBOX_ATTEMPTS) continue;
      const now = deps.clock();
      await q.query(
        `INSERT INTO quarantine (tenant_id, id, kind, source_id, message_id, field, reason, payload_enc, created_at)
         VALUES ($1, $2, 'message', $3, $4, NULL, $5, $6, $7)`,
        [row.tenant_id, newId('qua', now.getTime()), row.source_id, row.message_id, `processing failed ${row.attempts} times (${code})`, row.payload_enc, now.toISOString()],
      );
      await q.query('UPDATE inbox SET status = 2, processed_at = $2 WHERE id = $1 AND status = 0', [row.id, now.toISOString()]);
      quarantined++;
    }
    return quarantined;
  });
}

/** One message on its way in: a stored inbox row (worker) or straight from an accepting request (inline ingest). */
export interface IncomingMessage {
  /** The inbox row, when the message was stored before processing. */
  readonly inboxId: number | null;
  readonly sourceId: string;
  readonly messageId: string;
  readonly receivedAt: Date;
  /** The message as sent (undefined when it could not be decrypted or parsed). */
  readonly raw: unknown;
  /** The raw message, encrypted (what quarantine keeps); computed only for the messages that need it. */
  readonly payloadEnc: () => string;
}

export interface Pending {
  row: IncomingMessage;
  msg: ParsedMessage;
  refs: IdentityRef[];
  plain: Map<string, Identifier>;
  /** The message's profile traits (identify). */
  traits: Record<string, unknown>;
  /** Its timeline event as far as it is known before resolution. */
  event: PreparedEvent;
}

/**
 * A timeline event before its customer is known: everything else, already serialized (built in
 * `prepareMessages`, which inline ingest runs while the raw messages are being stored, so the
 * largest JSON of a batch is not written on the path of its planning turn).
 */
export interface PreparedEvent {
  readonly id: string;
  readonly properties: Record<string, unknown>;
  /** `["evt_…",`: the row's JSON array up to its customer (columns as the `ev` part of WRITE_BATCH_SQL reads them). */
  readonly head: string;
  /** `,1,"m-…",…]`: the row's JSON array after its customer (its origin by position, PreparedMessages.origins). */
  readonly tail: string;
}

export interface QuarantineRow {
  id: string;
  kind: 'message' | 'value';
  source_id: string;
  message_id: string;
  field: string | null;
  reason: string;
  payload_enc: string;
}

export interface ConflictRow {
  customer_id: string | null;
  identifier_type: string;
  identifier_index: string | null;
  reason: string;
  source_id: string;
  message_id: string;
}

/** Messages parsed and their identifiers blind-indexed: the work that needs no database. */
export interface PreparedMessages {
  /** Messages to resolve and put on the timeline. */
  readonly pending: Pending[];
  /** Messages quarantined whole (unparseable, or no usable identifier). */
  readonly rejected: IncomingMessage[];
  readonly quarantine: QuarantineRow[];
  readonly conflicts: ConflictRow[];
  /**
   * Each distinct source and receipt time of the messages (a request's messages share one): a
   * timeline row names its origin by position (1-based) instead of repeating both.
   */
  readonly origins: { readonly sources: string[]; readonly receivedAt: string[] };
}

/** `source_id\u0000message_id`: how the inbox tells messages apart (its unique key within a tenant). */
export function messageKey(sourceId: string, messageId: string): string {
  return `${sourceId}\u0000${messageId}`;
}

/**
 * Decrypts nothing and touches no database: parses each message, blind-indexes its
 * identifiers and sorts out what goes to quarantine. Run before any lock is taken.
 */
export function prepareMessages(keyring: Keyring, tenantId: string, config: TenantConfig, incoming: readonly IncomingMessage[], now: Date): PreparedMessages {
  const rules = config.identityRules;
  const out: PreparedMessages = { pending: [], rejected: [], quarantine: [], conflicts: [], origins: { sources: [], receivedAt: [] } };
  const originOf = new Map<string, number>();
  // The messages of one request come one after another and share its receipt time (one Date):
  // the last origin is remembered, so a request formats its time once.
  let last: { sourceId: string; receivedAt: Date; n: number } | null = null;
  const origin = (row: IncomingMessage): number => {
    if (last !== null && last.receivedAt === row.receivedAt && last.sourceId === row.sourceId) return last.n;
    const at = row.receivedAt.toISOString();
    const k = `${row.sourceId}\u0000${at}`;
    let n = originOf.get(k);
    if (n === undefined) {
      n = out.origins.sources.push(row.sourceId);
      out.origins.receivedAt.push(at);
      originOf.set(k, n);
    }
    last = { sourceId: row.sourceId, receivedAt: row.receivedAt, n };
    return n;
  };
  for (const row of incoming) {
    const parsed = parseSegmentMessage(row.raw, row.receivedAt, row.messageId);
    if (!parsed.ok) {
      out.quarantine.push({ id: newId('qua', now.getTime()), kind: 'message', source_id: row.sourceId, message_id: row.messageId, field: null, reason: parsed.reason, payload_enc: row.payloadEnc() });
      out.rejected.push(row);
      continue;
    }
    const msg = parsed.message;
    for (const rej of msg.rejected) {
      out.quarantine.push({
        id: newId('qua', now.getTime()),
        kind: 'value',
        source_id: row.sourceId,
        message_id: row.messageId,
        field: rej.field,
        reason: rej.reason,
        payload_enc: keyring.encrypt(JSON.stringify({ field: rej.field, value: rej.value, message: row.raw })),
      });
    }
    const refs: IdentityRef[] = [];
    const plain = new Map<string, Identifier>();
    for (const id of msg.identifiers) {
      const key = keyring.blindIndex(tenantId, identifierIndexInput(id));
      if (rules.isBlocked(id)) {
        out.conflicts.push({ customer_id: null, identifier_type: id.type, identifier_index: key, reason: 'blocked_value', source_id: row.sourceId, message_id: row.messageId });
        continue;
      }
      refs.push({ type: id.type, key });
      plain.set(key, id);
    }
    if (refs.length === 0) {
      out.quarantine.push({
        id: newId('qua', now.getTime()),
        kind: 'message',
        source_id: row.sourceId,
        message_id: row.messageId,
        field: null,
        reason: 'no usable identifier: every identifier is invalid or blocked',
        payload_enc: row.payloadEnc(),
      });
      out.rejected.push(row);
      continue;
    }
    const traits = profileTraits(msg);
    out.pending.push({ row, msg, refs, plain, traits, event: prepareEvent(keyring, config, row, origin(row), msg, traits, now, out.quarantine) });
  }
  return out;
}

/** The timeline event of a message, but for its customer; an order amount that is not exact money goes to quarantine. */
function prepareEvent(keyring: Keyring, config: TenantConfig, row: IncomingMessage, origin: number, msg: ParsedMessage, traits: Record<string, unknown>, now: Date, quarantine: QuarantineRow[]): PreparedEvent {
  let amount: string | null = null;
  let currency: string | null = null;
  if (msg.type === 'track' && (msg.event === ORDER_COMPLETED || msg.event === ORDER_REFUNDED)) {
    const raw = msg.properties['total'] ?? msg.properties['revenue'] ?? msg.properties['value'];
    const cur = msg.properties['currency'] ?? 'CNY';
    if (raw !== undefined && isCurrencyCode(cur)) {
      const minor = toMinorUnits(raw, cur);
      if (minor !== undefined) {
        amount = minor.toString();
        currency = cur;
      }
    }
    if (amount === null && raw !== undefined) {
      quarantine.push({
        id: newId('qua', now.getTime()),
        kind: 'value',
        source_id: row.sourceId,
        message_id: row.messageId,
        field: 'properties.total',
        reason: 'order amount is not an exact decimal in a valid ISO 4217 currency',
        payload_enc: keyring.encrypt(JSON.stringify({ field: 'properties.total', value: raw, currency: cur })),
      });
    }
  }
  // The profile's traits are not kept twice (most messages have none in their context: no copy).
  let context = msg.context;
  if (Object.hasOwn(context, 'traits')) {
    const { traits: _dropped, ...rest } = context;
    context = rest;
  }
  const campaign = context['campaign'];
  const campaignSource =
    typeof campaign === 'object' && campaign !== null && typeof (campaign as Record<string, unknown>)['source'] === 'string'
      ? ((campaign as Record<string, unknown>)['source'] as string)
      : null;
  const channel = campaignSource ?? config.sources.get(row.sourceId) ?? null;
  const properties = msg.type === 'identify' || msg.type === 'group' ? { ...traits, ...(msg.groupId ? { groupId: msg.groupId } : {}) } : msg.properties;
  const id = newId('evt', now.getTime());
  // Positional (the `ev` part of WRITE_BATCH_SQL): the database parses no key names and sorts
  // no keys per row; source and receipt time by the origin's position.
  const rest = JSON.stringify([
    origin,
    row.messageId,
    msg.type,
    msg.event ?? null,
    msg.occurredAt.toISOString(),
    channel,
    properties,
    context,
    amount,
    currency,
  ]);
  return { id, properties, head: `[${JSON.stringify(id)},`, tail: `,${rest.slice(1)}` };
}

/** Keeps only the messages whose key is in `keep` (inline ingest: the ones not seen before). */
export function keepMessages(p: PreparedMessages, keep: ReadonlySet<string>): PreparedMessages {
  const has = (sourceId: string, messageId: string): boolean => keep.has(messageKey(sourceId, messageId));
  return {
    pending: p.pending.filter((x) => has(x.row.sourceId, x.row.messageId)),
    rejected: p.rejected.filter((x) => has(x.sourceId, x.messageId)),
    quarantine: p.quarantine.filter((x) => has(x.source_id, x.message_id)),
    conflicts: p.conflicts.filter((x) => has(x.source_id, x.message_id)),
    origins: p.origins,
  };
}

/** Decrypts stored inbox rows into incoming messages. */
export function incomingFromInbox(keyring: Keyring, rows: readonly InboxRow[]): IncomingMessage[] {
  return rows.map((row) => {
    let raw: unknown;
    try {
      raw = JSON.parse(keyring.decrypt(row.payload_enc));
    } catch {
      raw = undefined;
    }
    return { inboxId: Number(row.id), sourceId: row.source_id, messageId: row.message_id, receivedAt: new Date(row.received_at), raw, payloadEnc: () => row.payload_enc };
  });
}

/** The worker's way: stored inbox rows are parsed, marked, then applied. */
export async function processTenantMessages(
  deps: ServerDeps,
  q: Queryable,
  tenantId: string,
  rows: readonly InboxRow[],
): Promise<{ processed: number; quarantined: number }> {
  const now = deps.clock();
  const config = await tenantConfig(deps.db, q, tenantId);
  const prepared = prepareMessages(deps.keyring, tenantId, config, incomingFromInbox(deps.keyring, rows), now);
  // Marking the inbox rows depends only on parsing, so it happens before the lock taken in
  // applyMessages (a rollback undoes it with the rest).
  const processedInbox = prepared.pending.map((p) => Number(p.row.inboxId));
  const quarantinedInbox = prepared.rejected.map((r) => Number(r.inboxId));
  if (processedInbox.length > 0) {
    await q.query('UPDATE inbox SET status = 1, processed_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY($1::bigint[]) AND status = 0', [processedInbox]);
  }
  if (quarantinedInbox.length > 0) {
    await q.query('UPDATE inbox SET status = 2, processed_at = $2, attempts = attempts + 1 WHERE id = ANY($1::bigint[]) AND status = 0', [quarantinedInbox, now.toISOString()]);
  }
  const lock = await lockTenantIdentities(q, tenantId);
  await applyMessages(deps, q, tenantId, config, prepared, now, lock);
  return { processed: processedInbox.length, quarantined: quarantinedInbox.length };
}

/**
 * The part of the identity graph a batch touches, in one statement driven by the batch's keys
 * ($2; $3: the limited types): the owners of its identifiers, their roots, the roots' members,
 * and those members' identifiers of limited types (merge protection). Each step is one index
 * probe per key (LATERAL … OFFSET 0 keeps it a parameterized index scan), so the plan cannot
 * turn into a scan of the whole tenant whatever the statistics say (PGlite runs no autoanalyze;
 * with one tenant `tenant_id = $1` is every row).
 */
export const IDENTITY_GRAPH_SQL = `WITH o AS MATERIALIZED (
         SELECT i.value_index, i.type, i.customer_id FROM unnest($2::text[]) AS k(v)
         CROSS JOIN LATERAL (SELECT value_index, type, customer_id FROM customer_identities WHERE tenant_id = $1 AND value_index = k.v OFFSET 0) i),
       r AS MATERIALIZED (
         SELECT DISTINCT c.root_id FROM (SELECT DISTINCT customer_id FROM o) oc
         CROSS JOIN LATERAL (SELECT root_id FROM customers WHERE tenant_id = $1 AND id = oc.customer_id OFFSET 0) c),
       m AS MATERIALIZED (
         SELECT mm.id, mm.root_id, mm.merged_into, mm.first_seen_at, mm.last_seen_at FROM r
         CROSS JOIN LATERAL (SELECT id, root_id, merged_into, first_seen_at, last_seen_at FROM customers WHERE tenant_id = $1 AND root_id = r.root_id OFFSET 0) mm),
       l AS (
         SELECT li.value_index, li.type, li.customer_id FROM m
         CROSS JOIN LATERAL (SELECT value_index, type, customer_id FROM customer_identities
                             WHERE tenant_id = $1 AND customer_id = m.id AND type = ANY($3::text[]) OFFSET 0) li)
       SELECT (SELECT coalesce(json_agg(json_build_array(value_index, type, customer_id)), '[]') FROM o) AS owners,
              (SELECT coalesce(json_agg(json_build_array(id, root_id, merged_into, floor(extract(epoch FROM first_seen_at) * 1000), floor(extract(epoch FROM last_seen_at) * 1000))), '[]') FROM m) AS members,
              (SELECT coalesce(json_agg(json_build_array(value_index, type, customer_id)), '[]') FROM l) AS limited`;

/**
 * Everything a batch adds or rewrites, in one statement (data-modifying CTEs, each on rows no
 * other touches): new customers with their final values ($3), identities ($4), profile updates of
 * existing customers ($5, $6: their ids), timeline events ($7: JSON arrays, PreparedEvent; $10 and $11 their
 * origins' sources and receipt times), identity conflicts ($8) and
 * quarantined values ($9). Every UPDATE … FROM also names its rows in an index condition
 * (`id = ANY(…)`): the join alone let a planner without statistics loop over the whole tenant.
 * A profile update that changes nothing (the same traits again, seen within the stored times)
 * writes no row version: identify calls repeat unchanged traits all the time.
 */
export const WRITE_BATCH_SQL = `WITH nc AS (
    INSERT INTO customers (tenant_id, id, root_id, own_traits, traits, first_seen_at, last_seen_at, created_at, updated_at)
    SELECT $1, x.id, x.id, x.own, x.tr, x.fs, x.ls, $2, $2 FROM jsonb_to_recordset($3::jsonb) AS x(id text, own jsonb, tr jsonb, fs timestamptz, ls timestamptz)),
  ni AS (
    INSERT INTO customer_identities (tenant_id, value_index, customer_id, type, collection, value, value_enc, source_id, message_id, created_at)
    SELECT $1, x.value_index, x.customer_id, x.type, x.collection, x.value, x.value_enc, x.source_id, x.message_id, $2
    FROM jsonb_to_recordset($4::jsonb) AS x(value_index text, customer_id text, type text, collection text, value text, value_enc text, source_id text, message_id text)
    ON CONFLICT (tenant_id, value_index) DO NOTHING),
  up AS (
    UPDATE customers c SET own_traits = c.own_traits || u.own, traits = c.traits || u.tr,
           first_seen_at = LEAST(c.first_seen_at, coalesce(u.fs, c.first_seen_at)),
           last_seen_at = GREATEST(c.last_seen_at, coalesce(u.ls, c.last_seen_at)),
           updated_at = CASE WHEN u.own <> '{}'::jsonb OR u.tr <> '{}'::jsonb THEN $2::timestamptz ELSE c.updated_at END
    FROM jsonb_to_recordset($5::jsonb) AS u(id text, own jsonb, tr jsonb, fs timestamptz, ls timestamptz)
    WHERE c.tenant_id = $1 AND c.id = ANY($6::text[]) AND c.id = u.id
      AND (c.own_traits || u.own IS DISTINCT FROM c.own_traits OR c.traits || u.tr IS DISTINCT FROM c.traits
           OR u.fs < c.first_seen_at OR u.ls > c.last_seen_at)),
  ev AS (
    INSERT INTO events (tenant_id, id, customer_id, source_id, message_id, type, event, occurred_at, received_at, channel, properties, context, amount_minor, currency)
    SELECT $1, x->>0, x->>1, ($10::text[])[(x->>2)::int], x->>3, x->>4, x->>5, (x->>6)::timestamptz, ($11::timestamptz[])[(x->>2)::int], x->>7, x->8, x->9, (x->>10)::bigint, x->>11
    FROM jsonb_array_elements($7::jsonb) AS x),
  cf AS (
    INSERT INTO identity_conflicts (tenant_id, customer_id, identifier_type, identifier_index, reason, source_id, message_id, created_at)
    SELECT $1, x.customer_id, x.identifier_type, x.identifier_index, x.reason, x.source_id, x.message_id, $2
    FROM jsonb_to_recordset($8::jsonb) AS x(customer_id text, identifier_type text, identifier_index text, reason text, source_id text, message_id text)),
  qu AS (
    INSERT INTO quarantine (tenant_id, id, kind, source_id, message_id, field, reason, payload_enc, created_at)
    SELECT $1, x.id, x.kind, x.source_id, x.message_id, x.field, x.reason, x.payload_enc, $2
    FROM jsonb_to_recordset($9::jsonb) AS x(id text, kind text, source_id text, message_id text, field text, reason text, payload_enc text))
  SELECT 1`;

/**
 * A batch's merges, in one statement, after WRITE_BATCH_SQL: final roots ($4) absorb the traits
 * and seen times of the roots merged into them ($3: {id, root}; the root's own traits win), every
 * customer whose root changed gets its final root and, if it was merged itself, its merge edge
 * ($5: {id, root, into}; $6: their ids), and the merge history rows ($7). The final roots never
 * move, so the two UPDATEs touch different rows.
 */
export const MERGE_BATCH_SQL = `WITH x AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(id text, root text)),
  f AS (SELECT x.root, f.first_seen_at, f.last_seen_at, f.traits FROM x
        CROSS JOIN LATERAL (SELECT first_seen_at, last_seen_at, traits FROM customers WHERE tenant_id = $1 AND id = x.id OFFSET 0) f),
  agg AS (SELECT root, min(first_seen_at) AS fs, max(last_seen_at) AS ls FROM f GROUP BY root),
  tr AS (SELECT f.root, jsonb_object_agg(e.key, e.value) AS traits FROM f CROSS JOIN LATERAL jsonb_each(f.traits) e GROUP BY f.root),
  ab AS (
    UPDATE customers i SET traits = coalesce(tr.traits, '{}'::jsonb) || i.traits, first_seen_at = LEAST(i.first_seen_at, agg.fs),
           last_seen_at = GREATEST(i.last_seen_at, agg.ls), updated_at = $2
    FROM agg LEFT JOIN tr ON tr.root = agg.root WHERE i.tenant_id = $1 AND i.id = ANY($4::text[]) AND i.id = agg.root),
  mv AS (
    UPDATE customers c SET root_id = y.root, merged_into = coalesce(y.into, c.merged_into),
           merged_at = CASE WHEN y.into IS NULL THEN c.merged_at ELSE $2::timestamptz END, updated_at = $2
    FROM jsonb_to_recordset($5::jsonb) AS y(id text, root text, "into" text)
    WHERE c.tenant_id = $1 AND c.id = ANY($6::text[]) AND c.id = y.id),
  mg AS (
    INSERT INTO customer_merges (tenant_id, id, from_customer_id, into_customer_id, identifier_type, identifier_index, rule, source_id, message_id, created_at)
    SELECT $1, x.id, x.from, x.into, x.type, x.index, 'shared_identifier', x.source_id, x.message_id, $2
    FROM jsonb_to_recordset($7::jsonb) AS x(id text, "from" text, "into" text, type text, index text, source_id text, message_id text))
  SELECT 1`;

/** An identifier a batch links to a customer; `value` is encrypted when it is written (personal data: only there). */
interface NewIdentity {
  readonly value_index: string;
  readonly customer_id: string;
  readonly type: string;
  readonly collection: string;
  readonly value: string;
  readonly pii: boolean;
  readonly source_id: string;
  readonly message_id: string;
}

/** A batch resolved against the identity graph: every row it writes, and what the cache keeps of it. */
interface BatchPlan {
  readonly graph: IdentityGraph;
  readonly customerRows: { id: string; fs: string; ls: string; own: Record<string, unknown>; tr: Record<string, unknown> }[];
  readonly newIdentities: NewIdentity[];
  readonly rowUpdates: { id: string; own: Record<string, unknown>; tr: Record<string, unknown>; fs: string | null; ls: string | null }[];
  /** Timeline rows, each a JSON array (PreparedEvent). */
  readonly events: string[];
  /** The sources and receipt times the timeline rows name by position. */
  readonly origins: PreparedMessages['origins'];
  readonly conflicts: ConflictRow[];
  readonly quarantine: QuarantineRow[];
  readonly merges: { id: string; from: string; into: string; type: string; index: string; source_id: string; message_id: string }[];
  readonly originalRoot: ReadonlyMap<string, string>;
  /** Domain events decided by resolution alone (rule tags add theirs later). */
  readonly outbox: DomainEvent[];
  readonly eventNames: ReadonlySet<string>;
  readonly rootsByEvent: ReadonlyMap<string, Set<string>>;
  readonly touchedRoots: ReadonlySet<string>;
  readonly traitsChanged: boolean;
  readonly anyMessage: boolean;
  /** The graph as the batch leaves it, for the identity cache. */
  readonly changes: GraphChanges;
  /** The keys the database was asked about and, for a speculation, the graph they gave as it was used (canonical), checked again under the lock. */
  readonly read: { readonly keys: readonly string[]; readonly rows: string };
}

/**
 * Resolves prepared messages to customers and writes everything they change: customers,
 * identities, merges, timeline, quarantine, rule tags, segments and outbox. The caller holds
 * the tenant's identity lock (`lockTenantIdentities`) in the same transaction.
 */
export async function applyMessages(
  deps: ServerDeps,
  q: Queryable,
  tenantId: string,
  config: TenantConfig,
  prepared: PreparedMessages,
  now: Date,
  lock: IdentityLock,
): Promise<void> {
  const cache = identityCacheFor(deps.db, deps.config.queue.identityCacheCustomers).open(tenantId, lock.prev, config.version);
  const plan = await planBatch(deps, q, tenantId, config, prepared, now, cache, false);
  await writePlan(deps.keyring, q, tenantId, now, plan, 'all');
  await finishBatch(q, tenantId, config, plan, now);
  cache.store(lock.token, plan.changes);
}

/** How `applyMessagesOptimistically` went: on the speculation, or again under the lock. */
export type Speculation = 'speculated' | 'redone' | 'locked';

/**
 * `applyMessages` with most of the work done before the tenant's identity lock (PostgreSQL, inline
 * ingest): the batch is resolved against this process's identity cache as the previous batch of
 * this process left it (the cache's head token), and, in a savepoint, its new customers, timeline
 * events, conflicts and quarantined values are inserted; only then is the lock taken. If the
 * lock's previous holder is that head, and the database now answers for the keys the cache did
 * not know as the batch used them, the speculation is exactly what resolution under the lock
 * would have done: the identities, profile updates, merges, rule tags, segments and outbox follow
 * under the lock. Otherwise the savepoint is rolled back and the batch is done again under the
 * lock. So a batch's resolution and its largest inserts overlap the previous batch's locked
 * part, and the lock is held for about half as long (docs/benchmarks.md).
 *
 * Why it is exact: every writer of the graph holds the lock and leaves its token, and only a
 * committed token is ever returned as the previous one; the head batch stored everything it
 * changed in the cache, which wins over a database read made before that batch committed
 * (`IdentityCacheView.overlay`); and the check under the lock compares the database with what
 * was used. Why it cannot deadlock: before the lock only rows with fresh keys are written, which
 * no other transaction can wait for; the next batch of the process plans only once this one is
 * confirmed, so it never builds on a speculation that is being redone.
 */
export async function applyMessagesOptimistically(
  deps: ServerDeps,
  q: Queryable,
  tenantId: string,
  config: TenantConfig,
  prepared: PreparedMessages,
  now: Date,
): Promise<Speculation> {
  const caches = identityCacheFor(deps.db, deps.config.queue.identityCacheCustomers);
  // One batch at a time plans against the cache, each once the one before it is confirmed (its
  // speculation held, or it was done again and stored): so a batch never builds on a speculation
  // that is being redone, and never inserts an identity its predecessor is about to insert too.
  // The turn is queued for first; the savepoint's round trip then overlaps the wait for it (the
  // planning turns of a process follow each other: what a batch spends after its turn begins
  // and before it is confirmed bounds the process's throughput, docs/benchmarks.md).
  const turn = caches.planning(tenantId);
  try {
    await q.query('SAVEPOINT speculation');
  } catch (err) {
    void turn.then((release) => release());
    throw err;
  }
  const release = await turn;
  let held = true;
  const done = (): void => {
    if (held) release();
    held = false;
  };
  try {
    const head = caches.head(tenantId, config.version);
    if (head === null) {
      await applyMessages(deps, q, tenantId, config, prepared, now, await lockTenantIdentities(q, tenantId));
      return 'locked';
    }
    const cache = caches.open(tenantId, head, config.version);
    const plan = await planBatch(deps, q, tenantId, config, prepared, now, cache, true);
    const token = nextLockToken();
    cache.store(token, plan.changes);
    await writePlan(deps.keyring, q, tenantId, now, plan, 'inserts');
    const lock = await lockTenantIdentities(q, tenantId, token);
    if (lock.prev === head && (await graphUnchanged(q, tenantId, config, plan))) {
      done();
      await writePlan(deps.keyring, q, tenantId, now, plan, 'updates');
      await finishBatch(q, tenantId, config, plan, now);
      return 'speculated';
    }
    // Someone else held the lock in between, or changed what the batch read: do it again under
    // the lock (rolling back to the savepoint also gave the lock up).
    await q.query('ROLLBACK TO SAVEPOINT speculation');
    await applyMessages(deps, q, tenantId, config, prepared, now, await lockTenantIdentities(q, tenantId));
    return 'redone';
  } finally {
    done();
  }
}

/** The identity-graph rows of a batch's keys in a canonical order (members without their seen times). */
function canonicalGraph(rows: GraphRows, ignore: { readonly members: ReadonlySet<string>; readonly links: ReadonlyMap<string, string> }): string {
  const own = (key: string, member: string): boolean => ignore.links.get(key) === member;
  const owners = rows.owners.filter(([k, , m]) => !own(k, m)).map((r) => JSON.stringify(r));
  const members = rows.members.filter(([id]) => !ignore.members.has(id)).map(([id, root, into]) => JSON.stringify([id, root, into]));
  const limited = rows.limited.filter(([k, , m]) => !own(k, m)).map((r) => JSON.stringify(r));
  return [owners.sort().join(','), members.sort().join(','), limited.sort().join(',')].join('|');
}

const NOTHING_OWN = { members: new Set<string>(), links: new Map<string, string>() };

/**
 * The rows IDENTITY_GRAPH_SQL would return for these owners if the database held exactly `graph`:
 * the owners, every member of their roots, and those members' identities of limited types.
 */
function usedGraph(graph: IdentityGraph, owners: GraphRows['owners']): GraphRows {
  const roots = new Set(owners.map(([, , m]) => graph.rootOf(m)));
  const members: GraphRows['members'] = [];
  const inRoots = new Set<string>();
  for (const id of graph.memberIds()) {
    const m = graph.member(id);
    if (!m || !roots.has(m.root)) continue;
    inRoots.add(id);
    members.push([id, m.root, m.mergedInto, 0, 0]);
  }
  const limited: GraphRows['limited'] = graph.identities().filter((i) => graph.isLimited(i.type) && inRoots.has(i.memberId)).map((i) => [i.key, i.type, i.memberId]);
  return { owners, members, limited };
}

/** Under the lock: whether the database answers for the speculation's keys as it did before (its own new rows aside). */
async function graphUnchanged(q: Queryable, tenantId: string, config: TenantConfig, plan: BatchPlan): Promise<boolean> {
  const ignore = {
    members: new Set(plan.customerRows.map((c) => c.id)),
    links: new Map(plan.newIdentities.map((i) => [i.value_index, i.customer_id])),
  };
  // Keys the batch linked itself had no owner when read (or they would not be linked): asking
  // about them again would only find the batch's own rows.
  const keys = plan.read.keys.filter((k) => !ignore.links.has(k));
  if (keys.length === 0) return true;
  const r = await q.query<GraphRows>(IDENTITY_GRAPH_SQL, [tenantId, keys, Object.keys(config.identityRules.rules.limits)]);
  const rows = r.rows[0] ?? { owners: [], members: [], limited: [] };
  return canonicalGraph(rows, ignore) === plan.read.rows;
}

type GraphRows = { owners: [string, IdentityRef['type'], string][]; members: [string, string, string | null, number, number][]; limited: [string, IdentityRef['type'], string][] };

/** Resolution: reads what the cache does not know, then decides every row the batch writes (no writes). */
async function planBatch(
  deps: ServerDeps,
  q: Queryable,
  tenantId: string,
  config: TenantConfig,
  prepared: PreparedMessages,
  now: Date,
  cache: IdentityCacheView,
  speculative: boolean,
): Promise<BatchPlan> {
  const rules = config.identityRules;
  const wanted = config.subscribed;
  const pending = prepared.pending;
  const quarantine = [...prepared.quarantine];
  const conflicts = [...prepared.conflicts];

  // Load the part of the identity graph this batch touches.
  const graph = new IdentityGraph(rules);
  const storedSeen = new Map<string, { fs: number; ls: number }>();
  /** Each known customer's root before this batch (new customers: themselves), to write only what moved. */
  const originalRoot = new Map<string, string>();
  const allKeys = [...new Set(pending.flatMap((p) => p.refs.map((r) => r.key)))];
  // What this process's cache knows exactly (usecases/identity-cache.ts); the database is asked
  // only about the rest, in one statement driven by those keys (IDENTITY_GRAPH_SQL).
  const cached = cache.lookup(allKeys);
  const identities: CachedIdentity[] = cached.identities;
  for (const m of cached.members) {
    graph.addMember(m.id, m.root, m.mergedInto);
    originalRoot.set(m.id, m.root);
    storedSeen.set(m.id, { fs: m.fs, ls: m.ls });
  }
  /** For the cache, after the writes: what this transaction read from the database or changed. */
  const loaded: CachedIdentity[] = [];
  const touched: string[] = [];
  const seenNow = new Map<string, { fs: number; ls: number }>();
  let readRows: GraphRows = { owners: [], members: [], limited: [] };
  if (cached.missing.length > 0) {
    const r = await q.query<GraphRows>(IDENTITY_GRAPH_SQL, [tenantId, cached.missing, Object.keys(rules.rules.limits)]);
    const graphRows = r.rows[0] ?? readRows;
    readRows = graphRows;
    for (const [id, root, mergedInto, fs, ls] of graphRows.members) {
      graph.addMember(id, root, mergedInto);
      originalRoot.set(id, root);
      storedSeen.set(id, { fs: Number(fs), ls: Number(ls) });
      seenNow.set(id, { fs: Number(fs), ls: Number(ls) });
      touched.push(id);
    }
    for (const [key, type, memberId] of graphRows.owners) loaded.push({ key, type, memberId });
    for (const [key, type, memberId] of graphRows.limited) loaded.push({ key, type, memberId });
    identities.push(...loaded);
    // What the cache knows of these customers wins: a speculation may have read them before the
    // previous batch committed (under the lock both agree).
    const over = cache.overlay(graphRows.members.map(([id]) => id));
    for (const m of over.members) {
      graph.addMember(m.id, m.root, m.mergedInto);
      originalRoot.set(m.id, m.root);
      storedSeen.set(m.id, { fs: m.fs, ls: m.ls });
    }
    identities.push(...over.identities);
  }
  // Identities after every member: an identity of a limited type counts against its member's root.
  for (const i of identities) graph.addIdentity({ type: i.type, key: i.key }, i.memberId);
  // The part of the graph taken from the database read, as resolution is about to use it.
  const readUsed = speculative && cached.missing.length > 0 ? canonicalGraph(usedGraph(graph, readRows.owners), NOTHING_OWN) : '';

  const newCustomers: { id: string; at: string }[] = [];
  const newIdentities: NewIdentity[] = [];
  const linkedIdentities: CachedIdentity[] = [];
  const merges: { id: string; from: string; into: string; type: string; index: string; source_id: string; message_id: string }[] = [];
  /** Timeline rows, as JSON arrays. */
  const events: string[] = [];
  const traitOps: { member: string; traits: Record<string, unknown> }[] = [];
  const seen = new Map<string, { fs: number; ls: number }>();
  const outbox: DomainEvent[] = [];
  const createdRoots = new Set<string>();
  const updatedRoots = new Set<string>();
  const eventNames = new Set<string>();
  /** Roots (as resolved at the message; final roots are taken later) that received each event name. */
  const rootsByEvent = new Map<string, Set<string>>();
  const touchedRoots = new Set<string>();
  const touchSeen = (id: string, t: number): void => {
    const s = seen.get(id);
    if (!s) seen.set(id, { fs: t, ls: t });
    else {
      s.fs = Math.min(s.fs, t);
      s.ls = Math.max(s.ls, t);
    }
  };

  // A speculation plans while another transaction of this process may hold the tenant's lock:
  // every ~100 messages it lets that one's statement results through (each waited for the whole
  // loop otherwise; the lock was held ~3 ms longer a batch, bench/diagnose.mjs).
  let sinceYield = 0;
  for (const p of pending) {
    if (speculative && ++sinceYield === 100) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { msg } = p;
    const row = { source_id: p.row.sourceId, message_id: p.row.messageId };
    const res = graph.resolve(p.refs, () => newId('cus', now.getTime()));
    const occurred = msg.occurredAt.getTime();
    if (res.created) {
      newCustomers.push({ id: res.customerId, at: msg.occurredAt.toISOString() });
      originalRoot.set(res.customerId, res.customerId);
      createdRoots.add(res.customerId);
    }
    for (const ref of res.linked) {
      const id = p.plain.get(ref.key);
      if (!id) continue;
      linkedIdentities.push({ key: ref.key, type: ref.type, memberId: res.customerId });
      newIdentities.push({
        value_index: ref.key,
        customer_id: res.customerId,
        type: id.type,
        collection: id.collection,
        value: id.value,
        pii: PII_TYPES.has(id.type),
        source_id: row.source_id,
        message_id: row.message_id,
      });
    }
    if (res.linked.length > 0 && !res.created) updatedRoots.add(res.rootId);
    for (const m of res.merges) {
      const mergeId = newId('mrg', now.getTime());
      merges.push({ id: mergeId, from: m.from, into: m.into, type: m.via.type, index: m.via.key, source_id: row.source_id, message_id: row.message_id });
      if (wanted.has('customer.merged')) {
        outbox.push({
          type: 'customer.merged',
          payload: { customerId: m.into, mergedCustomerId: m.from, mergeId, identifierType: m.via.type, sourceId: row.source_id, messageId: row.message_id },
        });
      }
    }
    for (const c of res.conflicts) {
      conflicts.push({ customer_id: c.customerId, identifier_type: c.type, identifier_index: c.identifier.key, reason: c.reason, source_id: row.source_id, message_id: row.message_id });
    }
    const { traits, event } = p;
    if (Object.keys(traits).length > 0) {
      traitOps.push({ member: res.customerId, traits });
      if (!res.created) updatedRoots.add(res.rootId);
    }
    touchSeen(res.customerId, occurred);
    touchedRoots.add(res.rootId);
    events.push(`${event.head}${JSON.stringify(res.customerId)}${event.tail}`);
    if (msg.event) {
      eventNames.add(msg.event);
      let set = rootsByEvent.get(msg.event);
      if (!set) rootsByEvent.set(msg.event, (set = new Set()));
      set.add(res.rootId);
    }
    if (wanted.has('event.received')) {
      outbox.push({
        type: 'event.received',
        payload: {
          customerId: res.rootId,
          event: { id: event.id, type: msg.type, event: msg.event, occurredAt: msg.occurredAt.toISOString(), sourceId: row.source_id, messageId: row.message_id, properties: event.properties },
        },
      });
    }
  }

  // Own traits per member, merged traits per (final) root, first/last seen on both.
  const updates = new Map<string, { id: string; own: Record<string, unknown>; tr: Record<string, unknown>; fs: string | null; ls: string | null }>();
  const upd = (id: string) => {
    let u = updates.get(id);
    if (!u) updates.set(id, (u = { id, own: {}, tr: {}, fs: null, ls: null }));
    return u;
  };
  for (const op of traitOps) {
    Object.assign(upd(op.member).own, op.traits);
    Object.assign(upd(graph.rootOf(op.member)).tr, op.traits);
  }
  for (const [member, s] of seen) {
    for (const id of new Set([member, graph.rootOf(member)])) {
      const u = upd(id);
      const fs = new Date(s.fs).toISOString();
      const ls = new Date(s.ls).toISOString();
      u.fs = u.fs === null || fs < u.fs ? fs : u.fs;
      u.ls = u.ls === null || ls > u.ls ? ls : u.ls;
    }
  }
  // New customers are inserted with their final values; an existing customer's row is rewritten
  // only when its traits change, it was seen earlier than known, or it was seen more than a
  // minute after its last_seen_at (last_seen_at is kept to the minute: most events of an active
  // customer then cost no customer-row update).
  const created = new Set(newCustomers.map((c) => c.id));
  const rowUpdates = [...updates.values()].filter((u) => {
    if (created.has(u.id)) return false;
    if (Object.keys(u.own).length > 0 || Object.keys(u.tr).length > 0) return true;
    const stored = storedSeen.get(u.id);
    if (!stored) return true;
    return (u.fs !== null && Date.parse(u.fs) < stored.fs) || (u.ls !== null && Date.parse(u.ls) > stored.ls + LAST_SEEN_GRANULARITY_MS);
  });

  const customerRows = newCustomers.map((c) => {
    const u = updates.get(c.id);
    return { id: c.id, fs: u?.fs ?? c.at, ls: u?.ls ?? c.at, own: u?.own ?? {}, tr: u?.tr ?? {} };
  });
  // Lifecycle domain events, against the final roots of this batch.
  for (const id of createdRoots) {
    if (graph.rootOf(id) === id && wanted.has('customer.created')) outbox.push({ type: 'customer.created', payload: { customerId: id } });
  }
  if (wanted.has('customer.updated')) {
    const roots = new Set([...updatedRoots].map((r) => graph.rootOf(r)));
    for (const r of roots) if (!createdRoots.has(r)) outbox.push({ type: 'customer.updated', payload: { customerId: r } });
  }

  // The graph as this transaction leaves it, for this process's next batch, with first/last seen
  // as now stored (a merged root's absorbed times are left out: its stored value is only earlier
  // or later than the one kept, which at worst costs a profile update that was not needed).
  for (const c of newCustomers) {
    const u = updates.get(c.id);
    seenNow.set(c.id, { fs: Date.parse(u?.fs ?? c.at), ls: Date.parse(u?.ls ?? c.at) });
    touched.push(c.id);
  }
  for (const u of rowUpdates) {
    const st = storedSeen.get(u.id);
    const fs = u.fs === null ? st?.fs : Math.min(st?.fs ?? Infinity, Date.parse(u.fs));
    const ls = u.ls === null ? st?.ls : Math.max(st?.ls ?? -Infinity, Date.parse(u.ls));
    if (fs !== undefined && ls !== undefined) seenNow.set(u.id, { fs, ls });
  }
  for (const m of merges) touched.push(m.into);
  for (const i of linkedIdentities) {
    loaded.push(i);
    if (graph.isLimited(i.type)) touched.push(i.memberId);
  }
  return {
    graph,
    customerRows,
    newIdentities,
    rowUpdates,
    events,
    origins: prepared.origins,
    conflicts,
    quarantine,
    merges,
    originalRoot,
    outbox,
    eventNames,
    rootsByEvent,
    touchedRoots,
    traitsChanged: traitOps.length > 0,
    anyMessage: pending.length > 0,
    changes: { graph, touched, identities: loaded, seen: seenNow, asked: cached.missing },
    read: { keys: cached.missing, rows: readUsed },
  };
}

/**
 * Writes a plan: `all` in two statements (every round trip under the tenant's lock waits for this
 * process's busy thread too): first every row the batch adds or rewrites, then the merges, which
 * need the new customers to exist and absorb the merged profiles beneath this batch's traits.
 * A speculation writes the new customers, timeline events, conflicts and quarantined values
 * (`inserts`: rows no other transaction can touch) before the lock, and the rest (`updates`:
 * identities, profile updates, merges) under it.
 */
async function writePlan(keyring: Keyring, q: Queryable, tenantId: string, now: Date, plan: BatchPlan, part: 'all' | 'inserts' | 'updates'): Promise<void> {
  const nowIso = now.toISOString();
  const inserts = part !== 'updates';
  const updates = part !== 'inserts';
  const rowUpdates = updates ? plan.rowUpdates : [];
  // Identities are the only new rows another transaction can insert too (the same identifier at
  // the same moment): they wait for the lock, so that a speculation never holds one while waiting.
  // Personal values are encrypted only now: a speculation has left its planning turn by then.
  const identities = updates
    ? plan.newIdentities.map(({ pii, value, ...i }) => ({ ...i, value: pii ? null : value, value_enc: pii ? keyring.encrypt(value) : null }))
    : [];
  if (inserts || rowUpdates.length > 0 || identities.length > 0) {
    await q.query(WRITE_BATCH_SQL, [
      tenantId,
      nowIso,
      JSON.stringify(inserts ? plan.customerRows : []),
      JSON.stringify(identities),
      JSON.stringify(rowUpdates),
      rowUpdates.map((u) => u.id),
      inserts ? `[${plan.events.join(',')}]` : '[]',
      JSON.stringify(inserts ? plan.conflicts : []),
      JSON.stringify(inserts ? plan.quarantine : []),
      inserts ? plan.origins.sources : [],
      inserts ? plan.origins.receivedAt : [],
    ]);
  }
  const { merges, graph } = plan;
  if (updates && merges.length > 0) {
    // Each final root absorbs the profiles and seen times of the roots merged into it (its own
    // traits win); every customer whose root changed gets its final root (and the merged roots
    // their merge edge); history rows.
    const absorbed = merges.map((m) => ({ id: m.from, root: graph.rootOf(m.from) }));
    const mergedInto = new Map(merges.map((m) => [m.from, m.into]));
    const moved: { id: string; root: string; into: string | null }[] = [];
    for (const [id, before] of plan.originalRoot) {
      const after = graph.rootOf(id);
      if (after !== before) moved.push({ id, root: after, into: mergedInto.get(id) ?? null });
    }
    await q.query(MERGE_BATCH_SQL, [
      tenantId,
      nowIso,
      JSON.stringify(absorbed),
      [...new Set(absorbed.map((a) => a.root))],
      JSON.stringify(moved),
      moved.map((m) => m.id),
      JSON.stringify(merges),
    ]);
  }
}

/** After the writes, under the lock: rule tags, segments and the outbox. */
async function finishBatch(q: Queryable, tenantId: string, config: TenantConfig, plan: BatchPlan, now: Date): Promise<void> {
  const { graph, merges, touchedRoots, rootsByEvent } = plan;
  const wanted = config.subscribed;
  const outbox = [...plan.outbox];
  // Rule tags, incrementally, for the customers whose events could change them.
  const triggered = rulesTriggeredBy(config.tagRules, plan.eventNames, plan.anyMessage);
  const changedTags = new Set<string>();
  if (triggered.length > 0) {
    // Per rule, only the roots whose messages can move its value: those that received one of its
    // trigger events (every touched root for '*'), and every root that absorbed another (a merge
    // adds the other's orders and events).
    const allRoots = [...new Set([...touchedRoots].map((r) => graph.rootOf(r)))];
    const mergedRoots = merges.map((m) => graph.rootOf(m.into));
    const rootsFor = (rule: { readonly triggers: readonly string[] }): string[] => {
      if (rule.triggers.includes('*')) return allRoots;
      const out = new Set(mergedRoots);
      for (const t of rule.triggers) for (const r of rootsByEvent.get(t) ?? []) out.add(graph.rootOf(r));
      return [...out];
    };
    const outcome = await applyRules(q, tenantId, triggered, rootsFor, now);
    for (const e of outcome.events) if (wanted.has(e.type)) outbox.push(e);
    for (const e of outcome.events) changedTags.add(String(e.payload['tag']));
  }
  // Segments, incrementally: merged-away roots leave them, and this batch's roots are re-decided
  // for the segments its events, traits and rule-tag changes can move (every segment after a merge).
  if (config.segments.length > 0) {
    if (merges.length > 0) await dropMergedMembers(q, tenantId, merges.map((m) => m.from));
    const segs = segmentsTriggeredBy(config.segments, {
      events: plan.eventNames,
      anyMessage: plan.anyMessage,
      traits: plan.traitsChanged,
      tags: changedTags,
      all: merges.length > 0,
    });
    if (segs.length > 0) await applySegments(q, tenantId, segs, [...new Set([...touchedRoots].map((r) => graph.rootOf(r)))], now);
  }
  await writeOutbox(q, tenantId, outbox, now);
}

export type { Keyring };
