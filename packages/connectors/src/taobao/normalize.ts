import {
  DatongError,
  formatMinorUnits,
  normalizePhone,
  ORDER_STATUS_RANK,
  toMinorUnits,
  type BuyerIdentifier,
  type CanonicalBuyer,
  type CanonicalOrder,
  type CanonicalOrderLine,
  type CanonicalPromotion,
  type CanonicalRecord,
  type CanonicalRefund,
  type ChannelAttribution,
  type OrderStatus,
  type RefundStatus,
} from '@datong/core';
import type { NormalizeContext, PlatformMessage } from '../kit/connector.js';
import { idString } from './json.js';
import type { TopOrder, TopPromotionDetail, TopTrade } from './payloads.js';
import { parseTopTime, topTimeToIso } from './sign.js';

/*
 * Taobao/Tmall → canonical records. Pure and deterministic: no clock, no I/O; the same message
 * always gives the same records. Amounts stay exact (yuan strings → integer fen → strings),
 * ids stay strings, times keep TOP's own GMT+8 clock as ISO 8601 with +08:00.
 *
 * Buyer identity: `buyer_open_uid` → `taobao_open_uid`. Receiver fields come masked
 * ("138****5678", "张**") or encrypted under Taobao's data-security rules; they are kept as
 * given (`maskedPhone`, `address`, `oaid`) and never used as identifiers. A receiver mobile is a
 * `phone` identifier only when TOP gives it in clear (11 digits that libphonenumber accepts).
 */

export const TAOBAO_PLATFORM = 'taobao';
const CURRENCY = 'CNY';

/** Trade.status → canonical status (Trade doc, 交易状态 可选值). */
export const TRADE_STATUS_MAP: Readonly<Record<string, OrderStatus>> = {
  TRADE_NO_CREATE_PAY: 'created',
  WAIT_BUYER_PAY: 'created',
  PAY_PENDING: 'created',
  WAIT_PRE_AUTH_CONFIRM: 'created',
  WAIT_SELLER_SEND_GOODS: 'paid',
  PAID_FORBID_CONSIGN: 'paid',
  SELLER_CONSIGNED_PART: 'shipped',
  WAIT_BUYER_CONFIRM_GOODS: 'shipped',
  TRADE_BUYER_SIGNED: 'shipped',
  TRADE_FINISHED: 'completed',
  // 付款以后用户退款成功，交易自动关闭
  TRADE_CLOSED: 'closed',
  // 付款以前，卖家或买家主动关闭交易
  TRADE_CLOSED_BY_TAOBAO: 'cancelled',
};

interface TradeTopicRule {
  /** The status the topic itself implies, when it implies one. */
  readonly status?: OrderStatus;
}

/**
 * The taobao_trade_* topics Datong turns into orders. The others (TradeRated, TradeMemoModified,
 * TradeDelayConfirmPay, TradeTimeoutRemind, TradeAlipayCreate, TradePartlyRefund,
 * TradePartlyConfirmPay, …) are acknowledged and ignored: they change nothing Datong keeps, and
 * refunds arrive through taobao_refund_*.
 */
export const TRADE_TOPICS: Readonly<Record<string, TradeTopicRule>> = {
  taobao_trade_TradeCreate: { status: 'created' },
  taobao_trade_TradeBuyerStepPay: { status: 'created' },
  taobao_trade_TradeBuyerPay: { status: 'paid' },
  taobao_trade_TradeSellerShip: { status: 'shipped' },
  taobao_trade_TradePartlySellerShip: { status: 'shipped' },
  taobao_trade_TradeSuccess: { status: 'completed' },
  // Closed before payment (TRADE_CLOSED_BY_TAOBAO) is 'cancelled'; the content's status decides.
  taobao_trade_TradeClose: { status: 'closed' },
  taobao_trade_TradeChanged: {},
  taobao_trade_TradeModifyFee: {},
  taobao_trade_TradeCloseAndModifyDetailOrder: {},
  taobao_trade_TradeLogisticsAddressChanged: {},
};

/** The taobao_refund_* topics and the refund state each one reports. */
export const REFUND_TOPICS: Readonly<Record<string, RefundStatus>> = {
  taobao_refund_RefundCreated: 'requested',
  taobao_refund_RefundBuyerModifyAgreement: 'requested',
  taobao_refund_RefundSellerAgreeAgreement: 'approved',
  taobao_refund_RefundBuyerReturnGoods: 'approved',
  taobao_refund_RefundSellerRefuseAgreement: 'rejected',
  taobao_refund_RefundClosed: 'cancelled',
  taobao_refund_RefundSuccess: 'refunded',
};

