import { DatongError } from '@datong/core';
import type { Queryable } from '../db/client.js';

/**
 * Which channel feeds an e-commerce connector (`connector_state`): its pushes, or — when they
 * stop or keep failing verification — polling the platform's order API. The webhook path
 * writes the push side; jobs/commerce-poll.ts decides to poll and writes the polling side.
 */

export interface ConnectorStateRow {
  tenant_id: string;
  connector_id: string;
  channel: 'push' | 'polling';
  channel_since: Date | string;
  channel_reason: string | null;
  last_push_at: Date | string | null;
  last_valid_push_at: Date | string | null;
  push_failures: number;
  last_push_error: string | null;
  poll_watermark: Date | string | null;
  poll_window_to: Date | string | null;
  poll_cursor: string | null;
  next_poll_at: Date | string | null;
  last_poll_at: Date | string | null;
  poll_failures: number;
  last_poll_error: string | null;
  last_pull_at: Date | string | null;
  pull_failures: number;
  last_pull_error: string | null;
  last_reconcile_at: Date | string | null;
  last_reconcile: Record<string, unknown> | null;
}

/** Pushes failing verification this many times in a row switch the connector to polling. */
export const PUSH_FAILURES_BEFORE_POLLING = 3;

/**
 * A verified push (or a pulled batch) arrived: failures reset, and a connector that was polling
 * goes back to push. Written at most once a second per connector while nothing else changes,
 * so a busy connector's pushes do not all queue on this one row.
 */
export async function noteValidPush(q: Queryable, tenantId: string, connectorId: string, at: Date): Promise<void> {
  const t = at.toISOString();
  // A plain read first: ON CONFLICT DO UPDATE locks the row even when its WHERE is false, which
  // made every push of a connector wait for the previous push's commit (platform benchmark).
  const cur = await q.query<{ channel: string; push_failures: number; last_valid_push_at: Date | string | null }>(
    'SELECT channel, push_failures, last_valid_push_at FROM connector_state WHERE tenant_id = $1 AND connector_id = $2',
    [tenantId, connectorId],
  );
  const row = cur.rows[0];
  if (row && row.channel === 'push' && Number(row.push_failures) === 0 && row.last_valid_push_at !== null && new Date(row.last_valid_push_at).getTime() >= at.getTime() - 1000) {
    return;
  }
  await q.query(
    `INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, last_push_at, last_valid_push_at, updated_at)
     VALUES ($1, $2, 'push', $3, $3, $3, $3)
     ON CONFLICT (tenant_id, connector_id) DO UPDATE SET
       last_push_at = $3, last_valid_push_at = $3, push_failures = 0, last_push_error = NULL, channel = 'push',
       channel_since = CASE WHEN connector_state.channel = 'push' THEN connector_state.channel_since ELSE $3 END,
       channel_reason = CASE WHEN connector_state.channel = 'push' THEN connector_state.channel_reason ELSE 'valid pushes arrive again' END,
       updated_at = $3
     WHERE connector_state.channel <> 'push' OR connector_state.push_failures > 0 OR connector_state.last_valid_push_at IS NULL
        OR connector_state.last_valid_push_at < $3::timestamptz - interval '1 second'`,
    [tenantId, connectorId, t],
  );
}

/** A push failed verification (or could not be stored). */
export async function noteRejectedPush(q: Queryable, tenantId: string, connectorId: string, at: Date, error: string): Promise<void> {
  const t = at.toISOString();
  await q.query(
    `INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, last_push_at, push_failures, last_push_error, updated_at)
     VALUES ($1, $2, 'push', $3, $3, 1, $4, $3)
     ON CONFLICT (tenant_id, connector_id) DO UPDATE SET last_push_at = $3, push_failures = connector_state.push_failures + 1, last_push_error = $4, updated_at = $3`,
    [tenantId, connectorId, t, error.slice(0, 500)],
  );
}

/** The state row, created (on push, since the connector's creation) when missing. */
export async function ensureState(q: Queryable, tenantId: string, connectorId: string, since: Date): Promise<ConnectorStateRow> {
  await q.query(
    `INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, updated_at) VALUES ($1, $2, 'push', $3, $3)
     ON CONFLICT (tenant_id, connector_id) DO NOTHING`,
    [tenantId, connectorId, since.toISOString()],
  );
  const r = await q.query<ConnectorStateRow>('SELECT * FROM connector_state WHERE tenant_id = $1 AND connector_id = $2', [tenantId, connectorId]);
  const row = r.rows[0];
  if (!row) throw new DatongError('INTERNAL', 'connector state row missing after insert');
  return row;
}

export async function readState(q: Queryable, tenantId: string, connectorId: string): Promise<ConnectorStateRow | null> {
  const r = await q.query<ConnectorStateRow>('SELECT * FROM connector_state WHERE tenant_id = $1 AND connector_id = $2', [tenantId, connectorId]);
  return r.rows[0] ?? null;
}
