import { createHash } from 'node:crypto';
import type { Queryable } from '../db/client.js';
import type { Keyring } from '../security/keys.js';
import type { RejectedRow } from './types.js';

const MAX_REASON = 1000;

/**
 * The quarantine id of a rejected row: derived from the source, the import and the row, so that
 * reporting the same row again (a resumed or repeated import) adds no second entry.
 */
export function rejectedRowId(sourceId: string, importId: string, row: number): string {
  return `qua_imp_${createHash('sha256').update(`${sourceId}\0${importId}\0${row}`).digest('hex').slice(0, 24)}`;
}

export function rejectedReason(r: RejectedRow): string {
  const text = `row ${r.row}: ${r.problems.map((p) => p.message).join('; ')}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/**
 * Stores rejected rows of an import as quarantine entries (kind `message`): the payload keeps
 * the message the row would have become under `message` (the console's fix starts from it), the
 * cells as read, and every problem. Fixing an entry sends the corrected message through the
 * inbox of the same source. Returns how many entries are new.
 */
export async function quarantineRejectedRows(
  q: Queryable,
  keyring: Keyring,
  tenantId: string,
  sourceId: string,
  importRef: { readonly id: string; readonly file?: string | undefined },
  rows: readonly RejectedRow[],
  now: Date,
): Promise<{ quarantined: number; duplicates: number }> {
  if (rows.length === 0) return { quarantined: 0, duplicates: 0 };
  const records = rows.map((r) => ({
    id: rejectedRowId(sourceId, importRef.id, r.row),
    message_id: r.messageId.slice(0, 200),
    field: r.problems[0]?.field || null,
    reason: rejectedReason(r),
    payload_enc: keyring.encrypt(
      JSON.stringify({
        message: r.message,
        import: { id: importRef.id, ...(importRef.file ? { file: importRef.file } : {}), row: r.row },
        row: r.data,
        problems: r.problems,
      }),
    ),
  }));
  const res = await q.query(
    `INSERT INTO quarantine (tenant_id, id, kind, source_id, message_id, field, reason, payload_enc, created_at)
     SELECT $1, x.id, 'message', $2, x.message_id, x.field, x.reason, x.payload_enc, $3
     FROM jsonb_to_recordset($4::jsonb) AS x(id text, message_id text, field text, reason text, payload_enc text)
     ON CONFLICT (tenant_id, id) DO NOTHING`,
    [tenantId, sourceId, now.toISOString(), JSON.stringify(records)],
  );
  return { quarantined: res.affectedRows, duplicates: rows.length - res.affectedRows };
}
