import { isDatongError, type CanonicalRecord } from '@datong/core';
import type { CommerceConnectors, LoadedConnector } from '../connectors/commerce.js';
import type { Queryable } from '../db/client.js';
import { newId } from '../ids.js';
import { applyCanonicalRecords, recordLockKeys, type RecordResult } from '../usecases/commerce-records.js';
import { retryDelayMs, type StoredPayload } from '../usecases/connector-messages.js';
import type { ServerDeps } from '../usecases/context.js';
import { storeInbox } from '../usecases/ingest.js';

interface ClaimedRow {
  tenant_id: string;
  id: string;
  connector_id: string;
  message_id: string;
  type: string;
  channel: string;
  occurred_at: Date | string | null;
  payload_enc: string;
  attempts: number;
}

export interface ConnectorMessagesResult {
  claimed: number;
  processed: number;
  ignored: number;
  /** Failed this time; retried later with backoff. */
  retried: number;
  quarantined: number;
  /** Segment messages written to the inbox. */
  inbox: number;
}

type Prepared =
  | { readonly row: ClaimedRow; readonly kind: 'ready'; readonly connector: LoadedConnector; readonly records: readonly CanonicalRecord[] }
  | { readonly row: ClaimedRow; readonly kind: 'skip'; readonly reason: string }
  | { readonly row: ClaimedRow; readonly kind: 'error'; readonly error: unknown };

function errorText(err: unknown): { code: string; detail: string; transient: boolean } {
  if (isDatongError(err)) return { code: err.code, detail: (err.detail ?? err.title).slice(0, 500), transient: err.transient };
  // Not a DatongError: a bug or a broken payload, not something time heals. The message is not
  // echoed (it may quote payload values): the log has it.
  return { code: 'INTERNAL', detail: 'processing failed; the server log has the details', transient: false };
}

/**
 * Claims due platform messages (pending, or failed and due for a retry) and processes them in
 * one transaction: decrypt, normalize with the connector's pure normalizer (or take the
 * canonical records fetched from the order API), apply forward-only to orders and refunds,
 * and write the derived Segment messages to the inbox. Each message runs in its own savepoint,
 * so one bad message fails alone: it is retried with backoff and quarantined after
 * `connectors.maxAttempts` attempts. FOR UPDATE SKIP LOCKED on PostgreSQL (any number of
 * workers); PGlite is one connection, where transactions never overlap.
 */