/* ------------------------------------------ helpers ------------------------------------------ */

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Yuan decimal string → exact canonical string with 2 decimals; undefined when not an amount. */
function yuan(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const fen = toMinorUnits(v, CURRENCY);
  return fen === undefined || fen < 0n ? undefined : formatMinorUnits(fen, CURRENCY);
}

function fenOf(v: unknown): bigint | undefined {
  if (typeof v !== 'string') return undefined;
  const fen = toMinorUnits(v, CURRENCY);
  return fen === undefined || fen < 0n ? undefined : fen;
}

/** Version from TOP's `modified` (epoch ms as a decimal string), for same-status ordering. */
function versionOf(modified: unknown): string | undefined {
  const ms = parseTopTime(modified);
  return ms === undefined ? undefined : String(ms);
}

function invalid(message: PlatformMessage, why: string): DatongError {
  return new DatongError('MESSAGE_INVALID', `Taobao message ${message.type} ${message.messageId}: ${why}`, {
    meta: { platform: TAOBAO_PLATFORM, topic: message.type, messageId: message.messageId },
  });
}

/** A phone the platform gives in clear, or undefined (masked "138****5678", ciphertext, landline, …). */
function clearMobile(v: unknown): string | undefined {
  if (typeof v !== 'string' || !/^1\d{10}$/.test(v)) return undefined;
  return normalizePhone(v) === undefined ? undefined : v;
}

function buyerOf(source: Obj): CanonicalBuyer {
  const identifiers: BuyerIdentifier[] = [];
  const openUid = str(source['buyer_open_uid']);
  if (openUid !== undefined) identifiers.push({ type: 'taobao_open_uid', value: openUid });
  const mobile = source['receiver_mobile'];
  const phone = clearMobile(mobile);
  if (phone !== undefined) identifiers.push({ type: 'phone', value: phone });

  const address: Record<string, string> = {};
  const parts: readonly [string, string][] = [
    ['receiver_name', 'name'],
    ['receiver_country', 'country'],
    ['receiver_state', 'state'],
    ['receiver_city', 'city'],
    ['receiver_district', 'district'],
    ['receiver_town', 'town'],
    ['receiver_address', 'address'],
    ['receiver_zip', 'zip'],
    ['oaid', 'oaid'],
  ];
  for (const [from, to] of parts) {
    const value = str(source[from]);
    if (value !== undefined) address[to] = value;
  }
  const masked = phone === undefined ? str(mobile) : undefined;
  return {
    identifiers,
    ...(masked === undefined ? {} : { maskedPhone: masked }),
    ...(Object.keys(address).length === 0 ? {} : { address }),
  };
}

/** Round-half-up integer division of non-negative bigints. */
function divRound(a: bigint, b: bigint): bigint {
  return (2n * a + b) / (2n * b);
}

function lineOf(order: unknown): CanonicalOrderLine | undefined {
  if (!isObj(order)) return undefined;
  const o = order as Partial<TopOrder> & Obj;
  const lineId = idString(o.oid_str) ?? idString(o.oid);
  if (lineId === undefined) return undefined;
  const qty = typeof o.num === 'number' && Number.isSafeInteger(o.num) && o.num >= 0 ? o.num : 1;
  const amountFen = fenOf(o.divide_order_fee) ?? fenOf(o.payment) ?? fenOf(o.total_fee) ?? 0n;
  const unitFen = qty === 0 ? amountFen : divRound(amountFen, BigInt(qty));
  const productId = idString(o.num_iid);
  const skuId = str(o.sku_id);
  return {
    lineId,
    ...(productId === undefined ? {} : { productId }),
    ...(skuId === undefined ? {} : { skuId }),
    title: str(o.title) ?? '',
    quantity: qty,
    unitPrice: formatMinorUnits(unitFen, CURRENCY),
    amount: formatMinorUnits(amountFen, CURRENCY),
  };
}

function promotionOf(detail: unknown): CanonicalPromotion | undefined {
  if (!isObj(detail)) return undefined;
  const d = detail as Partial<TopPromotionDetail> & Obj;
  const amount = yuan(d.discount_fee);
  const promotionId = str(d.promotion_id);
  const name = str(d.promotion_name) ?? promotionId;
  if (amount === undefined || name === undefined) return undefined;
  const id = promotionId ?? idString(d.id);
  // Shop coupons carry promotion ids like "shopbonus-…" / "coupon-…" (PromotionDetail examples).
  const kind = promotionId !== undefined && /coupon|shopbonus/i.test(promotionId) ? 'coupon' : 'promotion';
  return { ...(id === undefined ? {} : { id }), name, amount, kind };
}

function listOf(wrapper: unknown, key: string): readonly unknown[] {
  if (!isObj(wrapper)) return [];
  const list = wrapper[key];
  return Array.isArray(list) ? list : [];
}

