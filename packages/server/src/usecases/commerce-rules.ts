import { compareVersions, ORDER_COMPLETED, ORDER_STATUS_RANK, type OrderStatus, type RefundStatus } from '@datong/core';

export { ORDER_COMPLETED, ORDER_REFUNDED } from '@datong/core';

/**
 * Which Segment e-commerce events an applied order or refund update writes
 * (https://segment.com/docs/connections/spec/ecommerce/v2/). Pure.
 */

export const ORDER_SHIPPED = 'Order Shipped';
export const ORDER_CANCELLED = 'Order Cancelled';

/** Paid, on its way or received: the sale counts (Segment's `Order Completed` is the purchase). */
export function isPaidStatus(status: OrderStatus): boolean {
  return status === 'paid' || status === 'shipped' || status === 'completed';
}

function isFinal(status: OrderStatus): boolean {
  return ORDER_STATUS_RANK[status] === 4;
}

/**
 * The track events of an order update that applies (forward-only already checked):
 * `Order Completed` the first time the order is seen paid or beyond (whichever message says so
 * first, so `completed` before `paid` counts once); `Order Shipped` on entering `shipped`;
 * `Order Cancelled` on entering `cancelled` or `closed`.
 */
export function orderTransitionEvents(from: OrderStatus | null, to: OrderStatus, completedAlready: boolean): string[] {
  const out: string[] = [];
  if (!completedAlready && isPaidStatus(to)) out.push(ORDER_COMPLETED);
  if (to === 'shipped' && from !== 'shipped') out.push(ORDER_SHIPPED);
  if (isFinal(to) && (from === null || !isFinal(from))) out.push(ORDER_CANCELLED);
  return out;
}

/**
 * How far along a refund is. `rejected`, `cancelled` and `refunded` are final: a refund
 * request that was turned down and asked again is a new refund on every platform Datong knows.
 */
export const REFUND_STATUS_RANK: Readonly<Record<RefundStatus, number>> = {
  requested: 0,
  approved: 1,
  rejected: 2,
  cancelled: 2,
  refunded: 2,
};

/** True when `next` may replace `stored`: forward only, and within a state only a newer version. */
export function refundUpdateApplies(
  stored: { readonly status: RefundStatus; readonly statusAt: string; readonly version?: string | undefined },
  next: { readonly status: RefundStatus; readonly statusAt: string; readonly version?: string | undefined },
): boolean {
  const rs = REFUND_STATUS_RANK[stored.status];
  const rn = REFUND_STATUS_RANK[next.status];
  if (rs === 2) return stored.status === next.status && compareVersions(stored, next) < 0;
  if (rn !== rs) return rn > rs;
  return compareVersions(stored, next) < 0;
}

/**
 * The inbox messageId of a Segment message derived from a platform order: the same transition
 * always gets the same id, so a replayed or re-polled message is deduplicated by the inbox.
 * Holds only platform ids (order ids are not personal data).
 */
export function derivedMessageId(platform: string, shopId: string, orderId: string, what: string): string {
  return `dt:${platform}:${shopId}:${orderId}:${what}`;
}
