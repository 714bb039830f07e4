import type {
  BuyerIdentifier,
  CanonicalBuyer,
  CanonicalMember,
  CanonicalOrder,
  CanonicalOrderLine,
  CanonicalPromotion,
  CanonicalRecord,
  CanonicalRefund,
  ChannelAttribution,
  OrderStatus,
  RefundStatus,
} from '@datong/core';
import type { NormalizeContext, PlatformMessage } from '../kit/connector.js';
import type { YouzanConfig } from './config.js';
import type {
  YouzanCustomerCardMsg,
  YouzanCustomerEventMsg,
  YouzanFullOrderInfo,
  YouzanOrderPromotion,
  YouzanPromotion,
  YouzanRefundMsg,
  YouzanTradeDetail,
} from './payloads.js';
import { versionMillis, type YouzanPushPayload } from './verify.js';
import { addAmounts, beijingIso, beijingMillis, idOf, int, isPositiveAmount, plainPhone, text, yuan } from './values.js';

/*
 * Youzan message → canonical records. Pure and deterministic: no I/O, no clock; a missing or
 * malformed optional field is left out, never guessed; the function never throws.
 *
 * Message types (https://doc.youzanyun.com/detail/MSG/…):
 *   trade_TradeCreate                       → order created   (msg: full order)
 *   trade_TradePaid, trade_TradeBuyerPay    → order paid      (msg: full order)
 *   trade_TradeSellerShip                   → order shipped   (msg: tid, update_time)
 *   trade_TradeSuccess                      → order completed (msg: tid, update_time)
 *   trade_TradeClose                        → order cancelled / closed by close_type (msg: tid, close_type, …)
 *   trade_refund_* / youzan_trade_Refund*   → refund requested / approved / rejected / refunded / cancelled
 *   SCRM_CUSTOMER_EVENT, SCRM_CUSTOMER_CARD, POINTS → member joined / updated / left
 *   test messages, other types               → ignored
 *
 * Status-only messages (ship, success, close) carry no amounts, lines or buyer: they become an
 * order with `lines: []`, `buyer.identifiers: []`, totalAmount "0.00" and createdAt = statusAt.
 * A consumer must apply such a record as a status change only (status, statusAt, version) and
 * keep the details it stored from the created/paid message or the order API.
 */

export const PLATFORM = 'youzan';
const CURRENCY = 'CNY';

type Msg = Readonly<Record<string, unknown>>;

function obj(value: unknown): Msg | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Msg) : undefined;
}

