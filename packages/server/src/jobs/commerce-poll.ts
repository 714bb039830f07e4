import { isDatongError, isTransient } from '@datong/core';
import type { CommerceConnectors, LoadedConnector } from '../connectors/commerce.js';
import { lastScheduledAt } from '../connectors/settings.js';
import { fetchedOrderMessageId, fromPlatformMessage, storeConnectorMessages } from '../usecases/connector-messages.js';
import { ensureState, noteValidPush, PUSH_FAILURES_BEFORE_POLLING, type ConnectorStateRow } from '../usecases/connector-state.js';
import type { ServerDeps } from '../usecases/context.js';
import { reconcileConnector } from '../usecases/reconcile.js';

/**
 * The channels of e-commerce connectors besides their pushes, one step per runner tick:
 *
 * - Fallback: a connector with no valid push for `fallbackAfterMs`, or whose pushes keep
 *   failing verification, switches to `polling` and reads the platform's order API from a
 *   watermark; it switches back when a valid push arrives (the webhook path does that), after
 *   one last catch-up poll up to that moment. Polled orders are stored in the message log and
 *   go through the same forward-only upsert as pushes, so the two channels never duplicate.
 * - Pull channels (Taobao TMC): pulled continuously, each batch stored before it is confirmed.
 * - Daily reconciliation at `settings.reconcileDaily`, with backfill.
 *
 * A platform that throttles or is down (transient errors) makes the work wait with backoff;
 * the watermark only moves after a window was read completely, so nothing is lost.
 * Claims are conditional UPDATEs, so several worker processes never poll one connector twice.
 */

/** Polling restarts this long before the last valid push: the overlap is deduplicated. */
const POLL_OVERLAP_MS = 10 * 60_000;
/** One poll reads at most this window; a longer backlog is read over the next steps. */
const MAX_POLL_WINDOW_MS = 86_400_000;
const MAX_PAGES_PER_STEP = 50;
/** A claimed poll or pull not finished within this long may be taken by another process. */
const LEASE_MS = 5 * 60_000;
const PULL_BATCH = 100;
const MAX_PULL_BATCHES_PER_STEP = 10;
const RECONCILE_RETRY_MS = 10 * 60_000;

export interface CommercePollResult {
  connectors: number;
  switchedToPolling: string[];
  /** Orders fetched from order APIs and newly stored. */
  polled: number;
  /** Messages pulled and newly stored. */
  pulled: number;
  reconciled: number;
  errors: number;
}

const ms = (v: Date | string | null | undefined): number | null => (v === null || v === undefined ? null : new Date(v).getTime());

/** Backoff of a failing platform API: 5 s, 10 s, 20 s… up to 10 minutes. */
export function platformBackoffMs(failures: number): number {
  return Math.min(600_000, 5_000 * 2 ** Math.max(0, failures - 1));
}

function describe(err: unknown): string {
  return isDatongError(err) ? `${err.code}: ${err.detail ?? err.title}`.slice(0, 500) : 'unexpected error (see the server log)';
}

/** Retry-After of a throttle answer, when the platform sent one (seconds). */
function retryAfterMs(err: unknown): number | null {
  const v = isDatongError(err) ? err.meta?.['retryAfter'] : undefined;
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n * 1000 : null;
}

export async function commercePollStep(deps: ServerDeps, commerce: CommerceConnectors): Promise<CommercePollResult> {
  const result: CommercePollResult = { connectors: 0, switchedToPolling: [], polled: 0, pulled: 0, reconciled: 0, errors: 0 };
  const platforms = commerce.registry.platforms();
  if (platforms.length === 0) return result;
  const rows = await deps.db.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM connectors WHERE enabled AND platform = ANY($1::text[]) ORDER BY tenant_id, id', [platforms]);
  for (const row of rows.rows) {
    result.connectors++;
    try {
      const c = await commerce.load(deps.db, row.tenant_id, row.id);
      if (!c || !c.enabled) continue;
      await stepConnector(deps, commerce, c, result);
    } catch (err) {
      result.errors++;
      deps.logger.error({ err, event: 'commerce.step_failed', connectorId: row.id }, 'connector channel step failed');
    }
  }
  return result;
}

