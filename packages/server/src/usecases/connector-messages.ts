import type { PlatformMessage } from '@datong/connectors';
import type { CanonicalRecord } from '@datong/core';
import type { Db, Queryable } from '../db/client.js';
import { newId } from '../ids.js';
import type { Keyring } from '../security/keys.js';
import { noteValidPush } from './connector-state.js';
import { GroupCommit } from './group-commit.js';

/**
 * The message log of e-commerce connectors (`connector_messages`): every platform message is
 * stored here, encrypted, before the platform is answered or a pulled batch is confirmed;
 * the processing job turns the pending ones into orders and Segment messages.
 */

export type MessageChannel = 'push' | 'pull' | 'poll' | 'backfill';
export type Verification = 'valid' | 'invalid' | 'test';
export type MessageStatus = 'pending' | 'processed' | 'ignored' | 'failed' | 'quarantined';

/** What is encrypted in `payload_enc`: a platform message as verified, or canonical records fetched from the order API. */
export type StoredPayload =
  | { readonly messageId: string; readonly type: string; readonly payload: unknown; readonly occurredAt?: string; readonly test?: boolean }
  | { readonly messageId: string; readonly type: string; readonly records: readonly CanonicalRecord[] }
  /** A request that failed verification, kept for the merchant to see (never processed). */
  | { readonly rejected: { readonly method: string; readonly url: string; readonly headers: Record<string, string>; readonly body: string } };

export interface NewMessage {
  readonly messageId: string;
  readonly type: string;
  readonly channel: MessageChannel;
  readonly verification: Verification;
  readonly occurredAt?: string | undefined;
  readonly payload: StoredPayload;
  /** Set on rejected requests. */
  readonly error?: { readonly code: string; readonly detail: string };
}

/** A verified platform message (push or pull) as a message-log entry: test pings are logged, not processed. */
export function fromPlatformMessage(m: PlatformMessage, channel: 'push' | 'pull'): NewMessage {
  return {
    messageId: m.messageId,
    type: m.type,
    channel,
    verification: m.test ? 'test' : 'valid',
    occurredAt: m.occurredAt,
    payload: { messageId: m.messageId, type: m.type, payload: m.payload, ...(m.occurredAt !== undefined ? { occurredAt: m.occurredAt } : {}), ...(m.test ? { test: true } : {}) },
  };
}

function validIso(v: string | undefined): string | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * Stores messages in one statement, duplicates (same connector, same platform message id)
 * ignored. Valid messages are pending; test pings and rejected requests are logged as ignored.
 * Returns how many were new.
 */
export async function storeConnectorMessages(
  q: Queryable,
  keyring: Keyring,
  tenantId: string,
  connectorId: string,
  messages: readonly NewMessage[],
  receivedAt: Date,
): Promise<number> {
  if (messages.length === 0) return 0;
  const at = receivedAt.toISOString();
  const rows = messages.map((m) => {
    const pending = m.verification === 'valid';
    return {
      id: newId('cmsg', receivedAt.getTime()),
      message_id: m.messageId.slice(0, 200),
      type: m.type.slice(0, 100),
      channel: m.channel,
      occurred_at: validIso(m.occurredAt),
      verification: m.verification,
      payload_enc: keyring.encrypt(JSON.stringify(m.payload)),
      status: pending ? 'pending' : 'ignored',
      next_attempt_at: pending ? at : null,
      error_code: m.error?.code ?? null,
      error: m.error?.detail ?? null,
      result: m.verification === 'test' ? { test: true } : null,
      processed_at: pending ? null : at,
    };
  });
  const r = await q.query(
    `INSERT INTO connector_messages (tenant_id, id, connector_id, message_id, type, channel, received_at, occurred_at, verification, payload_enc, status,
       next_attempt_at, error_code, error, result, processed_at)
     SELECT $1, x.id, $2, x.message_id, x.type, x.channel, $3, x.occurred_at, x.verification, x.payload_enc, x.status, x.next_attempt_at, x.error_code, x.error, x.result, x.processed_at
     FROM jsonb_to_recordset($4::jsonb) AS x(id text, message_id text, type text, channel text, occurred_at timestamptz, verification text, payload_enc text, status text,
       next_attempt_at timestamptz, error_code text, error text, result jsonb, processed_at timestamptz)
     ON CONFLICT (tenant_id, connector_id, message_id) DO NOTHING`,
    [tenantId, connectorId, at, JSON.stringify(rows)],
  );
  return r.affectedRows;
}

