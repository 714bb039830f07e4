import {
  DatongError,
  type BuyerIdentifier,
  type CanonicalBuyer,
  type CanonicalOrder,
  type CanonicalOrderLine,
  type CanonicalPromotion,
  type CanonicalRecord,
  type CanonicalRefund,
  type OrderStatus,
  type RefundStatus,
} from '@datong/core';
import type { NormalizeContext, PlatformMessage } from '../kit/connector.js';
import type { MeituanConfig } from './config.js';
import { isJsonObject, parseJsonLossless, type LosslessJson } from './json.js';
import { classifyMeituanPush } from './messages.js';
import {
  MEITUAN_PUSH_TYPES,
  type MeituanOrderDetailItem,
  type MeituanOrderExtra,
  type MeituanPushPayload,
  type MeituanPushType,
} from './payloads.js';
import { CURRENCY, fenOf, isoFromSeconds, present, yuan, yuanText } from './values.js';

/*
 * Meituan push → canonical records. Pure and deterministic: no I/O, no clock (times come from the
 * message), and unknown or malformed optional fields are skipped, never guessed.
 *
 * - shopId is the connector's store (config.appPoiCode) or, without one, the app (config.appId), the
 *   same for every record of an order: refund and cancel pushes do not name the store. The store
 *   that took the order (app_poi_code) is in attribution.storeId.
 * - Buyer: `recipient_phone` is the receiver's number as Meituan shows it (real, 138****5678 or a
 *   privacy number 13812345678_1234): kept in maskedPhone, never an identifier. `user_id` (开放平台
 *   用户id, when the app subscribes to it) is the one identifier: meituan_user_id.
 * - Cancel pushes (推送用户或客服取消订单) carry only order_id and the reason. The order record
 *   they produce is status-only: status `cancelled`, the push time, and no amounts or lines
 *   (totalAmount "0.00", lines []). A consumer must apply it as a status change of the stored
 *   order, not as new order contents.
 * - Full-refund pushes carry no amount (the whole order is refunded): their refund amount is "0.00"
 *   until the 推送退款状态 push brings the refunded money.
 */

const PLATFORM = 'meituan';

function messageInvalid(detail: string): DatongError {
  return new DatongError('MESSAGE_INVALID', `Meituan message: ${detail}`, { meta: { platform: PLATFORM } });
}

function payloadOf(message: PlatformMessage): MeituanPushPayload {
  const raw = message.payload;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw messageInvalid('payload is not an object');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
  }
  return out;
}

function isPushType(value: string): value is MeituanPushType {
  return (MEITUAN_PUSH_TYPES as readonly string[]).includes(value);
}

function requireOrderId(p: MeituanPushPayload): string {
  const id = present(p['order_id']) ?? present(p['wm_order_id_view']);
  if (id === undefined) throw messageInvalid('order_id is missing');
  return id;
}

function shopIdOf(config: MeituanConfig): string {
  return config.appPoiCode ?? config.appId;
}

/** Text of a lossless JSON value that is a scalar. */
function text(value: LosslessJson | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * A JSON list held in a form field. Some integrations receive JSON fields URL-encoded a second time
 * ("%5B%7B…"); such a value is decoded once more before parsing. Anything that is not a JSON list
 * of objects counts as absent.
 */
function jsonObjects(value: string | undefined): readonly Readonly<Record<string, string | undefined>>[] {
  let source = present(value);
  if (source === undefined) return [];
  if (source.startsWith('%')) {
    try {
      source = decodeURIComponent(source);
    } catch {
      return [];
    }
  }
  let parsed: LosslessJson;
  try {
    parsed = parseJsonLossless(source);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const list: Record<string, string | undefined>[] = [];
  for (const item of parsed as readonly LosslessJson[]) {
    if (!isJsonObject(item)) continue;
    const flat: Record<string, string | undefined> = {};
    for (const [key, v] of Object.entries(item)) flat[key] = text(v);
    list.push(flat);
  }
  return list;
}

const ORDER_STATUS: Readonly<Record<string, OrderStatus>> = {
  '1': 'created',
  '2': 'paid',
  '3': 'paid',
  '4': 'paid',
  '5': 'shipped',
  '6': 'shipped',
  '7': 'shipped',
  '8': 'completed',
  '9': 'cancelled',
};

const STATUS_OF_TYPE: Readonly<Partial<Record<MeituanPushType, OrderStatus>>> = {
  paid_order: 'paid',
  confirmed_order: 'paid',
  delivering_order: 'shipped',
  completed_order: 'completed',
  cancelled_order: 'cancelled',
};

function lineOf(item: Readonly<MeituanOrderDetailItem>, index: number): CanonicalOrderLine | undefined {
  const price = fenOf(item.price);
  const quantityText = present(item.quantity);
  if (price === undefined || quantityText === undefined || !/^\d{1,9}$/.test(quantityText)) return undefined;
  const quantity = Number(quantityText);
  const productId = present(item.app_food_code);
  const skuId = present(item.sku_id);
  return {
    lineId: String(index + 1),
    ...(productId === undefined ? {} : { productId }),
    ...(skuId === undefined ? {} : { skuId }),
    title: present(item.food_name) ?? productId ?? skuId ?? '',
    quantity,
    unitPrice: yuanText(price),
    // Exact: fen × an integer count. Packaging (box_price × box_num) is not part of the line; it is in total.
    amount: yuanText(price * BigInt(quantity)),
  };
}

// 优惠活动类型 that are coupons (券) in Meituan's extras type table; the others are promotions.
const COUPON_TYPES = new Set(['3', '9', '19', '101', '103', '105', '106', '111', '115', '117', '118', '124', '127', '304']);

function promotionOf(extra: Readonly<MeituanOrderExtra>): CanonicalPromotion | undefined {
  const amount = yuan(extra.reduce_fee);
  if (amount === undefined) return undefined; // "[{}]" is Meituan's "no discount"
  const type = present(extra.type);
  const id = present(extra.act_detail_id);
  return {
    ...(id === undefined || id === '0' ? {} : { id }),
    name: present(extra.remark) ?? (type === undefined ? 'Meituan discount' : `Meituan discount type ${type}`),
    amount,
    kind: type !== undefined && COUPON_TYPES.has(type) ? 'coupon' : 'promotion',
  };
}

function buyerOf(p: MeituanPushPayload): CanonicalBuyer {
  const identifiers: BuyerIdentifier[] = [];
  const userId = present(p['user_id']);
  if (userId !== undefined && userId !== '0') identifiers.push({ type: 'meituan_user_id', value: userId });
  const name = present(p['recipient_name']);
  const maskedPhone = present(p['recipient_phone']);
  const address = present(p['recipient_address']);
  return {
    identifiers,
    ...(name === undefined ? {} : { name }),
    ...(maskedPhone === undefined ? {} : { maskedPhone }),
    ...(address === undefined ? {} : { address: { recipient_address: address } }),
  };
}

function digits(value: string | undefined): string | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value) && value !== '0' ? value : undefined;
}

