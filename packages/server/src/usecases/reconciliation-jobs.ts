import { DatongError, isDatongError } from '@datong/core';
import type { CommerceConnectors, LoadedConnector } from '../connectors/commerce.js';
import type { Queryable } from '../db/client.js';
import { newId } from '../ids.js';
import type { ServerDeps } from './context.js';
import { checkReconcileWindow, reconcileConnector, type ReconcileReport } from './reconcile.js';

/** Runs of one reconciliation at most; a platform that stays down fails it with the last error. */
export const MAX_RECONCILE_ATTEMPTS = 5;
/** A running reconciliation whose process has not finished it after this long is claimed again. */
export const RECONCILE_LEASE_MS = 15 * 60_000;

interface Row {
  tenant_id: string;
  id: string;
  connector_id: string;
  from_at: Date | string;
  to_at: Date | string;
  backfill: boolean;
  status: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  report: ReconcileReport | null;
  error_code: string | null;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const COLUMNS = 'tenant_id, id, connector_id, from_at, to_at, backfill, status, attempts, report, error_code, error, created_at, started_at, finished_at';

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** The API's view of a reconciliation (contracts `Reconciliation`). */
export function reconciliationView(r: Row): Record<string, unknown> {
  return {
    id: r.id,
    connectorId: r.connector_id,
    status: r.status,
    from: iso(r.from_at),
    to: iso(r.to_at),
    backfill: r.backfill,
    attempts: r.attempts,
    createdAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    report: r.report,
    error: r.error_code === null ? null : { code: r.error_code, detail: r.error ?? '' },
  };
}

/** Records a reconciliation to run in the background; the window is checked now (400 at once, not later). */
export async function requestReconciliation(deps: ServerDeps, c: LoadedConnector, window: { from: Date; to: Date; backfill: boolean }): Promise<Record<string, unknown>> {
  checkReconcileWindow(window.from, window.to);
  const now = deps.clock();
  const r = await deps.db.query<Row>(
    `INSERT INTO reconciliations (tenant_id, id, connector_id, from_at, to_at, backfill, status, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING ${COLUMNS}`,
    [c.tenantId, newId('rec', now.getTime()), c.id, window.from.toISOString(), window.to.toISOString(), window.backfill, now.toISOString()],
  );
  deps.kick();
  return reconciliationView(r.rows[0] as Row);
}

export async function getReconciliation(q: Queryable, tenantId: string, connectorId: string, id: string): Promise<Record<string, unknown>> {
  const r = await q.query<Row>(`SELECT ${COLUMNS} FROM reconciliations WHERE tenant_id = $1 AND connector_id = $2 AND id = $3`, [tenantId, connectorId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('RECONCILIATION_NOT_FOUND', `No reconciliation ${id} for connector ${connectorId}`);
  return reconciliationView(row);
}

/** The connector's last reconciliation, for its status page (`connector_state.last_reconcile`). */
export async function noteReconciled(q: Queryable, tenantId: string, connectorId: string, report: ReconcileReport, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, last_reconcile_at, last_reconcile, updated_at) VALUES ($1, $2, 'push', $3, $3, $4, $3)
     ON CONFLICT (tenant_id, connector_id) DO UPDATE SET last_reconcile_at = $3, last_reconcile = $4, updated_at = $3`,
    [
      tenantId,
      connectorId,
      at.toISOString(),
      JSON.stringify({ ok: true, scheduled: false, from: report.from, to: report.to, platformOrders: report.platformOrders, matched: report.matched, missing: report.missingCount, different: report.differentCount, backfilled: report.backfilled }),
    ],
  );
}

/**
 * Claims the oldest due reconciliation (pending, a failed run due for its retry, or a run whose
 * lease ran out) and runs it. Returns false when none was due.
 */
export async function runNextReconciliation(deps: ServerDeps, commerce: CommerceConnectors): Promise<boolean> {
  const now = deps.clock();
  const skip = deps.db.kind === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
  const claimed = await deps.db.query<Row>(
    `UPDATE reconciliations r SET status = 'running', attempts = r.attempts + 1, started_at = $1, next_attempt_at = $2
     FROM (SELECT tenant_id, id FROM reconciliations WHERE status IN ('pending', 'running') AND next_attempt_at <= $1
           ORDER BY next_attempt_at LIMIT 1 ${skip}) d
     WHERE r.tenant_id = d.tenant_id AND r.id = d.id
     RETURNING r.tenant_id, r.id, r.connector_id, r.from_at, r.to_at, r.backfill, r.status, r.attempts, r.report, r.error_code, r.error, r.created_at, r.started_at, r.finished_at`,
    [now.toISOString(), new Date(now.getTime() + RECONCILE_LEASE_MS).toISOString()],
  );
  const row = claimed.rows[0];
  if (!row) return false;
  const key = [row.tenant_id, row.id];
  try {
    const c = await commerce.require(deps.db, row.tenant_id, row.connector_id);
    const report = await reconcileConnector(deps, commerce, c, { from: new Date(row.from_at), to: new Date(row.to_at), backfill: row.backfill });
    const done = deps.clock();
    await deps.db.tx(async (q) => {
      await q.query("UPDATE reconciliations SET status = 'done', report = $3, error_code = NULL, error = NULL, finished_at = $4 WHERE tenant_id = $1 AND id = $2", [
        ...key,
        JSON.stringify(report),
        done.toISOString(),
      ]);
      await noteReconciled(q, row.tenant_id, row.connector_id, report, done);
    });
  } catch (err) {
    const code = isDatongError(err) ? err.code : 'INTERNAL';
    const detail = isDatongError(err) ? (err.detail ?? err.title).slice(0, 500) : 'the reconciliation failed; the server log has the details';
    const retry = isDatongError(err) && err.transient && row.attempts < MAX_RECONCILE_ATTEMPTS;
    deps.logger.warn({ err, event: 'reconciliation.failed', reconciliationId: row.id, connectorId: row.connector_id, attempts: row.attempts, retry }, 'reconciliation failed');
    const at = deps.clock();
    // 30 s, 1, 2, 4 min … between runs of a platform that is down or throttling.
    const backoff = 30_000 * 2 ** (row.attempts - 1);
    await deps.db.query(
      `UPDATE reconciliations SET status = $3, error_code = $4, error = $5, next_attempt_at = $6, finished_at = $7 WHERE tenant_id = $1 AND id = $2`,
      [...key, retry ? 'pending' : 'failed', code, detail, new Date(at.getTime() + backoff).toISOString(), retry ? null : at.toISOString()],
    );
  }
  return true;
}