function arr(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function ignored(reason: string): CanonicalRecord[] {
  return [{ kind: 'ignored', reason }];
}

// ---------------------------------------------------------------------------------------------
// Order status
// ---------------------------------------------------------------------------------------------

/** close_type values that close an order because of a refund (标记退款, 部分退款, 拒单退款). */
const REFUND_CLOSE_TYPES = new Set([2, 6, 22]);

/**
 * trade_TradeClose and TRADE_CLOSED: a refund-driven close is `closed`; a cancellation (unpaid
 * timeout 1, cancelled 3/4/5, the 10–32 reasons buyers and sellers pick) is `cancelled`; an
 * unknown close_type is `closed`.
 */
export function closeStatus(closeType: unknown): OrderStatus {
  const n = int(closeType);
  if (n === undefined || REFUND_CLOSE_TYPES.has(n)) return 'closed';
  return (n >= 1 && n <= 5) || (n >= 10 && n <= 32) ? 'cancelled' : 'closed';
}

/** order_info.status → canonical status. */
export function orderStatusOf(status: unknown, closeType: unknown): OrderStatus {
  switch (status) {
    case 'TRADE_PAID':
    case 'WAIT_CONFIRM':
    case 'WAIT_SELLER_SEND_GOODS':
      return 'paid';
    case 'WAIT_BUYER_CONFIRM_GOODS':
      return 'shipped';
    case 'TRADE_SUCCESS':
      return 'completed';
    case 'TRADE_CLOSED':
      return closeStatus(closeType);
    default:
      return 'created';
  }
}

// ---------------------------------------------------------------------------------------------
// Order details
// ---------------------------------------------------------------------------------------------

function buyerOf(info: YouzanFullOrderInfo): CanonicalBuyer {
  const buyer = obj(info.buyer_info) ?? {};
  const identifiers: BuyerIdentifier[] = [];
  const openId = text(buyer['yz_open_id']);
  if (openId !== undefined) identifiers.push({ type: 'youzan_open_id', value: openId });
  const phone = plainPhone(buyer['buyer_phone']);
  if (phone !== undefined) identifiers.push({ type: 'phone', value: phone });
  // outer_user_id is a WeChat openid, but Youzan does not say of which appId: not an identifier.
  const maskedPhone = phone === undefined ? text(buyer['buyer_phone']) : undefined;
  const name = text(buyer['fans_nickname']);

  const addressInfo = obj(info.address_info) ?? {};
  const address: Record<string, string> = {};
  for (const key of [
    'receiver_name',
    'receiver_tel',
    'delivery_province',
    'delivery_city',
    'delivery_district',
    'delivery_address',
    'delivery_postal_code',
  ] as const) {
    const v = text(addressInfo[key]);
    if (v !== undefined) address[key] = v;
  }
  return {
    identifiers,
    ...(name === undefined ? {} : { name }),
    ...(maskedPhone === undefined ? {} : { maskedPhone }),
    ...(Object.keys(address).length === 0 ? {} : { address }),
  };
}

function linesOf(info: YouzanFullOrderInfo): CanonicalOrderLine[] {
  return arr(info.orders).flatMap((raw, index): CanonicalOrderLine[] => {
    const line = obj(raw);
    if (line === undefined) return [];
    const quantity = int(line['num']);
    const unitPrice = yuan(line['discount_price']) ?? yuan(line['price']) ?? '0.00';
    const amount = yuan(line['payment']) ?? yuan(line['total_fee']) ?? '0.00';
    const productId = idOf(line['item_id']);
    const skuId = idOf(line['sku_id']);
    return [
      {
        lineId: idOf(line['oid']) ?? String(index + 1),
        ...(productId === undefined ? {} : { productId }),
        ...(skuId === undefined ? {} : { skuId }),
        title: text(line['title']) ?? '',
        quantity: quantity !== undefined && quantity > 0 ? quantity : 1,
        unitPrice,
        amount,
      },
    ];
  });
}

function promotionKind(type: string | undefined): NonNullable<CanonicalPromotion['kind']> {
  if (type === undefined) return 'other';
  if (/coupon|card|code/i.test(type)) return 'coupon';
  if (/point/i.test(type)) return 'points';
  return 'promotion';
}

function promotionOf(raw: unknown): CanonicalPromotion[] {
  const p = obj(raw) as (YouzanPromotion & Msg) | undefined;
  if (p === undefined) return [];
  const amount = yuan(p.discount_fee);
  if (amount === undefined || !isPositiveAmount(amount)) return [];
  const type = text(p.promotion_type);
  const name = text(p.promotion_title) ?? text(p.promotion_name) ?? text(p.promotion_type_name) ?? type ?? 'promotion';
  const id = idOf(p.coupon_id) ?? idOf(p.promotion_id);
  return [{ ...(id === undefined ? {} : { id }), name, amount, kind: promotionKind(type) }];
}

function promotionsOf(promotion: YouzanOrderPromotion | undefined): CanonicalPromotion[] {
  const p = obj(promotion);
  if (p === undefined) return [];
  const itemLevel = arr(p['item']).flatMap((item) => arr(obj(item)?.['promotions']).flatMap(promotionOf));
  return [...arr(p['order']).flatMap(promotionOf), ...itemLevel];
}

function discountOf(promotion: YouzanOrderPromotion | undefined): string | undefined {
  const p = obj(promotion);
  if (p === undefined) return undefined;
  const item = yuan(p['item_discount_fee']);
  const order = yuan(p['order_discount_fee']);
  if (item === undefined && order === undefined) return undefined;
  return addAmounts(item ?? '0', order ?? '0');
}

function attributionOf(info: YouzanFullOrderInfo, shopId: string): ChannelAttribution | undefined {
  const orderInfo = obj(info.order_info) ?? {};
  const source = obj(obj(info.source_info)?.['source']) ?? {};
  const channelInfo = obj(info.channel_info) ?? {};
  const extra = obj(orderInfo['order_extra']) ?? {};
  const channel = text(channelInfo['entrance']) ?? text(source['wx_entrance']) ?? text(source['platform']);
  const node = idOf(orderInfo['node_kdt_id']);
  const storeId = idOf(orderInfo['offline_id']) ?? (node !== undefined && node !== shopId ? node : undefined);
  const distributorId = idOf(extra['fx_kdt_id']);
  const a: ChannelAttribution = {
    ...(channel === undefined ? {} : { channel }),
    ...(storeId === undefined ? {} : { storeId }),
    ...(distributorId === undefined ? {} : { distributorId }),
  };
  return Object.keys(a).length === 0 ? undefined : a;
}

function iso(value: unknown): string | undefined {
  return beijingIso(value);
}

/** The instant a polled order reached its status (its own timestamps), falling back to update_time. */
function statusAtOf(status: OrderStatus, orderInfo: Msg): string | undefined {
  const byStatus: Record<OrderStatus, unknown> = {
    created: orderInfo['created'],
    paid: orderInfo['pay_time'],
    shipped: orderInfo['consign_time'],
    completed: orderInfo['success_time'],
    cancelled: orderInfo['update_time'],
    closed: orderInfo['update_time'],
  };
  return iso(byStatus[status]) ?? iso(orderInfo['update_time']) ?? iso(orderInfo['created']);
}

export interface OrderOverride {
  readonly status: OrderStatus;
  readonly statusAt?: string;
  readonly version?: string;
}

/**
 * A full Youzan order (push msg of created/paid messages, youzan.trade.get data, or one
 * full_order_info of youzan.trades.sold.get) → canonical order. Without `override` the status
 * comes from order_info.status and the version from update_time (ms), which is the same clock as
 * the `version` of trade pushes. Undefined when the order has no tid or no usable time.
 */
export function orderFromDetail(detail: YouzanTradeDetail, shopId: string, override?: OrderOverride): CanonicalOrder | undefined {
  const info = (obj(detail.full_order_info) ?? {}) as YouzanFullOrderInfo;
  const orderInfo = obj(info.order_info) ?? {};
  const orderId = text(orderInfo['tid']);
  if (orderId === undefined) return undefined;

  const status = override?.status ?? orderStatusOf(orderInfo['status'], orderInfo['close_type']);
  const statusAt = override?.statusAt ?? statusAtOf(status, orderInfo);
  if (statusAt === undefined) return undefined;
  const updateMs = beijingMillis(orderInfo['update_time']);
  const version = override === undefined ? (updateMs === undefined ? undefined : String(updateMs)) : override.version;

  const pay = obj(info.pay_info) ?? {};
  const lines = linesOf(info);
  const totalAmount =
    yuan(pay['payment']) ?? (lines.length > 0 ? addAmounts(...lines.map((l) => l.amount)) : undefined) ?? '0.00';
  const shippingAmount = yuan(pay['post_fee']);
  const promotion = obj(detail.order_promotion) as YouzanOrderPromotion | undefined;
  const discountAmount = discountOf(promotion);
  const promotions = promotionsOf(promotion);
  const paidAt = iso(orderInfo['pay_time']);
  const attribution = attributionOf(info, shopId);

  return {
    platform: PLATFORM,
    shopId,
    orderId,
    status,
    statusAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    totalAmount,
    ...(discountAmount === undefined ? {} : { discountAmount }),
    ...(shippingAmount === undefined ? {} : { shippingAmount }),
    createdAt: iso(orderInfo['created']) ?? statusAt,
    ...(paidAt === undefined ? {} : { paidAt }),
    buyer: buyerOf(info),
    lines,
    ...(promotions.length === 0 ? {} : { promotions }),
    ...(attribution === undefined ? {} : { attribution }),
  };
}

function statusOnlyOrder(shopId: string, orderId: string, status: OrderStatus, statusAt: string, version: string | undefined): CanonicalOrder {
  return {
    platform: PLATFORM,
    shopId,
    orderId,
    status,
    statusAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    totalAmount: '0.00',
    createdAt: statusAt,
    buyer: { identifiers: [] },
    lines: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

const FULL_ORDER_TYPES: Readonly<Record<string, OrderStatus>> = {
  trade_TradeCreate: 'created',
  trade_TradePaid: 'paid',
  trade_TradeBuyerPay: 'paid',
};

const STATUS_ONLY_TYPES: Readonly<Record<string, OrderStatus>> = {
  trade_TradeSellerShip: 'shipped',
  trade_TradeSuccess: 'completed',
};

const IGNORED_TRADE_TYPES = new Set([
  'trade_TradePartlySellerShip', // one line shipped: the order is not shipped yet
  'trade_TradeMemoModified',
  'trade_MessagesTheChangeAddresses',
  'youzan_trade_MessagesTheChangeAddressesByBuyer',
]);

const REFUND_TYPES: Readonly<Record<string, RefundStatus>> = {
  trade_refund_BuyerCreated: 'requested',
  trade_refund_RefundAgain: 'requested',
  trade_refund_BuyerReturnGoods: 'requested',
  trade_refund_RefundSellerAgree: 'approved',
  trade_refund_RefundSellerAgreeReturnGoods: 'approved',
  trade_refund_RefundSellerRefuse: 'rejected',
  trade_refund_RefundSellerRefuseReturnGoods: 'rejected',
  trade_refund_RefundClosed: 'cancelled',
  trade_refund_RefundSuccess: 'refunded',
  trade_refund_SysRefund: 'refunded',
  youzan_trade_RefundCreated: 'requested',
  youzan_trade_RefundSellerAgree: 'approved',
  youzan_trade_RefundSellerRefuse: 'rejected',
  youzan_trade_RefundClosed: 'cancelled',
  youzan_trade_RefundSuccess: 'refunded',
};

function tradeMessage(p: YouzanPushPayload, message: PlatformMessage, version: string | undefined): CanonicalRecord[] {
  const msg = p.msg;
  const fullStatus = FULL_ORDER_TYPES[p.type];
  const detail = msg as YouzanTradeDetail;
  const orderInfo = obj(obj(detail.full_order_info)?.['order_info']) ?? {};
  const tid = text(orderInfo['tid']) ?? text(msg['tid']) ?? text(p.id);
  if (tid === undefined) return ignored(`${p.type} without an order number`);

  let status: OrderStatus;
  let statusAt: string | undefined;
  if (fullStatus !== undefined) {
    status = fullStatus;
    const own = status === 'created' ? orderInfo['created'] : orderInfo['pay_time'];
    statusAt = iso(own) ?? iso(orderInfo['update_time']) ?? message.occurredAt;
    if (text(orderInfo['tid']) !== undefined && statusAt !== undefined) {
      const order = orderFromDetail(detail, p.kdt_id, { status, statusAt, ...(version === undefined ? {} : { version }) });
      if (order !== undefined) return [{ kind: 'order', order }];
    }
  } else if (p.type === 'trade_TradeClose') {
    status = closeStatus(msg['close_type']);
    statusAt = iso(msg['update_time']) ?? message.occurredAt;
  } else {
    const s = STATUS_ONLY_TYPES[p.type];
    if (s === undefined) return ignored(`Youzan message type ${p.type} is not used by Datong`);
    status = s;
    statusAt = iso(msg['update_time']) ?? message.occurredAt;
  }
  if (statusAt === undefined) return ignored(`${p.type} for ${tid} has no usable time`);
  return [{ kind: 'order', order: statusOnlyOrder(p.kdt_id, tid, status, statusAt, version) }];
}

function refundMessage(p: YouzanPushPayload, message: PlatformMessage, status: RefundStatus, version: string | undefined): CanonicalRecord[] {
  const msg = p.msg as YouzanRefundMsg & Msg;
  const orderId = text(msg.tid);
  const refundId = idOf(msg.refund_id);
  if (orderId === undefined || refundId === undefined) return ignored(`${p.type} without tid or refund_id`);
  const statusAt = iso(msg.update_time) ?? message.occurredAt;
  if (statusAt === undefined) return ignored(`${p.type} for ${refundId} has no usable time`);
  const refundVersion = version ?? versionMillis(idOf(msg.version));
  const reasonCode = text(msg.refund_reason);
  const reason = text(msg.refund_reason_desc) ?? (reasonCode !== undefined && !/^\d+$/.test(reasonCode) ? reasonCode : undefined);
  const refund: CanonicalRefund = {
    platform: PLATFORM,
    shopId: p.kdt_id,
    orderId,
    refundId,
    status,
    statusAt,
    ...(refundVersion === undefined ? {} : { version: refundVersion }),
    currency: CURRENCY,
    amount: yuan(msg.refunded_fee) ?? yuan(msg.refund_fee) ?? '0.00',
    ...(reason === undefined ? {} : { reason }),
  };
  return [{ kind: 'refund', refund }];
}

function memberBuyer(openId: unknown, mobile: unknown, name?: unknown): CanonicalBuyer {
  const identifiers: BuyerIdentifier[] = [];
  const id = text(openId);
  if (id !== undefined) identifiers.push({ type: 'youzan_open_id', value: id });
  const phone = plainPhone(mobile);
  if (phone !== undefined) identifiers.push({ type: 'phone', value: phone });
  const masked = phone === undefined ? text(mobile) : undefined;
  const n = text(name);
  return {
    identifiers,
    ...(n === undefined ? {} : { name: n }),
    ...(masked === undefined ? {} : { maskedPhone: masked }),
  };
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

const CARD_JOINED = new Set(['CUSTOMER_CARD_GIVEN', 'CUSTOMER_CARD_ACTIVATED', 'CUSTOMER_CARD_TAKEN']);
const CARD_LEFT = new Set(['CUSTOMER_CARD_DELETED', 'CUSTOMER_CARD_EXPIRED', 'CUSTOMER_CARD_DISABLED', 'CUSTOMER_CARD_RETURNED']);

function memberMessage(p: YouzanPushPayload, message: PlatformMessage): CanonicalRecord[] {
  let buyer: CanonicalBuyer;
  let event: CanonicalMember['event'];
  let statusAt: string | undefined;
  let level: string | undefined;
  let points: number | undefined;

  if (p.type === 'SCRM_CUSTOMER_EVENT') {
    const msg = p.msg as YouzanCustomerEventMsg & Msg;
    const openId = text(msg.yz_open_id) ?? (msg.account_type === 'YzOpenId' ? text(msg.account_id) : undefined);
    buyer = memberBuyer(openId, msg.mobile, msg.name);
    event = truthy(msg.is_log_off) || p.status === 'CUSTOMER_DELETED' ? 'left' : p.status === 'CUSTOMER_CREATED' ? 'joined' : 'updated';
    statusAt = iso(msg.update_time) ?? message.occurredAt;
  } else if (p.type === 'SCRM_CUSTOMER_CARD') {
    const msg = p.msg as YouzanCustomerCardMsg & Msg;
    buyer = memberBuyer(msg.yz_open_id, msg.mobile);
    event = p.status !== undefined && CARD_JOINED.has(p.status) ? 'joined' : p.status !== undefined && CARD_LEFT.has(p.status) ? 'left' : 'updated';
    statusAt = iso(msg.event_time) ?? message.occurredAt;
    level = text(msg.card_alias);
  } else {
    // POINTS: the balance after the change is `total`.
    const msg = p.msg;
    buyer = memberBuyer(msg['yz_open_id'], msg['mobile']);
    event = 'updated';
    statusAt = iso(msg['update_time']) ?? iso(msg['created_at']) ?? message.occurredAt;
    points = int(msg['total']);
  }
  if (buyer.identifiers.length === 0) return ignored(`${p.type} without yz_open_id or a plain phone`);
  if (statusAt === undefined) return ignored(`${p.type} has no usable time`);
  const member: CanonicalMember = {
    platform: PLATFORM,
    shopId: p.kdt_id,
    buyer,
    event,
    ...(level === undefined ? {} : { level }),
    ...(points === undefined ? {} : { points }),
    statusAt,
  };
  return [{ kind: 'member', member }];
}

function isPayload(value: unknown): value is YouzanPushPayload {
  const p = obj(value);
  return p !== undefined && typeof p['type'] === 'string' && typeof p['kdt_id'] === 'string' && obj(p['msg']) !== undefined;
}

/**
 * Normalizes one verified Youzan message (see verify.ts for its payload). Messages for another
 * shop than the connector's kdtId (or its chain headquarters) are ignored.
 *
 * @example
 * const [record] = normalizeYouzanMessage(message, { config, connectorId: 'con_1' });
 * if (record.kind === 'order') record.order.status; // 'paid'
 */
export function normalizeYouzanMessage(message: PlatformMessage, ctx: NormalizeContext<YouzanConfig>): CanonicalRecord[] {
  if (message.test === true) return ignored('Youzan test message');
  const p = message.payload;
  if (!isPayload(p)) return ignored('not a Youzan push payload');
  if (p.test === true) return ignored('Youzan test message');
  const shop = ctx.config.kdtId;
  if (p.kdt_id !== shop && p.root_kdt_id !== shop && p.head_kdt_id !== shop) {
    return ignored(`message for shop ${p.kdt_id}, not this connector's shop ${shop}`);
  }
  const version = versionMillis(p.version);

  const refundStatus = REFUND_TYPES[p.type];
  if (refundStatus !== undefined) return refundMessage(p, message, refundStatus, version);
  if (p.type === 'SCRM_CUSTOMER_EVENT' || p.type === 'SCRM_CUSTOMER_CARD' || p.type === 'POINTS') return memberMessage(p, message);
  if (IGNORED_TRADE_TYPES.has(p.type)) return ignored(`Youzan message type ${p.type} is not used by Datong`);
  if (p.type.startsWith('trade_')) return tradeMessage(p, message, version);
  return ignored(`Youzan message type ${p.type} is not used by Datong`);
}

