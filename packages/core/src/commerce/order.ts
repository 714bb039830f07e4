import type { IdentifierType } from '../identity/types.js';

/**
 * Canonical commerce records: what every e-commerce connector's normalizer produces, in
 * Datong's words, whatever the platform (Youzan, Taobao/Tmall, Douyin shop, Meituan, imports).
 *
 * Amounts are exact decimal strings in the currency's major unit ("128.50"), never floats;
 * ids are strings (Douyin's 19-digit ids exceed 2^53). Times are ISO 8601 with offset.
 */

/** Order states, in the order they normally advance (see ORDER_STATUS_RANK). */
export const ORDER_STATUSES = ['created', 'paid', 'shipped', 'completed', 'cancelled', 'closed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * How far along an order is. A message never moves an order back: a late `paid` after
 * `shipped` changes nothing. `cancelled` and `closed` are final and rank above everything
 * but can only follow states below `completed` (a completed order is refunded, not cancelled).
 */
export const ORDER_STATUS_RANK: Readonly<Record<OrderStatus, number>> = {
  created: 0,
  paid: 1,
  shipped: 2,
  completed: 3,
  cancelled: 4,
  closed: 4,
};

export const REFUND_STATUSES = ['requested', 'approved', 'rejected', 'cancelled', 'refunded'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A buyer identifier as the platform gave it (normalized later by core's identity rules). */
export interface BuyerIdentifier {
  readonly type: IdentifierType;
  readonly value: string;
  /** Required for collection types (wechat_openid: the appId). */
  readonly collection?: string;
}

export interface CanonicalBuyer {
  readonly identifiers: readonly BuyerIdentifier[];
  readonly name?: string;
  /**
   * A phone as the platform shows it when it is masked or encrypted (e.g. "138****5678" or a
   * ciphertext). Kept as given, never used for identity, never guessed.
   */
  readonly maskedPhone?: string;
  /** Receiver address parts as given (may be masked by the platform). */
  readonly address?: Readonly<Record<string, string>>;
}

export interface CanonicalOrderLine {
  readonly lineId: string;
  readonly productId?: string;
  readonly skuId?: string;
  readonly title: string;
  readonly quantity: number;
  /** Price of one unit after line-level discounts, decimal string. */
  readonly unitPrice: string;
  /** What the buyer pays for the line, decimal string. */
  readonly amount: string;
}

export interface CanonicalPromotion {
  readonly id?: string;
  readonly name: string;
  /** Discount given, decimal string. */
  readonly amount: string;
  readonly kind?: 'coupon' | 'promotion' | 'points' | 'other';
}

/** Where the sale came from, when the platform says (live room, short video, distributor…). */
export interface ChannelAttribution {
  readonly channel?: string;
  readonly liveRoomId?: string;
  readonly anchorId?: string;
  readonly videoId?: string;
  readonly distributorId?: string;
  readonly storeId?: string;
}

export interface CanonicalOrder {
  readonly platform: string;
  readonly shopId: string;
  readonly orderId: string;
  readonly status: OrderStatus;
  /** When the platform says the order reached `status` (its own timestamp). */
  readonly statusAt: string;
  /**
   * The platform's own ordering key for this order's updates when it has one (a version,
   * an update time in ms as a decimal string); compared numerically when both are digits,
   * else by `statusAt`. Messages with an older key than the stored one change nothing.
   */
  readonly version?: string;
  readonly currency: string;
  /** What the buyer pays in total, decimal string. */
  readonly totalAmount: string;
  readonly discountAmount?: string;
  readonly shippingAmount?: string;
  readonly createdAt: string;
  readonly paidAt?: string;
  readonly buyer: CanonicalBuyer;
  readonly lines: readonly CanonicalOrderLine[];
  readonly promotions?: readonly CanonicalPromotion[];
  readonly attribution?: ChannelAttribution;
}

export interface CanonicalRefund {
  readonly platform: string;
  readonly shopId: string;
  readonly orderId: string;
  readonly refundId: string;
  readonly status: RefundStatus;
  readonly statusAt: string;
  readonly version?: string;
  readonly currency: string;
  /** Refunded (or requested) amount, decimal string. */
  readonly amount: string;
  readonly reason?: string;
  /** Identifiers of the buyer when the refund message carries them. */
  readonly buyer?: CanonicalBuyer;
}

/** A member (shop membership) event: joined, level changed, points. */
export interface CanonicalMember {
  readonly platform: string;
  readonly shopId: string;
  readonly buyer: CanonicalBuyer;
  readonly event: 'joined' | 'updated' | 'left';
  readonly level?: string;
  readonly points?: number;
  readonly statusAt: string;
}

/** What a normalizer returns for one platform message. */
export type CanonicalRecord =
  | { readonly kind: 'order'; readonly order: CanonicalOrder }
  | { readonly kind: 'refund'; readonly refund: CanonicalRefund }
  | { readonly kind: 'member'; readonly member: CanonicalMember }
  /** Acknowledged and logged, nothing to store (test pings, message types Datong does not use). */
  | { readonly kind: 'ignored'; readonly reason: string };

/** True when `next` may replace `stored` (forward-only by the platform's own clock/version). */
export function orderUpdateApplies(
  stored: { readonly status: OrderStatus; readonly statusAt: string; readonly version?: string | undefined },
  next: { readonly status: OrderStatus; readonly statusAt: string; readonly version?: string | undefined },
): boolean {
  const rs = ORDER_STATUS_RANK[stored.status];
  const rn = ORDER_STATUS_RANK[next.status];
  // Final states stay final; a completed order is never cancelled/closed by a late message.
  if (rs === 4) return false;
  if (stored.status === 'completed' && rn === 4) return false;
  if (rn < rs) return false;
  if (rn > rs) return true;
  // Same state: a newer version/time may carry updated details (address, lines).
  const cmp = compareVersions(stored, next);
  return cmp < 0;
}

/** <0 when `a` is older than `b`, 0 when equal, >0 when newer. */
export function compareVersions(
  a: { readonly statusAt: string; readonly version?: string | undefined },
  b: { readonly statusAt: string; readonly version?: string | undefined },
): number {
  if (a.version !== undefined && b.version !== undefined && /^\d+$/.test(a.version) && /^\d+$/.test(b.version)) {
    const x = BigInt(a.version);
    const y = BigInt(b.version);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = Date.parse(a.statusAt);
  const y = Date.parse(b.statusAt);
  return x < y ? -1 : x > y ? 1 : 0;
}