async function stepConnector(deps: ServerDeps, commerce: CommerceConnectors, c: LoadedConnector, result: CommercePollResult): Promise<void> {
  const now = deps.clock();
  let st = await ensureState(deps.db, c.tenantId, c.id, c.createdAt);
  st = await decideChannel(deps, c, st, now, result);
  const handle = commerce.client(c);
  if (handle.client.pullMessages) await pull(deps, commerce, c, st, now, result);
  await poll(deps, commerce, c, st, now, result);
  await dailyReconcile(deps, commerce, c, st, now, result);
}

async function decideChannel(deps: ServerDeps, c: LoadedConnector, st: ConnectorStateRow, now: Date, result: CommercePollResult): Promise<ConnectorStateRow> {
  if (st.channel !== 'push') return st;
  const lastOk = ms(st.last_valid_push_at) ?? ms(st.channel_since) ?? now.getTime();
  const silent = now.getTime() - lastOk;
  let reason: string | null = null;
  if (st.push_failures >= PUSH_FAILURES_BEFORE_POLLING) reason = `${st.push_failures} pushes in a row were rejected (${st.last_push_error ?? 'verification failed'})`;
  else if (silent >= c.settings.fallbackAfterMs) reason = `no valid push for ${Math.round(silent / 1000)} s`;
  if (!reason) return st;
  const basis = new Date(lastOk - POLL_OVERLAP_MS).toISOString();
  const r = await deps.db.query<ConnectorStateRow>(
    `UPDATE connector_state SET channel = 'polling', channel_since = $3, channel_reason = $4,
       poll_watermark = GREATEST(coalesce(poll_watermark, $5::timestamptz), $5::timestamptz), poll_window_to = NULL, poll_cursor = NULL,
       next_poll_at = $3, poll_failures = 0, updated_at = $3
     WHERE tenant_id = $1 AND connector_id = $2 AND channel = 'push' RETURNING *`,
    [c.tenantId, c.id, now.toISOString(), reason, basis],
  );
  const updated = r.rows[0];
  if (!updated) return st;
  result.switchedToPolling.push(c.id);
  deps.logger.warn({ event: 'connector.channel_switched', connectorId: c.id, platform: c.platform, channel: 'polling', reason }, 'connector falls back to polling');
  return updated;
}

async function pull(deps: ServerDeps, commerce: CommerceConnectors, c: LoadedConnector, st: ConnectorStateRow, now: Date, result: CommercePollResult): Promise<void> {
  const every = st.pull_failures > 0 ? platformBackoffMs(st.pull_failures) : Math.min(5_000, c.settings.pollIntervalMs);
  const claim = await deps.db.query(
    `UPDATE connector_state SET last_pull_at = $3, updated_at = $3 WHERE tenant_id = $1 AND connector_id = $2 AND (last_pull_at IS NULL OR last_pull_at <= $4::timestamptz)`,
    [c.tenantId, c.id, now.toISOString(), new Date(now.getTime() - every).toISOString()],
  );
  if (claim.affectedRows === 0) return;
  const handle = commerce.client(c);
  const pullMessages = handle.client.pullMessages?.bind(handle.client);
  if (!pullMessages) return;
  try {
    for (let i = 0; i < MAX_PULL_BATCHES_PER_STEP; i++) {
      const batch = await pullMessages(PULL_BATCH);
      if (batch.messages.length > 0) {
        await deps.db.tx(async (q) => {
          result.pulled += await storeConnectorMessages(
            q,
            deps.keyring,
            c.tenantId,
            c.id,
            batch.messages.map((m) => fromPlatformMessage(m, 'pull')),
            now,
          );
          await noteValidPush(q, c.tenantId, c.id, now);
        });
        deps.kick();
      }
      // Stored (committed) first, confirmed second: a crash in between means a redelivery, deduplicated.
      await batch.confirm();
      if (batch.messages.length < PULL_BATCH) break;
    }
    if (st.pull_failures > 0) {
      await deps.db.query('UPDATE connector_state SET pull_failures = 0, last_pull_error = NULL, updated_at = $3 WHERE tenant_id = $1 AND connector_id = $2', [
        c.tenantId,
        c.id,
        now.toISOString(),
      ]);
    }
  } catch (err) {
    await noteClientFailure(deps, commerce, c, err, 'pull');
    await deps.db.query(
      'UPDATE connector_state SET pull_failures = pull_failures + 1, last_pull_error = $3, updated_at = $4 WHERE tenant_id = $1 AND connector_id = $2',
      [c.tenantId, c.id, describe(err), now.toISOString()],
    );
  }
}