function attributionOf(trade: Obj, orders: readonly unknown[]): ChannelAttribution | undefined {
  const sellerTypes = new Set(orders.filter(isObj).map((o) => o['seller_type']));
  const channel = sellerTypes.has('B') ? 'tmall' : sellerTypes.has('C') ? 'taobao' : undefined;
  const storeId = str(trade['o2o_shop_id']);
  if (channel === undefined && storeId === undefined) return undefined;
  return { ...(channel === undefined ? {} : { channel }), ...(storeId === undefined ? {} : { storeId }) };
}

/** When the trade reached its status, by TOP's own times; `modified` when the specific time is missing. */
function statusTime(trade: Obj, status: OrderStatus): string | undefined {
  const key: Record<OrderStatus, string> = {
    created: 'created',
    paid: 'pay_time',
    shipped: 'consign_time',
    completed: 'end_time',
    cancelled: 'end_time',
    closed: 'end_time',
  };
  return topTimeToIso(trade[key[status]]) ?? topTimeToIso(trade['modified']) ?? topTimeToIso(trade['created']);
}

/* -------------------------------------------- trades -------------------------------------------- */

export type TradeResult = { readonly ok: true; readonly order: CanonicalOrder } | { readonly ok: false; readonly reason: string };

/**
 * A full TOP Trade (taobao.trade.fullinfo.get or taobao.trades.sold.increment.get) as a canonical
 * order. `shopId` is the connector's configured shop id, else the trade's seller nick.
 */
export function normalizeTaobaoTrade(trade: unknown, shopId?: string): TradeResult {
  if (!isObj(trade)) return { ok: false, reason: 'trade is not an object' };
  const t = trade as Partial<TopTrade> & Obj;
  const orderId = idString(t.tid_str) ?? idString(t.tid);
  if (orderId === undefined) return { ok: false, reason: 'trade has no tid' };
  const statusName = str(t.status);
  const status = statusName === undefined ? undefined : TRADE_STATUS_MAP[statusName];
  if (status === undefined) return { ok: false, reason: `trade ${orderId} has an unknown status ${statusName ?? '(none)'}` };
  const createdAt = topTimeToIso(t.created);
  if (createdAt === undefined) return { ok: false, reason: `trade ${orderId} has no created time` };
  const totalAmount = yuan(t.payment);
  if (totalAmount === undefined) return { ok: false, reason: `trade ${orderId} has no payment amount` };
  const shop = shopId ?? str(t.seller_nick);
  if (shop === undefined) return { ok: false, reason: `trade ${orderId} has no seller_nick and no shopId is configured` };

  const orders = listOf(t.orders, 'order');
  const lines = orders.map(lineOf).filter((l): l is CanonicalOrderLine => l !== undefined);
  const promotions = listOf(t.promotion_details, 'promotion_detail')
    .map(promotionOf)
    .filter((p): p is CanonicalPromotion => p !== undefined);
  const version = versionOf(t.modified);
  const discountAmount = yuan(t.discount_fee);
  const shippingAmount = yuan(t.post_fee);
  const paidAt = topTimeToIso(t.pay_time);
  const attribution = attributionOf(t, orders);

  const order: CanonicalOrder = {
    platform: TAOBAO_PLATFORM,
    shopId: shop,
    orderId,
    status,
    statusAt: statusTime(t, status) ?? createdAt,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    totalAmount,
    ...(discountAmount === undefined ? {} : { discountAmount }),
    ...(shippingAmount === undefined ? {} : { shippingAmount }),
    createdAt,
    ...(paidAt === undefined ? {} : { paidAt }),
    buyer: buyerOf(t),
    lines,
    ...(promotions.length === 0 ? {} : { promotions }),
    ...(attribution === undefined ? {} : { attribution }),
  };
  return { ok: true, order };
}

/* ------------------------------------------- messages ------------------------------------------- */

interface Envelope {
  readonly content: Obj;
  readonly pubTimeIso: string;
  readonly userNick: string | undefined;
  readonly trade: unknown;
}

function envelopeOf(message: PlatformMessage): Envelope {
  const p = message.payload;
  if (!isObj(p)) throw invalid(message, 'payload is not an object');
  const content = p['content'];
  if (!isObj(content)) throw invalid(message, 'content is not a JSON object');
  const pubTimeIso = topTimeToIso(p['pub_time']);
  if (pubTimeIso === undefined) throw invalid(message, 'pub_time is missing or not a TOP time');
  return { content, pubTimeIso, userNick: str(p['user_nick']), trade: p['trade'] };
}

function shopOf(configShopId: string | undefined, ...candidates: unknown[]): string | undefined {
  if (configShopId !== undefined) return configShopId;
  for (const c of candidates) {
    const s = str(c);
    if (s !== undefined) return s;
  }
  return undefined;
}