export async function processConnectorMessages(deps: ServerDeps, commerce: CommerceConnectors, limit = 200): Promise<ConnectorMessagesResult> {
  const { keyring, logger } = deps;
  const now = deps.clock();
  const nowIso = now.toISOString();
  const maxAttempts = deps.config.connectors.maxAttempts;
  const result: ConnectorMessagesResult = { claimed: 0, processed: 0, ignored: 0, retried: 0, quarantined: 0, inbox: 0 };
  await deps.db.tx(async (q) => {
    const lock = deps.db.kind === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    const claimed = await q.query<ClaimedRow>(
      `SELECT tenant_id, id, connector_id, message_id, type, channel, occurred_at, payload_enc, attempts FROM connector_messages
       WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 ${lock}`,
      [nowIso, limit],
    );
    result.claimed = claimed.rows.length;
    if (claimed.rows.length === 0) return;

    // 1. Decrypt and normalize (pure), before any lock is taken.
    const prepared: Prepared[] = [];
    for (const row of claimed.rows) {
      try {
        const connector = await commerce.load(q, row.tenant_id, row.connector_id);
        if (!connector || !connector.enabled) {
          prepared.push({ row, kind: 'skip', reason: 'the connector is disabled or no longer exists' });
          continue;
        }
        const stored = JSON.parse(keyring.decrypt(row.payload_enc)) as StoredPayload;
        let records: readonly CanonicalRecord[];
        if ('records' in stored) records = stored.records;
        else if ('payload' in stored) {
          records = connector.def.normalize(
            {
              messageId: stored.messageId,
              type: stored.type,
              payload: stored.payload,
              ...(stored.occurredAt !== undefined ? { occurredAt: stored.occurredAt } : {}),
              ...(stored.test ? { test: true } : {}),
            },
            { config: connector.config, connectorId: connector.id },
          );
        } else {
          prepared.push({ row, kind: 'skip', reason: 'a rejected request is never processed' });
          continue;
        }
        prepared.push({ row, kind: 'ready', connector, records });
      } catch (error) {
        prepared.push({ row, kind: 'error', error });
      }
    }

    // 2. PostgreSQL: lock the touched orders and refunds in one global order, so two workers
    // applying messages of the same orders wait for each other instead of deadlocking.
    if (deps.db.kind === 'postgres') {
      const keys = [...new Set(prepared.flatMap((p) => (p.kind === 'ready' ? recordLockKeys(p.row.tenant_id, p.connector.platform, p.records) : [])))].sort();
      if (keys.length > 0) {
        await q.query('SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k OFFSET 0) s', [keys]);
      }
    }

    // 3. Apply each message in its own savepoint.
    for (const p of prepared) {
      if (p.kind === 'skip') {
        await q.query(`UPDATE connector_messages SET status = 'ignored', error = $3, processed_at = $4, attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2`, [
          p.row.tenant_id,
          p.row.id,
          p.reason,
          nowIso,
        ]);
        result.ignored++;
        continue;
      }
      if (p.kind === 'error') {
        await recordFailure(deps, q, p.row, p.error, null, maxAttempts, result);
        continue;
      }
      await q.query('SAVEPOINT connector_message');
      try {
        const outcome = await applyCanonicalRecords(q, keyring, {
          tenantId: p.row.tenant_id,
          connectorId: p.connector.id,
          platform: p.connector.platform,
          connectorMessageId: p.row.id,
          now,
        }, p.records);
        const stored = await storeInbox(q, keyring, p.row.tenant_id, p.connector.sourceId, outcome.segment, now);
        result.inbox += stored.accepted;
        const ignored = outcome.results.every((r: RecordResult) => r.kind === 'ignored');
        await q.query(
          `UPDATE connector_messages SET status = $3, result = $4, error = NULL, error_code = NULL, processed_at = $5, attempts = attempts + 1, next_attempt_at = NULL
           WHERE tenant_id = $1 AND id = $2`,
          [p.row.tenant_id, p.row.id, ignored ? 'ignored' : 'processed', JSON.stringify({ records: outcome.results, inbox: outcome.segment.length }), nowIso],
        );
        await q.query('RELEASE SAVEPOINT connector_message');
        if (ignored) result.ignored++;
        else result.processed++;
      } catch (error) {
        await q.query('ROLLBACK TO SAVEPOINT connector_message');
        await q.query('RELEASE SAVEPOINT connector_message');
        await recordFailure(deps, q, p.row, error, p.connector.sourceId, maxAttempts, result);
      }
    }
  });
  if (result.inbox > 0) deps.kick();
  if (result.retried > 0 || result.quarantined > 0) {
    logger.warn({ event: 'connector_messages.failed', retried: result.retried, quarantined: result.quarantined }, 'platform messages failed processing');
  }
  return result;
}

/** Counts the attempt: retried later with backoff, or quarantined once attempts are used up (transient errors always wait). */
async function recordFailure(
  deps: ServerDeps,
  q: Queryable,
  row: ClaimedRow,
  err: unknown,
  sourceId: string | null,
  maxAttempts: number,
  result: ConnectorMessagesResult,
): Promise<void> {
  const e = errorText(err);
  const attempts = row.attempts + 1;
  const now = deps.clock();
  deps.logger.warn({ err, event: 'connector_message.failed', connectorId: row.connector_id, messageId: row.id, attempts, code: e.code }, 'platform message failed');
  if (e.transient || attempts < maxAttempts) {
    await q.query(
      `UPDATE connector_messages SET status = 'failed', attempts = $3, error_code = $4, error = $5, next_attempt_at = $6 WHERE tenant_id = $1 AND id = $2`,
      [row.tenant_id, row.id, attempts, e.code, e.detail, new Date(now.getTime() + retryDelayMs(attempts)).toISOString()],
    );
    result.retried++;
    return;
  }
  await q.query(
    `UPDATE connector_messages SET status = 'quarantined', attempts = $3, error_code = $4, error = $5, next_attempt_at = NULL, processed_at = $6 WHERE tenant_id = $1 AND id = $2`,
    [row.tenant_id, row.id, attempts, e.code, e.detail, now.toISOString()],
  );
  // Also in the quarantine list the console shows; the message log's replay reprocesses it.
  const source = sourceId ?? (await q.query<{ source_id: string }>('SELECT source_id FROM connectors WHERE tenant_id = $1 AND id = $2', [row.tenant_id, row.connector_id])).rows[0]?.source_id ?? null;
  await q.query(
    `INSERT INTO quarantine (tenant_id, id, kind, source_id, message_id, field, reason, payload_enc, created_at)
     VALUES ($1, $2, 'message', $3, $4, NULL, $5, $6, $7)`,
    [
      row.tenant_id,
      newId('qua', now.getTime()),
      source,
      row.message_id,
      `platform message ${row.id} of connector ${row.connector_id} failed ${attempts} times (${e.code}: ${e.detail}); replay it from the connector's message log once fixed`,
      row.payload_enc,
      now.toISOString(),
    ],
  );
  result.quarantined++;
}