async function noteClientFailure(deps: ServerDeps, commerce: CommerceConnectors, c: LoadedConnector, err: unknown, what: string): Promise<void> {
  if (isDatongError(err) && err.code === 'PLATFORM_RATE_LIMITED') await commerce.client(c).throttled(retryAfterMs(err) ?? 1_000);
  const fields = { err, event: `commerce.${what}_failed`, connectorId: c.id, platform: c.platform };
  if (isTransient(err)) deps.logger.warn(fields, `${what} failed; retried with backoff`);
  else deps.logger.error(fields, `${what} failed; retried with backoff`);
}

async function poll(deps: ServerDeps, commerce: CommerceConnectors, c: LoadedConnector, st: ConnectorStateRow, now: Date, result: CommercePollResult): Promise<void> {
  const watermark = ms(st.poll_watermark);
  // Polling: up to now. Back on push: one catch-up up to the moment pushes resumed.
  const target = st.channel === 'polling' ? now.getTime() : watermark !== null && watermark < (ms(st.channel_since) ?? 0) ? (ms(st.channel_since) ?? 0) : null;
  if (target === null || watermark === null) return;
  const due = ms(st.next_poll_at);
  if (due !== null && due > now.getTime()) return;
  const claim = await deps.db.query(
    `UPDATE connector_state SET next_poll_at = $3, updated_at = $4 WHERE tenant_id = $1 AND connector_id = $2 AND (next_poll_at IS NULL OR next_poll_at <= $4::timestamptz)`,
    [c.tenantId, c.id, new Date(now.getTime() + LEASE_MS).toISOString(), now.toISOString()],
  );
  if (claim.affectedRows === 0) return;
  const from = new Date(watermark);
  const to = new Date(ms(st.poll_window_to) ?? Math.min(target, watermark + MAX_POLL_WINDOW_MS));
  const key = [c.tenantId, c.id];
  if (to.getTime() <= from.getTime()) {
    await deps.db.query('UPDATE connector_state SET next_poll_at = $3, last_poll_at = $4 WHERE tenant_id = $1 AND connector_id = $2', [
      ...key,
      new Date(now.getTime() + c.settings.pollIntervalMs).toISOString(),
      now.toISOString(),
    ]);
    return;
  }
  const { client } = commerce.client(c);
  let cursor = st.poll_cursor ?? undefined;
  try {
    let finished = false;
    for (let page = 0; page < MAX_PAGES_PER_STEP; page++) {
      const p = await client.listOrders({ from, to, ...(cursor !== undefined ? { cursor } : {}) });
      await deps.db.tx(async (q) => {
        result.polled += await storeConnectorMessages(
          q,
          deps.keyring,
          c.tenantId,
          c.id,
          p.orders.map((o) => {
            const messageId = fetchedOrderMessageId('poll', o);
            return { messageId, type: 'order.polled', channel: 'poll' as const, verification: 'valid' as const, occurredAt: o.statusAt, payload: { messageId, type: 'order.polled', records: [{ kind: 'order' as const, order: o }] } };
          }),
          now,
        );
        // Where to resume if the next page fails: this window, after this page.
        await q.query('UPDATE connector_state SET poll_window_to = $3, poll_cursor = $4 WHERE tenant_id = $1 AND connector_id = $2', [...key, to.toISOString(), p.nextCursor ?? null]);
      });
      if (p.orders.length > 0) deps.kick();
      if (p.nextCursor === undefined) {
        finished = true;
        break;
      }
      cursor = p.nextCursor;
    }
    const more = !finished || to.getTime() < target;
    await deps.db.query(
      `UPDATE connector_state SET ${finished ? 'poll_watermark = $5, poll_window_to = NULL, poll_cursor = NULL,' : ''}
         poll_failures = 0, last_poll_error = NULL, last_poll_at = $3, next_poll_at = $4, updated_at = $3
       WHERE tenant_id = $1 AND connector_id = $2`,
      [...key, now.toISOString(), new Date(more ? now.getTime() : now.getTime() + c.settings.pollIntervalMs).toISOString(), ...(finished ? [to.toISOString()] : [])],
    );
  } catch (err) {
    await noteClientFailure(deps, commerce, c, err, 'poll');
    const failures = st.poll_failures + 1;
    await deps.db.query(
      'UPDATE connector_state SET poll_failures = $3, last_poll_error = $4, last_poll_at = $5, next_poll_at = $6, updated_at = $5 WHERE tenant_id = $1 AND connector_id = $2',
      [...key, failures, describe(err), now.toISOString(), new Date(now.getTime() + platformBackoffMs(failures)).toISOString()],
    );
  }
}

