import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/client.js';
import { processTenantMessages, type InboxRow } from '../jobs/process-inbox.js';
import type { Keyring } from '../security/keys.js';
import type { ServerDeps } from './context.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

/**
 * Stores raw messages in the inbox, encrypted, in one statement. Duplicate message ids (per
 * source) are ignored. Returns only after the rows are committed: the caller may then answer.
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
  const ids: string[] = [];
  const payloads: string[] = [];
  for (const m of messages) {
    const mid = typeof m['messageId'] === 'string' && m['messageId'] !== '' ? m['messageId'] : `gen-${randomUUID()}`;
    ids.push(mid.slice(0, 200));
    payloads.push(keyring.encrypt(JSON.stringify(m)));
  }
  const r = await q.query(
    `INSERT INTO inbox (tenant_id, source_id, message_id, received_at, payload_enc)
     SELECT $1, $2, u.m, $3, u.p FROM unnest($4::text[], $5::text[]) AS u(m, p)
     ON CONFLICT (tenant_id, source_id, message_id) DO NOTHING`,
    [tenantId, sourceId, receivedAt.toISOString(), ids, payloads],
  );
  return { accepted: r.affectedRows, duplicates: messages.length - r.affectedRows };
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
