import { isDatongError } from '@datong/core';
import type { CommerceConnectors } from '../connectors/commerce.js';
import { fetchedOrderMessageId, storeConnectorMessages } from '../usecases/connector-messages.js';
import type { ServerDeps } from '../usecases/context.js';

/** Claims per step at most this many orders (the loop goes on at once while there are more). */
export const DETAILS_PER_STEP = 50;
/** Platform calls in flight at once. */
const FETCH_CONCURRENCY = 5;
/** After this many attempts (30 s, 2 min, 8 min, … then hourly) an order waits for polling or reconciliation to bring its details. */
const MAX_DETAIL_ATTEMPTS = 12;

export interface DetailsResult {
  claimed: number;
  fetched: number;
  failed: number;
}

/**
 * Orders first known from status-only messages (`orders.details_known = false`: no amount,
 * lines or buyer — Douyin shop pushes carry none) get their details from the platform's order
 * API. The fetched order is stored as a platform message and applied like any other, so the
 * forward-only rule and deduplication hold; its Order Completed event then carries the real
 * amount. Runs outside any transaction: the platform call never holds a database connection.
 * A platform that is down or throttling is asked again later with backoff; nothing is lost.
 */
export async function fetchMissingOrderDetails(deps: ServerDeps, commerce: CommerceConnectors, limit = DETAILS_PER_STEP): Promise<DetailsResult> {
  const now = deps.clock();
  const lock = deps.db.kind === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
  // Claim by moving the next attempt time first, so another process does not fetch the same orders.
  const due = await deps.db.query<{ tenant_id: string; connector_id: string; order_id: string; details_attempts: number }>(
    `UPDATE orders o SET details_attempts = o.details_attempts + 1,
            details_attempt_at = $1::timestamptz + make_interval(secs => least(3600, 30 * power(4, o.details_attempts)))
     FROM (SELECT tenant_id, platform, shop_id, order_id FROM orders
           WHERE NOT details_known AND details_attempts < $3 AND (details_attempt_at IS NULL OR details_attempt_at <= $1)
           ORDER BY details_attempt_at NULLS FIRST LIMIT $2 ${lock}) d
     WHERE o.tenant_id = d.tenant_id AND o.platform = d.platform AND o.shop_id = d.shop_id AND o.order_id = d.order_id
     RETURNING o.tenant_id, o.connector_id, o.order_id, o.details_attempts`,
    [now.toISOString(), limit, MAX_DETAIL_ATTEMPTS],
  );
  const result: DetailsResult = { claimed: due.rows.length, fetched: 0, failed: 0 };
  // A few calls at a time; each connector's token bucket still paces its own platform.
  const queue = [...due.rows];
  const worker = async (): Promise<void> => {
    for (let row = queue.shift(); row; row = queue.shift()) await fetchOne(row);
  };
  const fetchOne = async (row: { tenant_id: string; connector_id: string; order_id: string; details_attempts: number }): Promise<void> => {
    const c = await commerce.load(deps.db, row.tenant_id, row.connector_id);
    if (!c || !c.enabled) return;
    const handle = commerce.client(c);
    if (!handle.client.getOrder) return;
    try {
      const order = await handle.client.getOrder(row.order_id);
      if (!order) return;
      const messageId = fetchedOrderMessageId('poll', order);
      await deps.db.tx((q) =>
        storeConnectorMessages(
          q,
          deps.keyring,
          c.tenantId,
          c.id,
          [
            {
              messageId,
              type: 'order.fetched',
              channel: 'poll',
              verification: 'valid',
              occurredAt: order.statusAt,
              payload: { messageId, type: 'order.fetched', records: [{ kind: 'order', order }] },
            },
          ],
          now,
        ),
      );
      result.fetched++;
    } catch (err) {
      result.failed++;
      if (isDatongError(err) && err.code === 'PLATFORM_RATE_LIMITED') {
        const ms = Number(err.meta?.['retryAfter']);
        await handle.throttled(Number.isFinite(ms) && ms > 0 ? ms : 1_000);
      }
      deps.logger.warn({ err, event: 'commerce.order_details_failed', connectorId: c.id, attempts: row.details_attempts }, 'fetching an order from the platform failed; retried later');
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, worker));
  if (result.fetched > 0) deps.kick();
  return result;
}