async function dailyReconcile(deps: ServerDeps, commerce: CommerceConnectors, c: LoadedConnector, st: ConnectorStateRow, now: Date, result: CommercePollResult): Promise<void> {
  const at = c.settings.reconcileDaily;
  if (!at) return;
  const scheduled = lastScheduledAt(now, at, c.settings.timezone);
  if (scheduled.getTime() < c.createdAt.getTime()) return;
  const last = ms(st.last_reconcile_at);
  if (last !== null && last >= scheduled.getTime()) return;
  const retryAt = st.last_reconcile?.['retryAt'];
  if (typeof retryAt === 'string' && Date.parse(retryAt) > now.getTime()) return;
  const claim = await deps.db.query(
    `UPDATE connector_state SET last_reconcile_at = $3, updated_at = $3 WHERE tenant_id = $1 AND connector_id = $2 AND (last_reconcile_at IS NULL OR last_reconcile_at < $4::timestamptz)`,
    [c.tenantId, c.id, now.toISOString(), scheduled.toISOString()],
  );
  if (claim.affectedRows === 0) return;
  // The day before the scheduled time, with an hour of overlap (late modifications, clock skew).
  const from = new Date(scheduled.getTime() - 25 * 3_600_000);
  try {
    const report = await reconcileConnector(deps, commerce, c, { from, to: scheduled, backfill: true });
    const summary = {
      ok: true,
      scheduled: true,
      at: now.toISOString(),
      from: report.from,
      to: report.to,
      platformOrders: report.platformOrders,
      matched: report.matched,
      missing: report.missingCount,
      different: report.differentCount,
      backfilled: report.backfilled,
    };
    await deps.db.query('UPDATE connector_state SET last_reconcile = $3 WHERE tenant_id = $1 AND connector_id = $2', [c.tenantId, c.id, JSON.stringify(summary)]);
    result.reconciled++;
  } catch (err) {
    await noteClientFailure(deps, commerce, c, err, 'reconcile');
    const summary = { ok: false, scheduled: true, at: now.toISOString(), error: describe(err), retryAt: new Date(now.getTime() + RECONCILE_RETRY_MS).toISOString() };
    // Still due: the run is retried after RECONCILE_RETRY_MS.
    await deps.db.query('UPDATE connector_state SET last_reconcile_at = $3, last_reconcile = $4 WHERE tenant_id = $1 AND connector_id = $2', [
      c.tenantId,
      c.id,
      st.last_reconcile_at === null ? null : new Date(st.last_reconcile_at).toISOString(),
      JSON.stringify(summary),
    ]);
  }
}
