import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/client.js';
import {
  applyMessages,
  applyMessagesOptimistically,
  keepMessages,
  messageKey,
  prepareMessages,
  processTenantMessages,
  type IncomingMessage,
  type InboxRow,
  type PreparedMessages,
  type Speculation,
} from '../jobs/process-inbox.js';
import { newId } from '../ids.js';
import type { Keyring } from '../security/keys.js';
import { lockTenantIdentities } from './identity-lock.js';
import type { ServerDeps } from './context.js';
import { GroupCommit } from './group-commit.js';
import { sealRawBatch } from './raw-batches.js';
import { tenantConfig, type TenantConfig } from './tenant-config.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

/** The message ids of `messages`, in order: the sender's, or generated. */
function messageIds(messages: readonly Record<string, unknown>[]): string[] {
  return messages.map((m) => {
    const mid = typeof m['messageId'] === 'string' && m['messageId'] !== '' ? m['messageId'] : `gen-${randomUUID()}`;
    return mid.slice(0, 200);
  });
}

async function insertPending(q: Queryable, tenantId: string, sourceId: string, ids: readonly string[], payloads: readonly string[], receivedAt: Date): Promise<IngestResult> {
  const r = await q.query(
    `INSERT INTO inbox (tenant_id, source_id, message_id, received_at, payload_enc)
     SELECT $1, $2, u.m, $3, u.p FROM unnest($4::text[], $5::text[]) AS u(m, p)
     ON CONFLICT (tenant_id, source_id, message_id) DO NOTHING`,
    [tenantId, sourceId, receivedAt.toISOString(), ids, payloads],
  );
  return { accepted: r.affectedRows, duplicates: ids.length - r.affectedRows };
}

/**
 * Stores raw messages in the inbox, encrypted, in one statement, for the workers to process.
 * Duplicate message ids (per source) are ignored. Returns only after the rows are committed:
 * the caller may then answer.
 */
export async function storeInbox(
  q: Queryable,
  keyring: Keyring,
  tenantId: string,
  sourceId: string,
  messages: readonly Record<string, unknown>[],
  receivedAt: Date,
): Promise<IngestResult> {
  if (messages.length === 0) return { accepted: 0, duplicates: 0 };
  const payloads = messages.map((m) => keyring.encrypt(JSON.stringify(m)));
  return insertPending(q, tenantId, sourceId, messageIds(messages), payloads, receivedAt);
}

/**
 * Stores messages and processes them at once, in one transaction, for callers that need the
 * resolved customer in their answer (mini-program login, decrypted phone). Same pipeline as
 * the workers; the inbox keeps the raw messages as for any other ingest.
 */
export async function ingestAndProcess(
  deps: ServerDeps,
  tenantId: string,
  sourceId: string,
  messages: readonly Record<string, unknown>[],
): Promise<void> {
  const now = deps.clock();
  await deps.db.tx(async (q) => {
    await storeInbox(q, deps.keyring, tenantId, sourceId, messages, now);
    const ids = messages.map((m) => String(m['messageId']));
    const rows = await q.query<InboxRow>(
      `SELECT id, tenant_id, source_id, message_id, received_at, payload_enc, attempts FROM inbox
       WHERE tenant_id = $1 AND source_id = $2 AND message_id = ANY($3::text[]) AND status = 0 ORDER BY id FOR UPDATE`,
      [tenantId, sourceId, ids],
    );
    if (rows.rows.length > 0) await processTenantMessages(deps, q, tenantId, rows.rows);
  });
}

export interface InlineIngestOptions {
  /** Most messages one processing transaction takes (requests beyond it wait for the next one). */
  readonly maxBatch: number;
  /** Processing transactions at once in this process. */
  readonly concurrency: number;

  /** After each committed transaction: messages processed and quarantined, and when each was received. */
  readonly onProcessed?: (processed: number, quarantined: number, receivedAt: readonly Date[]) => void;
  /** After each transaction on PostgreSQL: whether its speculation held (`applyMessagesOptimistically`). */
  readonly onSpeculation?: (outcome: Speculation) => void;
}

interface Submission {
  readonly tenantId: string;
  readonly sourceId: string;
  readonly receivedAt: Date;
  readonly messages: readonly Record<string, unknown>[];
  /** Each message as JSON (what its raw form is made of). */
  readonly json: readonly string[];
  readonly ids: readonly string[];
  /** The request's raw batch (`inbox_batches`): its id and sealed messages. */
  readonly batchId: string;
  readonly batch: string;
  readonly resolve: (r: IngestResult) => void;
  readonly reject: (err: unknown) => void;
}