/**
 * One Meituan order (push parameters or getOrderDetail data, as text) → CanonicalOrder. Throws
 * MESSAGE_INVALID when order_id, total or every time is missing.
 */
export function meituanOrderFromParams(
  p: MeituanPushPayload,
  config: MeituanConfig,
  type: MeituanPushType = classifyMeituanPush(p),
): CanonicalOrder {
  const orderId = requireOrderId(p);
  const total = yuan(p['total']);
  if (total === undefined) throw messageInvalid(`order ${orderId} has no valid total`);
  const status = ORDER_STATUS[p['status'] ?? ''] ?? STATUS_OF_TYPE[type] ?? 'paid';
  const statusAt = isoFromSeconds(p['utime']) ?? isoFromSeconds(p['timestamp']) ?? isoFromSeconds(p['ctime']);
  if (statusAt === undefined) throw messageInvalid(`order ${orderId} has no utime, timestamp or ctime`);
  const createdAt = isoFromSeconds(p['ctime']) ?? statusAt;
  const paidAt = isoFromSeconds(p['order_send_time']);
  const version = digits(p['utime']);

  const lines: CanonicalOrderLine[] = [];
  jsonObjects(p['detail']).forEach((item, index) => {
    const line = lineOf(item, index);
    if (line !== undefined) lines.push(line);
  });
  const promotions: CanonicalPromotion[] = [];
  for (const extra of jsonObjects(p['extras'])) {
    const promotion = promotionOf(extra);
    if (promotion !== undefined) promotions.push(promotion);
  }
  let discountFen: bigint | undefined;
  for (const promotion of promotions) discountFen = (discountFen ?? 0n) + (fenOf(promotion.amount) ?? 0n);
  const shipping = yuan(p['shipping_fee']);
  const storeId = present(p['app_poi_code']);

  return {
    platform: PLATFORM,
    shopId: shopIdOf(config),
    orderId,
    status,
    statusAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    totalAmount: total,
    ...(discountFen === undefined ? {} : { discountAmount: yuanText(discountFen) }),
    ...(shipping === undefined ? {} : { shippingAmount: shipping }),
    createdAt,
    ...(paidAt === undefined ? {} : { paidAt }),
    buyer: buyerOf(p),
    lines,
    ...(promotions.length === 0 ? {} : { promotions }),
    ...(storeId === undefined ? {} : { attribution: { storeId } }),
  };
}

function cancelledOrder(p: MeituanPushPayload, config: MeituanConfig): CanonicalOrder {
  const orderId = requireOrderId(p);
  const statusAt = isoFromSeconds(p['timestamp']);
  if (statusAt === undefined) throw messageInvalid(`cancel push of order ${orderId} has no timestamp`);
  const version = digits(p['timestamp']);
  // Status-only: Meituan's cancel push has no amounts, lines or buyer (see the note at the top).
  return {
    platform: PLATFORM,
    shopId: shopIdOf(config),
    orderId,
    status: 'cancelled',
    statusAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    totalAmount: '0.00',
    createdAt: statusAt,
    buyer: { identifiers: [] },
    lines: [],
  };
}

