import { DatongError, orderUpdateApplies, toMinorUnits, type CanonicalOrder } from '@datong/core';
import type { CommerceConnectors, LoadedConnector } from '../connectors/commerce.js';
import { fetchedOrderMessageId, storeConnectorMessages } from './connector-messages.js';
import type { ServerDeps } from './context.js';

/**
 * Reconciliation: the platform's orders modified in a window, compared with Datong's. What is
 * missing or different is reported and, with `backfill`, stored in the message log (channel
 * `backfill`) to go through the same forward-only upsert as pushes: a backfill never moves an
 * order back and never duplicates an event.
 */

export interface ReconcileDifference {
  readonly orderId: string;
  readonly shopId: string;
  readonly field: 'status' | 'total' | 'currency';
  readonly platform: string;
  readonly datong: string;
}

export interface ReconcileReport {
  readonly from: string;
  readonly to: string;
  readonly platformOrders: number;
  readonly matched: number;
  readonly missing: string[];
  readonly different: ReconcileDifference[];
  readonly backfilled: number;
  /** True when `missing` or `different` were cut at REPORT_LIMIT entries (the counts stay exact). */
  readonly truncated: boolean;
  readonly missingCount: number;
  readonly differentCount: number;
}

/** Longest window one reconciliation may cover. */
export const MAX_RECONCILE_DAYS = 31;
/** The order API is asked one day at a time (platforms cap their modified-time windows). */
const CHUNK_MS = 86_400_000;
const MAX_PAGES_PER_CHUNK = 1_000;
const REPORT_LIMIT = 1_000;

/** A reconciliation window: `from` before `to`, at most MAX_RECONCILE_DAYS long. */
export function checkReconcileWindow(from: Date, to: Date): void {
  if (!(from.getTime() < to.getTime())) throw new DatongError('VALIDATION_FAILED', '`from` must be before `to`');
  if (to.getTime() - from.getTime() > MAX_RECONCILE_DAYS * 86_400_000) {
    throw new DatongError('VALIDATION_FAILED', `A reconciliation covers at most ${MAX_RECONCILE_DAYS} days; split the window`);
  }
}

/** Every order the platform reports modified in [from, to), the furthest state of each. */
export async function fetchPlatformOrders(commerce: CommerceConnectors, c: LoadedConnector, from: Date, to: Date): Promise<CanonicalOrder[]> {
  const { client } = commerce.client(c);
  const byKey = new Map<string, CanonicalOrder>();
  for (let start = from.getTime(); start < to.getTime(); start += CHUNK_MS) {
    const end = new Date(Math.min(start + CHUNK_MS, to.getTime()));
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES_PER_CHUNK; page++) {
      const p = await client.listOrders({ from: new Date(start), to: end, ...(cursor !== undefined ? { cursor } : {}) });
      for (const o of p.orders) {
        const key = `${o.shopId}\u0000${o.orderId}`;
        const prev = byKey.get(key);
        if (!prev || orderUpdateApplies(prev, o)) byKey.set(key, o);
      }
      if (p.nextCursor === undefined) break;
      cursor = p.nextCursor;
    }
  }
  return [...byKey.values()];
}

function sameAmount(a: string, b: string, currency: string): boolean {
  const x = toMinorUnits(a, currency);
  const y = toMinorUnits(b, currency);
  return x !== undefined && y !== undefined ? x === y : a.trim() === b.trim();
}

export async function reconcileConnector(
  deps: ServerDeps,
  commerce: CommerceConnectors,
  c: LoadedConnector,
  window: { readonly from: Date; readonly to: Date; readonly backfill: boolean },
): Promise<ReconcileReport> {
  const { from, to } = window;
  checkReconcileWindow(from, to);
  const orders = await fetchPlatformOrders(commerce, c, from, to);
  const stored = new Map<string, { status: CanonicalOrder['status']; status_at: Date | string; version: string | null; total: string; currency: string }>();
  for (let i = 0; i < orders.length; i += 1_000) {
    const chunk = orders.slice(i, i + 1_000);
    const r = await deps.db.query<{ shop_id: string; order_id: string; status: CanonicalOrder['status']; status_at: Date | string; version: string | null; total: string; currency: string }>(
      `SELECT o.shop_id, o.order_id, o.status, o.status_at, o.version, o.total, o.currency FROM orders o
       JOIN unnest($3::text[], $4::text[]) AS k(shop_id, order_id) ON o.shop_id = k.shop_id AND o.order_id = k.order_id
       WHERE o.tenant_id = $1 AND o.platform = $2`,
      [c.tenantId, c.platform, chunk.map((o) => o.shopId), chunk.map((o) => o.orderId)],
    );
    for (const row of r.rows) stored.set(`${row.shop_id}\u0000${row.order_id}`, row);
  }
  const missing: CanonicalOrder[] = [];
  const different: ReconcileDifference[] = [];
  const differing: CanonicalOrder[] = [];
  let matched = 0;
  for (const o of orders) {
    const s = stored.get(`${o.shopId}\u0000${o.orderId}`);
    if (!s) {
      missing.push(o);
      continue;
    }
    const diffs: ReconcileDifference[] = [];
    if (s.status !== o.status) diffs.push({ orderId: o.orderId, shopId: o.shopId, field: 'status', platform: o.status, datong: s.status });
    if (s.currency !== o.currency) diffs.push({ orderId: o.orderId, shopId: o.shopId, field: 'currency', platform: o.currency, datong: s.currency });
    else if (!sameAmount(o.totalAmount, s.total, o.currency)) diffs.push({ orderId: o.orderId, shopId: o.shopId, field: 'total', platform: o.totalAmount, datong: s.total });
    if (diffs.length === 0) matched++;
    else {
      different.push(...diffs);
      differing.push(o);
    }
  }
  let backfilled = 0;
  if (window.backfill && (missing.length > 0 || differing.length > 0)) {
    const now = deps.clock();
    const toStore = [...missing, ...differing];
    for (let i = 0; i < toStore.length; i += 500) {
      backfilled += await storeConnectorMessages(
        deps.db,
        deps.keyring,
        c.tenantId,
        c.id,
        toStore.slice(i, i + 500).map((o) => {
          const messageId = fetchedOrderMessageId('backfill', o);
          return { messageId, type: 'order.backfill', channel: 'backfill' as const, verification: 'valid' as const, occurredAt: o.statusAt, payload: { messageId, type: 'order.backfill', records: [{ kind: 'order' as const, order: o }] } };
        }),
        now,
      );
    }
    if (backfilled > 0) deps.kick();
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    platformOrders: orders.length,
    matched,
    missing: missing.slice(0, REPORT_LIMIT).map((o) => o.orderId),
    different: different.slice(0, REPORT_LIMIT),
    backfilled,
    truncated: missing.length > REPORT_LIMIT || different.length > REPORT_LIMIT,
    missingCount: missing.length,
    differentCount: different.length,
  };
}
