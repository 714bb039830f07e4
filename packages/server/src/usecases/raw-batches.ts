import { brotliCompress, brotliDecompressSync, constants } from 'node:zlib';
import type { Queryable } from '../db/client.js';
import type { Keyring } from '../security/keys.js';

/**
 * The raw messages of one accepted request, as the inbox keeps them when they are processed at
 * once (inline ingest): one JSON array of the messages as received, Brotli-compressed, then
 * encrypted (AES-256-GCM), in `inbox_batches`. Each message keeps its own inbox row (the dedupe
 * key, its status) pointing at its batch and position. Per message this stores ~80 bytes instead
 * of ~700 (the messages of a request share their keys and values) and encrypts once a request.
 *
 * Quality 1: measured on the benchmark's requests (100 messages, ~50 KB of JSON), ~5.8 KB in
 * ~0.16 ms, against deflate level 1's 6.4 KB in ~0.28 ms.
 */
export function sealRawBatch(keyring: Keyring, json: readonly string[]): Promise<string> {
  const text = Buffer.from(`[${json.join(',')}]`, 'utf8');
  return new Promise((resolve, reject) => {
    brotliCompress(
      text,
      {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 1,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
        },
      },
      (err, packed) => (err ? reject(err) : resolve(keyring.encryptBytes(packed))),
    );
  });
}

/** The messages of a sealed batch, in the order they were sent. */
export function openRawBatch(keyring: Keyring, sealed: string): unknown[] {
  const messages: unknown = JSON.parse(brotliDecompressSync(keyring.decryptBytes(sealed)).toString('utf8'));
  if (!Array.isArray(messages)) throw new Error('a raw batch holds an array of messages');
  return messages;
}

export interface RawInboxMessage {
  readonly messageId: string;
  readonly status: 'pending' | 'processed' | 'quarantined';
  readonly attempts: number;
  readonly receivedAt: Date;
  readonly processedAt: Date | null;
  /** The message as received; undefined when its raw form is no longer kept. */
  readonly payload: unknown;
}

const STATUS = ['pending', 'processed', 'quarantined'] as const;

/**
 * A message of the inbox, stored alone (the workers' way) or in its request's batch (inline
 * ingest); null when the source never sent it or it has left the dedupe window.
 */
export async function rawInboxMessage(q: Queryable, keyring: Keyring, tenantId: string, sourceId: string, messageId: string): Promise<RawInboxMessage | null> {
  const r = await q.query<{
    message_id: string;
    status: number;
    attempts: number;
    received_at: Date | string;
    processed_at: Date | string | null;
    payload_enc: string | null;
    batch_pos: number | null;
    batch_enc: string | null;
  }>(
    `SELECT i.message_id, i.status, i.attempts, i.received_at, i.processed_at, i.payload_enc, i.batch_pos, b.payload_enc AS batch_enc
     FROM inbox i LEFT JOIN inbox_batches b ON b.tenant_id = i.tenant_id AND b.id = i.batch_id
     WHERE i.tenant_id = $1 AND i.source_id = $2 AND i.message_id = $3`,
    [tenantId, sourceId, messageId],
  );
  const row = r.rows[0];
  if (!row) return null;
  let payload: unknown;
  if (row.payload_enc !== null) payload = JSON.parse(keyring.decrypt(row.payload_enc));
  else if (row.batch_enc !== null && row.batch_pos !== null) payload = openRawBatch(keyring, row.batch_enc)[row.batch_pos];
  return {
    messageId: row.message_id,
    status: STATUS[row.status] ?? 'pending',
    attempts: row.attempts,
    receivedAt: new Date(row.received_at),
    processedAt: row.processed_at === null ? null : new Date(row.processed_at),
    payload,
  };
}