const FULL_REFUND_NOTIFY: Readonly<Record<string, RefundStatus>> = {
  apply: 'requested',
  agree: 'approved',
  reject: 'rejected',
  cancelRefund: 'cancelled',
  cancelRefundComplaint: 'cancelled',
};
const PART_REFUND_NOTIFY: Readonly<Record<string, RefundStatus>> = {
  part: 'requested',
  apply: 'requested',
  agree: 'approved',
  reject: 'rejected',
  cancelRefund: 'cancelled',
  cancelRefundComplaint: 'cancelled',
};
// 退货退款 stores: the after-sales state instead of notify_type.
const AFTER_SALES_STATUS: Readonly<Record<string, RefundStatus>> = {
  '1': 'requested',
  '10': 'approved',
  '11': 'rejected',
  '16': 'requested',
  '17': 'approved',
  '18': 'rejected',
  '20': 'requested',
  '21': 'approved',
  '22': 'rejected',
  '26': 'requested',
  '27': 'approved',
  '28': 'rejected',
  '30': 'cancelled',
};
const RES_TYPE: Readonly<Record<string, RefundStatus>> = {
  '0': 'requested',
  '1': 'rejected',
  '2': 'approved',
  '3': 'rejected',
  '4': 'approved',
  '5': 'approved',
  '6': 'approved',
  '7': 'cancelled',
  '8': 'cancelled',
};
const REFUND_STATUS: Readonly<Record<string, RefundStatus>> = {
  '3': 'refunded',
  '4': 'rejected',
  '13': 'refunded',
  '14': 'rejected',
};

function refundStatusOf(type: MeituanPushType, p: MeituanPushPayload): RefundStatus | undefined {
  if (type === 'refund_status') return REFUND_STATUS[p['refund_status'] ?? ''];
  const notify = p['notify_type'];
  if (notify !== undefined && notify !== '') {
    return (type === 'part_refund' ? PART_REFUND_NOTIFY : FULL_REFUND_NOTIFY)[notify];
  }
  return AFTER_SALES_STATUS[p['status'] ?? ''] ?? RES_TYPE[p['res_type'] ?? ''];
}

function refundOf(type: MeituanPushType, p: MeituanPushPayload, config: MeituanConfig): CanonicalRecord {
  const orderId = requireOrderId(p);
  const status = refundStatusOf(type, p);
  if (status === undefined) return { kind: 'ignored', reason: `Meituan ${type} push with an unknown refund state` };
  const statusAt =
    (type === 'refund_status' ? isoFromSeconds(p['utime']) : undefined) ??
    isoFromSeconds(p['timestamp']) ??
    isoFromSeconds(p['ctime']);
  if (statusAt === undefined) throw messageInvalid(`refund push of order ${orderId} has no time`);
  const version = type === 'refund_status' ? (digits(p['utime']) ?? digits(p['timestamp'])) : digits(p['timestamp']);
  const kind = type === 'part_refund' ? 'part' : type === 'refund_status' ? 'status' : 'full';
  const refundId = present(p['refund_id']) ?? `${orderId}:${kind}:${digits(p['ctime']) ?? '0'}`;
  const reason = present(p['reason']);
  const refund: CanonicalRefund = {
    platform: PLATFORM,
    shopId: shopIdOf(config),
    orderId,
    refundId,
    status,
    statusAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    amount: yuan(p['money']) ?? '0.00',
    ...(reason === undefined ? {} : { reason }),
  };
  return { kind: 'refund', refund };
}

/**
 * A Meituan PlatformMessage → canonical records: one order, one refund, or `ignored` for delivery
 * status and unknown pushes. Throws MESSAGE_INVALID when a required field is missing.
 *
 * @example
 * const [record] = normalizeMeituanMessage(message, { config, connectorId: 'con_1' });
 */
export function normalizeMeituanMessage(
  message: PlatformMessage,
  ctx: NormalizeContext<MeituanConfig>,
): CanonicalRecord[] {
  if (message.test === true) return [{ kind: 'ignored', reason: 'Meituan test push' }];
  const p = payloadOf(message);
  const type = isPushType(message.type) ? message.type : classifyMeituanPush(p);
  switch (type) {
    case 'paid_order':
    case 'confirmed_order':
    case 'delivering_order':
    case 'completed_order':
    case 'cancelled_order':
    case 'order':
      return [{ kind: 'order', order: meituanOrderFromParams(p, ctx.config, type) }];
    case 'cancel_order':
      return [{ kind: 'order', order: cancelledOrder(p, ctx.config) }];
    case 'refund_order':
    case 'part_refund':
    case 'refund_status':
      return [refundOf(type, p, ctx.config)];
    case 'logistics_status':
      return [{ kind: 'ignored', reason: 'Meituan delivery status: completion arrives as the completed_order push' }];
    case 'unknown':
      return [{ kind: 'ignored', reason: 'Meituan push of a kind Datong does not use' }];
  }
}