/**
 * Accepts Segment messages by processing them before the answer (group commit): requests that
 * arrive while a transaction runs wait and share the next one, which stores their raw messages
 * in the inbox as already processed and does everything the inbox worker would (identity
 * resolution, timeline, tags, segments, outbox) in the same commit. So a 200 means the events
 * are on the timeline, each event is written once instead of stored, claimed and updated, and
 * one commit serves many requests.
 *
 * Nothing acknowledged is lost: when the processing transaction fails, the messages are stored
 * as pending inbox rows instead (one transaction per request) and the workers retry them, one
 * at a time if need be, into quarantine. Only when that fails too does the request fail.
 */
export class InlineIngest {
  readonly #deps: ServerDeps;
  readonly #opts: InlineIngestOptions;
  readonly #batches: GroupCommit<Submission>;

  constructor(deps: ServerDeps, opts: InlineIngestOptions) {
    this.#deps = deps;
    this.#opts = opts;
    // One tenant per transaction, up to maxBatch messages. On the embedded database, starting a
    // transaction at once took one request (100 messages) each, 2,500 events/s; letting the
    // requests already received be read first fills them (~490), 3,200 events/s; waiting 5 or
    // 15 ms more gained nothing (bench/diagnose.mjs, 20,000 events).
    this.#batches = new GroupCommit<Submission>({
      concurrency: opts.concurrency,
      maxSize: opts.maxBatch,
      size: (s) => s.ids.length,
      key: (s) => s.tenantId,
      flush: (batch) => this.#flush(batch),
    });
  }

  /**
   * Resolves once the messages are processed and committed (or safely stored for the workers).
   * `json`: the messages already serialized (the route measured their size), in the same order.
   */
  submit(tenantId: string, sourceId: string, messages: readonly Record<string, unknown>[], receivedAt: Date, json?: readonly string[]): Promise<IngestResult> {
    if (messages.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    // The raw batch is sealed now, in the request: outside the shared transaction.
    const text = json ?? messages.map((m) => JSON.stringify(m));
    const ids = messageIds(messages);
    return sealRawBatch(this.#deps.keyring, text).then(
      (batch) =>
        new Promise<IngestResult>((resolve, reject) => {
          const batchId = newId('inb', receivedAt.getTime());
          this.#batches.push({ tenantId, sourceId, receivedAt, messages, json: text, ids, batchId, batch, resolve, reject });
        }),
    );
  }

  /** Resolves when no transaction is running and nothing waits (shutdown, tests). */
  idle(): Promise<void> {
    return this.#batches.idle();
  }

  async #flush(subs: readonly Submission[]): Promise<void> {
    try {
      const { fresh, processed, quarantined, receivedAt } = await this.#process(subs);
      this.#opts.onProcessed?.(processed, quarantined, receivedAt);
      for (const s of subs) {
        let accepted = 0;
        for (const id of s.ids) if (fresh.delete(messageKey(s.sourceId, id))) accepted++;
        s.resolve({ accepted, duplicates: s.ids.length - accepted });
      }
      return;
    } catch (err) {
      this.#deps.logger.warn(
        { err, event: 'ingest.inline_failed', messages: subs.reduce((n, s) => n + s.ids.length, 0) },
        'processing accepted messages failed; storing them for the inbox workers instead',
      );
    }
    for (const s of subs) {
      try {
        const payloads = s.json.map((j) => this.#deps.keyring.encrypt(j));
        s.resolve(await insertPending(this.#deps.db, s.tenantId, s.sourceId, s.ids, payloads, s.receivedAt));
      } catch (err) {
        s.reject(err);
      }
    }
    this.#deps.kick();
  }

  /** One transaction for the batch; `fresh`: the keys of the messages that were new. */
  async #process(subs: readonly Submission[]): Promise<{ fresh: Set<string>; processed: number; quarantined: number; receivedAt: Date[] }> {
    const deps = this.#deps;
    const tenantId = (subs[0] as Submission).tenantId;
    const now = deps.clock();
    // On PostgreSQL the configuration is read on another connection while this transaction begins,
    // and the messages are prepared (parsed, blind-indexed) while the raw messages are being stored:
    // both off the transaction's path. PGlite has one connection: there, everything in turn.
    const overlap = deps.db.kind === 'postgres';
    const configRead = tenantConfig(deps.db, deps.db, tenantId);
    configRead.catch(() => undefined); // awaited below; not unhandled if the transaction fails first
    // The same message twice in this batch counts once (the first).
    const incoming: (IncomingMessage & { readonly batchId: string; readonly batchPos: number })[] = [];
    const keys = new Set<string>();
    const keyring = deps.keyring;
    for (const s of subs) {
      s.ids.forEach((id, i) => {
        const key = messageKey(s.sourceId, id);
        if (keys.has(key)) return;
        keys.add(key);
        const json = s.json[i] as string;
        incoming.push({ inboxId: null, sourceId: s.sourceId, messageId: id, receivedAt: s.receivedAt, raw: s.messages[i], payloadEnc: () => keyring.encrypt(json), batchId: s.batchId, batchPos: i });
      });
    }
    const prepare = async (): Promise<{ config: TenantConfig; prepared: PreparedMessages; rejected: Set<string> }> => {
      const config = await configRead;
      const prepared = prepareMessages(deps.keyring, tenantId, config, incoming, now);
      return { config, prepared, rejected: new Set(prepared.rejected.map((m) => messageKey(m.sourceId, m.messageId))) };
    };
    const early = overlap ? null : await prepare();
    // Stored in key order, so two inline transactions storing the same messages wait for each
    // other instead of deadlocking (processing keeps the order of arrival).
    const ordered = [...incoming].sort((a, b) => {
      if (a.sourceId !== b.sourceId) return a.sourceId < b.sourceId ? -1 : 1;
      return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
    });
    return deps.db.tx(async (q) => {
      // The raw messages first, as processed (or quarantined), before the tenant's lock: each
      // request's sealed batch, and a row per message pointing into it, whose unique key decides
      // which are new. A message some other transaction is storing right now
      // (another server, the worker path) waits for it, then counts as a duplicate. processed_at
      // is stamped here, as the inbox worker stamps it when it marks a claimed batch: the commit
      // follows within the same transaction.
      // Per message only what differs (its request's index into the request arrays, its id,
      // position and status); RETURNING gives back the stored ones per request. A message stored
      // processed has no id (the workers claim only pending ones by it: migration 0015).
      const subIndex = new Map(subs.map((s, i) => [s.batchId, i]));
      const storing = q.query<{ batch_id: string; pos: number[] }>(
        `WITH batches AS (
           INSERT INTO inbox_batches (tenant_id, id, source_id, received_at, messages, payload_enc)
           SELECT $1, b.id, b.s, b.r, b.n, b.p FROM unnest($6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::text[]) AS b(id, s, r, n, p)),
         stored AS (
           INSERT INTO inbox (id, tenant_id, source_id, message_id, received_at, batch_id, batch_pos, status, attempts, processed_at)
           SELECT NULL, $1, ($7::text[])[u.k], u.m, ($8::timestamptz[])[u.k], ($6::text[])[u.k], u.i, u.st, 1, clock_timestamp()
           FROM unnest($2::int[], $3::text[], $4::int[], $5::smallint[]) WITH ORDINALITY AS u(k, m, i, st, n)
           ORDER BY u.n
           ON CONFLICT (tenant_id, source_id, message_id) DO NOTHING
           RETURNING batch_id, batch_pos)
         SELECT batch_id, array_agg(batch_pos) AS pos FROM stored GROUP BY batch_id`,
        [
          tenantId,
          ordered.map((m) => (subIndex.get(m.batchId) as number) + 1),
          ordered.map((m) => m.messageId),
          ordered.map((m) => m.batchPos),
          // Quarantined whole (2) or processed (1); when preparing overlaps, quarantined ones are marked after.
          ordered.map((m) => (early?.rejected.has(messageKey(m.sourceId, m.messageId)) ? 2 : 1)),
          subs.map((s) => s.batchId),
          subs.map((s) => s.sourceId),
          subs.map((s) => s.receivedAt.toISOString()),
          subs.map((s) => s.ids.length),
          subs.map((s) => s.batch),
        ],
      );
      storing.catch(() => undefined); // awaited below, after preparing
      const { config, prepared } = early ?? (await prepare());
      const stored = await storing;
      const fresh = new Set<string>();
      for (const r of stored.rows) {
        const sub = subs[subIndex.get(r.batch_id) as number] as Submission;
        for (const pos of r.pos) fresh.add(messageKey(sub.sourceId, sub.ids[pos] as string));
      }
      if (fresh.size === 0) return { fresh, processed: 0, quarantined: 0, receivedAt: [] };
      const kept = keepMessages(prepared, fresh);
      if (!early && kept.rejected.length > 0) {
        await q.query(
          `UPDATE inbox i SET status = 2 FROM unnest($2::text[], $3::text[]) AS u(s, m)
           WHERE i.tenant_id = $1 AND i.source_id = u.s AND i.message_id = u.m`,
          [tenantId, kept.rejected.map((m) => m.sourceId), kept.rejected.map((m) => m.messageId)],
        );
      }
      // On PostgreSQL, with another transaction of this process possibly holding the tenant's
      // lock right now, most of the batch is written before taking it (a speculation checked
      // under the lock); the embedded database runs one transaction at a time anyway.
      // (Not `onSpeculation?.(await …)`: without a callback, that would skip the processing.)
      if (deps.db.kind === 'postgres') {
        const outcome = await applyMessagesOptimistically(deps, q, tenantId, config, kept, now);
        this.#opts.onSpeculation?.(outcome);
      } else await applyMessages(deps, q, tenantId, config, kept, now, await lockTenantIdentities(q, tenantId));
      const receivedAt = incoming.filter((m) => fresh.has(messageKey(m.sourceId, m.messageId))).map((m) => m.receivedAt);
      return { fresh, processed: kept.pending.length, quarantined: kept.rejected.length, receivedAt };
    });
  }
}