/** The message id of an order fetched from the order API: one per order state, so re-fetching it stores nothing new. */
export function fetchedOrderMessageId(channel: 'poll' | 'backfill', order: { readonly orderId: string; readonly shopId: string; readonly status: string; readonly statusAt: string; readonly version?: string | undefined }): string {
  return `${channel}:${order.shopId}:${order.orderId}:${order.status}:${order.version ?? order.statusAt}`;
}

/** Retry delay after the n-th failed attempt: 30 s, 2 min, 8 min, 32 min, then hourly. */
export function retryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 4 ** Math.max(0, attempts - 1));
}

interface PushSubmission {
  readonly tenantId: string;
  readonly connectorId: string;
  readonly messages: readonly NewMessage[];
  readonly receivedAt: Date;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Verified platform pushes into the message log, with group commit: pushes that arrive while a
 * transaction runs share the next one (each push keeps its own received_at), and each connector's
 * state notes one valid push per transaction. A push is answered only after its commit. If a
 * shared transaction fails, each push is tried again on its own, so one bad push never fails the
 * others. Platforms push one message per request, so before this every message paid its own
 * commit (docs/benchmarks.md, "Platform connectors").
 */
export class PushLog {
  readonly #db: Db;
  readonly #keyring: Keyring;
  readonly #batches: GroupCommit<PushSubmission>;

  constructor(db: Db, keyring: Keyring, opts: { readonly concurrency: number; readonly maxMessages: number }) {
    this.#db = db;
    this.#keyring = keyring;
    this.#batches = new GroupCommit<PushSubmission>({
      concurrency: opts.concurrency,
      maxSize: opts.maxMessages,
      size: (s) => Math.max(1, s.messages.length),
      key: () => '',
      flush: (batch) => this.#flush(batch),
    });
  }

  /** Resolves once the push is stored and committed. */
  store(tenantId: string, connectorId: string, messages: readonly NewMessage[], receivedAt: Date): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#batches.push({ tenantId, connectorId, messages, receivedAt, resolve, reject }));
  }

  idle(): Promise<void> {
    return this.#batches.idle();
  }

  async #write(q: Queryable, subs: readonly PushSubmission[]): Promise<void> {
    const latest = new Map<string, { tenantId: string; connectorId: string; at: Date }>();
    for (const s of subs) {
      await storeConnectorMessages(q, this.#keyring, s.tenantId, s.connectorId, s.messages, s.receivedAt);
      const key = `${s.tenantId}\u0000${s.connectorId}`;
      const cur = latest.get(key);
      if (!cur || cur.at < s.receivedAt) latest.set(key, { tenantId: s.tenantId, connectorId: s.connectorId, at: s.receivedAt });
    }
    for (const c of latest.values()) await noteValidPush(q, c.tenantId, c.connectorId, c.at);
  }

  async #flush(subs: readonly PushSubmission[]): Promise<void> {
    try {
      await this.#db.tx((q) => this.#write(q, subs));
      for (const s of subs) s.resolve();
      return;
    } catch (err) {
      if (subs.length === 1) {
        (subs[0] as PushSubmission).reject(err);
        return;
      }
    }
    for (const s of subs) {
      try {
        await this.#db.tx((q) => this.#write(q, [s]));
        s.resolve();
      } catch (err) {
        s.reject(err);
      }
    }
  }
}