function tradeMessage(message: PlatformMessage, rule: TradeTopicRule, configShopId: string | undefined): CanonicalRecord[] {
  const env = envelopeOf(message);
  const c = env.content;
  const tid = idString(c['tid']);
  if (tid === undefined) throw invalid(message, 'content has no tid');
  const fromContent = str(c['status']);
  const messageStatus = (fromContent === undefined ? undefined : TRADE_STATUS_MAP[fromContent]) ?? rule.status;

  // The trade fetched right after consuming, when there is one: it has lines, amounts and times.
  const shopId = shopOf(configShopId, isObj(env.trade) ? env.trade['seller_nick'] : undefined, c['seller_nick'], env.userNick);
  if (env.trade !== undefined) {
    const full = normalizeTaobaoTrade(env.trade, shopId);
    if (full.ok && full.order.orderId === tid) {
      const order = full.order;
      // TOP may answer fullinfo with the state before the one the message reports (replication
      // lag); the message's state then wins, at the message's time.
      if (
        messageStatus !== undefined &&
        ORDER_STATUS_RANK[messageStatus] > ORDER_STATUS_RANK[order.status] &&
        !(order.status === 'completed' && ORDER_STATUS_RANK[messageStatus] === 4)
      ) {
        return [{ kind: 'order', order: { ...order, status: messageStatus, statusAt: env.pubTimeIso } }];
      }
      return [{ kind: 'order', order }];
    }
  }

  if (messageStatus === undefined) {
    return [{ kind: 'ignored', reason: `${message.type} carries no trade status and no fetched trade` }];
  }
  const totalAmount = yuan(c['payment']);
  if (totalAmount === undefined) {
    return [{ kind: 'ignored', reason: `${message.type} carries no payment amount and no fetched trade` }];
  }
  if (shopId === undefined) throw invalid(message, 'no seller nick in the message and no shopId configured');
  const shippingAmount = yuan(c['post_fee']);
  // A TMC message says nothing about lines or the creation time: the order is the message's
  // view (creation time = publication time, an upper bound) until the trade is fetched.
  const order: CanonicalOrder = {
    platform: TAOBAO_PLATFORM,
    shopId,
    orderId: tid,
    status: messageStatus,
    statusAt: env.pubTimeIso,
    currency: CURRENCY,
    totalAmount,
    ...(shippingAmount === undefined ? {} : { shippingAmount }),
    createdAt: env.pubTimeIso,
    buyer: buyerOf(c),
    lines: [],
  };
  return [{ kind: 'order', order }];
}

function refundMessage(message: PlatformMessage, status: RefundStatus, configShopId: string | undefined): CanonicalRecord[] {
  const env = envelopeOf(message);
  const c = env.content;
  const refundId = idString(c['refund_id']);
  if (refundId === undefined) throw invalid(message, 'content has no refund_id');
  const orderId = idString(c['tid']);
  if (orderId === undefined) throw invalid(message, 'content has no tid');
  const amount = yuan(c['refund_fee']);
  if (amount === undefined) throw invalid(message, 'content has no valid refund_fee');
  const shopId = shopOf(configShopId, c['seller_nick'], env.userNick);
  if (shopId === undefined) throw invalid(message, 'no seller nick in the message and no shopId configured');
  const buyer = buyerOf(c);
  const version = versionOf(c['modified']);
  const refund: CanonicalRefund = {
    platform: TAOBAO_PLATFORM,
    shopId,
    orderId,
    refundId,
    status,
    statusAt: topTimeToIso(c['modified']) ?? env.pubTimeIso,
    ...(version === undefined ? {} : { version }),
    currency: CURRENCY,
    amount,
    ...(buyer.identifiers.length === 0 ? {} : { buyer }),
  };
  return [{ kind: 'refund', refund }];
}

/**
 * One consumed TMC message → canonical records. Topics Datong does not use come back as
 * `{ kind: 'ignored' }`. Throws MESSAGE_INVALID for a message of a used topic that cannot be
 * read (no tid, content not JSON, …).
 */
export function normalizeTaobaoMessage(
  message: PlatformMessage,
  ctx: NormalizeContext<{ readonly shopId?: string | undefined }>,
): CanonicalRecord[] {
  if (message.test === true) return [{ kind: 'ignored', reason: 'test message' }];
  const configShopId = ctx.config.shopId;
  const tradeRule = TRADE_TOPICS[message.type];
  if (tradeRule !== undefined) return tradeMessage(message, tradeRule, configShopId);
  const refundStatus = REFUND_TOPICS[message.type];
  if (refundStatus !== undefined) return refundMessage(message, refundStatus, configShopId);
  return [{ kind: 'ignored', reason: `topic ${message.type} is not used by Datong` }];
}
