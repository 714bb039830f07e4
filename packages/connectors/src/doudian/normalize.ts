import type {
  BuyerIdentifier,
  CanonicalBuyer,
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
import type { DoudianConfig } from './config.js';
import { parseJsonLossless } from './json.js';
import {
  asRecord,
  fenOf,
  idOf,
  intOf,
  isoOfPlatformTime,
  nonZeroIdOf,
  secondsOf,
  textOf,
  yuanOfFen,
} from './values.js';

/*
 * Douyin shop messages → canonical records. Pure and deterministic: no clock, no I/O; a field
 * that is missing or malformed is left out, never guessed.
 *
 * Push messages (tags 100-110) are thin: ids, status and one time, no buyer, lines or (except
 * tag 101) amount. They become orders with what they carry; `lines` is empty, the buyer has no
 * identifiers, and `totalAmount` is the pay_amount when the message has one, else "0.00". An
 * order from order.orderDetail / order.searchList (`normalizeShopOrder`, also reachable as a
 * message whose payload is a shop order or `{shop_order_detail}`) is complete and carries
 * `version` = update_time, so it refines the same order without moving its status back.
 */

const PLATFORM = 'doudian';
const CURRENCY = 'CNY';

/** Order tags → the status each one announces, and the field holding its time. */
const ORDER_TAGS: Readonly<Record<string, { readonly status: OrderStatus; readonly timeField: string; readonly name: string }>> = {
  '100': { status: 'created', timeField: 'create_time', name: 'trade created' },
  '101': { status: 'paid', timeField: 'pay_time', name: 'trade paid' },
  '110': { status: 'paid', timeField: 'update_time', name: 'trade paid, pending' },
  '102': { status: 'shipped', timeField: 'update_time', name: 'seller shipped' },
  '108': { status: 'shipped', timeField: 'update_time', name: 'seller shipped partly' },
  '103': { status: 'completed', timeField: 'complete_time', name: 'trade completed' },
  '106': { status: 'cancelled', timeField: 'cancel_time', name: 'trade cancelled' },
};

/** After-sale tags → refund status and the field holding the event time. */
const REFUND_TAGS: Readonly<Record<string, { readonly status: RefundStatus; readonly timeField: string }>> = {
  '200': { status: 'requested', timeField: 'apply_time' }, // 买家发起售后申请
  '208': { status: 'requested', timeField: 'modify_time' }, // 买家修改售后申请
  '201': { status: 'approved', timeField: 'agree_time' }, // 同意退款
  '202': { status: 'approved', timeField: 'update_time' }, // 同意退货申请
  '203': { status: 'approved', timeField: 'update_time' }, // 买家退货给卖家
  '204': { status: 'rejected', timeField: 'refuse_time' }, // 拒绝退款
  '205': { status: 'rejected', timeField: 'refuse_time' }, // 拒绝退货申请
  '206': { status: 'refunded', timeField: 'success_time' }, // 退款成功
  '207': { status: 'cancelled', timeField: 'close_time' }, // 售后关闭
};

/** Tags Datong receives but does not turn into records, with the reason logged. */
const IGNORED_TAGS: Readonly<Record<string, string>> = {
  '0': 'push URL check (tag 0)',
  '105': 'receiver address changed (tag 105): no status change; the order detail carries the address',
  '109': 'order amount changed (tag 109): no status change; the order detail carries the amounts',
};

/** order_status of the order APIs → canonical status. */
const SHOP_ORDER_STATUS: Readonly<Record<number, OrderStatus>> = {
  1: 'created', // 待确认/待支付
  103: 'created', // 部分支付
  105: 'paid', // 已支付
  2: 'paid', // 备货中
  101: 'shipped', // 部分发货
  3: 'shipped', // 已发货（全部发货）
  4: 'cancelled', // 已取消
  5: 'completed', // 已完成（已收货）
};

function ignored(reason: string): CanonicalRecord[] {
  return [{ kind: 'ignored', reason }];
}

function shopIdOf(data: Readonly<Record<string, unknown>>, config: DoudianConfig): string {
  return idOf(data['shop_id']) ?? config.shopId;
}

function amountOf(value: unknown): string | undefined {
  const fen = fenOf(value);
  return fen === undefined ? undefined : yuanOfFen(fen);
}

function normalizeTradeMessage(
  tag: string,
  data: Readonly<Record<string, unknown>>,
  ctx: NormalizeContext<DoudianConfig>,
): CanonicalRecord[] {
  const spec = ORDER_TAGS[tag];
  if (spec === undefined) return ignored(`tag ${tag} is not an order status message`);
  const orderId = nonZeroIdOf(data['p_id']);
  if (orderId === undefined) return ignored(`${spec.name} message without a valid p_id`);
  const statusAt = isoOfPlatformTime(data[spec.timeField]) ?? isoOfPlatformTime(data['update_time']);
  if (statusAt === undefined) return ignored(`${spec.name} message without ${spec.timeField}`);
  const createdAt = isoOfPlatformTime(data['create_time']) ?? statusAt;
  const payAmount = amountOf(data['pay_amount']);
  const paidAt = tag === '101' ? isoOfPlatformTime(data['pay_time']) : undefined;

  const order: CanonicalOrder = {
    platform: PLATFORM,
    shopId: shopIdOf(data, ctx.config),
    orderId,
    status: spec.status,
    statusAt,
    currency: CURRENCY,
    totalAmount: payAmount ?? '0.00',
    createdAt,
    ...(paidAt === undefined ? {} : { paidAt }),
    buyer: receiverBuyer(asRecord(data['receiver_msg'])),
    lines: [],
  };
  return [{ kind: 'order', order }];
}

/** The receiver block of a ship message: masked/encrypted as given, never an identifier. */
function receiverBuyer(receiver: Readonly<Record<string, unknown>> | undefined): CanonicalBuyer {
  if (receiver === undefined) return { identifiers: [] };
  const tel = textOf(receiver['encrypt_tel']) ?? textOf(receiver['tel']);
  const address: Record<string, string> = {};
  const rawAddr = textOf(receiver['addr']);
  let addr: Readonly<Record<string, unknown>> | undefined;
  if (rawAddr !== undefined) {
    try {
      // `addr` is itself JSON: {province:{name,id}, city, town, street, detail, encrypt_detail}.
      addr = asRecord(parseJsonLossless(rawAddr));
    } catch {
      address['raw'] = rawAddr;
    }
  }
  Object.assign(address, addressParts(addr, undefined));
  const name = textOf(receiver['encrypt_name']) ?? textOf(receiver['name']);
  if (name !== undefined) address['receiver'] = name;
  return {
    identifiers: [],
    ...(tel === undefined ? {} : { maskedPhone: tel }),
    ...(Object.keys(address).length === 0 ? {} : { address }),
  };
}

function normalizeRefundMessage(
  tag: string,
  data: Readonly<Record<string, unknown>>,
  ctx: NormalizeContext<DoudianConfig>,
): CanonicalRecord[] {
  const spec = REFUND_TAGS[tag];
  if (spec === undefined) return ignored(`tag ${tag} is not a refund status message`);
  const refundId = nonZeroIdOf(data['aftersale_id']);
  const orderId = nonZeroIdOf(data['p_id']);
  if (refundId === undefined || orderId === undefined) return ignored(`after-sale tag ${tag} without aftersale_id or p_id`);
  const statusAt = isoOfPlatformTime(data[spec.timeField]) ?? isoOfPlatformTime(data['update_time']);
  if (statusAt === undefined) return ignored(`after-sale tag ${tag} without ${spec.timeField}`);
  const amount = amountOf(data['refund_amount']);
  const reasonCode = intOf(data['reason_code']);
  const version = secondsOf(data['update_time']);
  const refund: CanonicalRefund = {
    platform: PLATFORM,
    shopId: shopIdOf(data, ctx.config),
    orderId,
    refundId,
    status: spec.status,
    statusAt,
    ...(version === undefined ? {} : { version: String(version) }),
    currency: CURRENCY,
    amount: amount ?? '0.00',
    ...(reasonCode === undefined ? {} : { reason: `reason_code ${reasonCode}` }),
  };
  return [{ kind: 'refund', refund }];
}

function regionName(value: unknown): string | undefined {
  return textOf(asRecord(value)?.['name']);
}

/** Region names and detail of an address block; masked parts win over plain ones, ciphertexts kept as given. */
function addressParts(
  plain: Readonly<Record<string, unknown>> | undefined,
  masked: Readonly<Record<string, unknown>> | undefined,
): Record<string, string> {
  const address: Record<string, string> = {};
  for (const part of ['province', 'city', 'town', 'street'] as const) {
    const name = regionName(masked?.[part]) ?? regionName(plain?.[part]);
    if (name !== undefined) address[part] = name;
  }
  const detail = textOf(masked?.['detail']) ?? textOf(plain?.['detail']);
  if (detail !== undefined) address['detail'] = detail;
  const encryptDetail = textOf(plain?.['encrypt_detail']);
  if (encryptDetail !== undefined) address['encryptDetail'] = encryptDetail;
  return address;
}

function addressOf(order: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  const address = addressParts(asRecord(order['post_addr']), asRecord(order['mask_post_addr']));
  const receiver = textOf(order['mask_post_receiver']) ?? textOf(order['post_receiver']);
  if (receiver !== undefined) address['receiver'] = receiver;
  const encryptReceiver = textOf(order['encrypt_post_receiver']);
  if (encryptReceiver !== undefined) address['encryptReceiver'] = encryptReceiver;
  const encryptTel = textOf(order['encrypt_post_tel']);
  if (encryptTel !== undefined) address['encryptTel'] = encryptTel;
  return Object.keys(address).length === 0 ? undefined : address;
}

function buyerOf(order: Readonly<Record<string, unknown>>): CanonicalBuyer {
  const identifiers: BuyerIdentifier[] = [];
  // doudian_open_id is the buyer's id for this shop (加密用户ID串); open_id only stands in when
  // it is absent, so one buyer never gets two different douyin_open_id values from one order.
  const openId = textOf(order['doudian_open_id']) ?? textOf(order['open_id']);
  if (openId !== undefined) identifiers.push({ type: 'douyin_open_id', value: openId });
  // Phones are masked or encrypted in every order API answer: kept as given, never an identifier.
  const maskedPhone = textOf(order['mask_post_tel']) ?? textOf(order['encrypt_post_tel']) ?? textOf(order['post_tel']);
  const address = addressOf(order);
  return {
    identifiers,
    ...(maskedPhone === undefined ? {} : { maskedPhone }),
    ...(address === undefined ? {} : { address }),
  };
}

function lineOf(sku: Readonly<Record<string, unknown>>): CanonicalOrderLine | undefined {
  const lineId = nonZeroIdOf(sku['order_id']);
  if (lineId === undefined) return undefined;
  const quantity = intOf(sku['item_num']);
  const amount = amountOf(sku['pay_amount']) ?? amountOf(sku['order_amount']);
  const unitPrice = amountOf(sku['origin_amount']);
  const productId = textOf(sku['product_id_str']) ?? nonZeroIdOf(sku['product_id']);
  const skuId = nonZeroIdOf(sku['sku_id']);
  return {
    lineId,
    ...(productId === undefined ? {} : { productId }),
    ...(skuId === undefined ? {} : { skuId }),
    title: textOf(sku['product_name']) ?? '',
    quantity: quantity !== undefined && quantity > 0 ? quantity : 1,
    unitPrice: unitPrice ?? amount ?? '0.00',
    amount: amount ?? '0.00',
  };
}

function attributionOf(skus: readonly Readonly<Record<string, unknown>>[]): ChannelAttribution | undefined {
  // The first sku order that says where it came from speaks for the order.
  for (const sku of skus) {
    const liveRoomId = textOf(sku['room_id_str']) ?? nonZeroIdOf(sku['room_id']);
    const anchorId = nonZeroIdOf(sku['author_id']);
    const videoId = textOf(sku['video_id']);
    const videoIdUsable = videoId !== undefined && videoId !== '0' ? videoId : undefined;
    const cBiz = intOf(sku['c_biz']);
    const channel =
      liveRoomId !== undefined
        ? 'douyin_live'
        : videoIdUsable !== undefined
          ? 'douyin_video'
          : cBiz === 2
            ? 'alliance' // 精选联盟
            : cBiz === 8
              ? 'shop' // 小店自卖
              : undefined;
    if (channel === undefined && anchorId === undefined) continue;
    return {
      ...(channel === undefined ? {} : { channel }),
      ...(liveRoomId === undefined ? {} : { liveRoomId }),
      ...(anchorId === undefined ? {} : { anchorId }),
      ...(videoIdUsable === undefined ? {} : { videoId: videoIdUsable }),
    };
  }
  return undefined;
}

function promotionsOf(order: Readonly<Record<string, unknown>>): CanonicalPromotion[] {
  const detail = asRecord(order['promotion_detail']);
  if (detail === undefined) return [];
  const promotions: CanonicalPromotion[] = [];
  for (const part of ['shop_discount_detail', 'platform_discount_detail', 'kol_discount_detail'] as const) {
    const block = asRecord(detail[part]);
    if (block === undefined) continue;
    const coupons = Array.isArray(block['coupon_info']) ? block['coupon_info'] : [];
    for (const coupon of coupons) {
      const record = asRecord(coupon);
      const amount = amountOf(record?.['coupon_amount']);
      if (record === undefined || amount === undefined) continue;
      const id = nonZeroIdOf(record['coupon_id']);
      promotions.push({ ...(id === undefined ? {} : { id }), name: textOf(record['coupon_name']) ?? 'coupon', amount, kind: 'coupon' });
    }
    const campaigns = Array.isArray(block['full_discount_info']) ? block['full_discount_info'] : [];
    for (const campaign of campaigns) {
      const record = asRecord(campaign);
      const amount = amountOf(record?.['campaign_amount']);
      if (record === undefined || amount === undefined) continue;
      const id = nonZeroIdOf(record['campaign_id']);
      promotions.push({
        ...(id === undefined ? {} : { id }),
        name: textOf(record['campaign_name']) ?? 'campaign',
        amount,
        kind: 'promotion',
      });
    }
  }
  return promotions;
}

/**
 * One order from order.orderDetail (`shop_order_detail`) or order.searchList
 * (`shop_order_list[i]`) → a canonical order, or undefined when it lacks its id, status or
 * creation time. Pure.
 */
export function normalizeShopOrder(raw: unknown, config: DoudianConfig): CanonicalOrder | undefined {
  const order = asRecord(raw);
  if (order === undefined) return undefined;
  const orderId = nonZeroIdOf(order['order_id']);
  const statusCode = intOf(order['order_status']);
  const status = statusCode === undefined ? undefined : SHOP_ORDER_STATUS[statusCode];
  const createdAt = isoOfPlatformTime(order['create_time']);
  if (orderId === undefined || status === undefined || createdAt === undefined) return undefined;

  const updatedAt = isoOfPlatformTime(order['update_time']);
  const statusTime: Record<OrderStatus, unknown> = {
    created: order['create_time'],
    paid: order['pay_time'],
    shipped: order['ship_time'],
    completed: order['finish_time'],
    cancelled: order['update_time'],
    closed: order['update_time'],
  };
  const statusAt = isoOfPlatformTime(statusTime[status]) ?? updatedAt ?? createdAt;
  const paidAt = isoOfPlatformTime(order['pay_time']);
  const version = secondsOf(order['update_time']);
  const skus = (Array.isArray(order['sku_order_list']) ? order['sku_order_list'] : [])
    .map(asRecord)
    .filter((s): s is Readonly<Record<string, unknown>> => s !== undefined);
  const lines = skus.map(lineOf).filter((l): l is CanonicalOrderLine => l !== undefined);
  const discountAmount = amountOf(order['promotion_amount']);
  const shippingAmount = amountOf(order['post_amount']);
  const promotions = promotionsOf(order);
  const attribution = attributionOf(skus);

  return {
    platform: PLATFORM,
    shopId: idOf(order['shop_id']) ?? config.shopId,
    orderId,
    status,
    statusAt,
    ...(version === undefined ? {} : { version: String(version) }),
    currency: CURRENCY,
    totalAmount: amountOf(order['pay_amount']) ?? amountOf(order['order_amount']) ?? '0.00',
    ...(discountAmount === undefined ? {} : { discountAmount }),
    ...(shippingAmount === undefined ? {} : { shippingAmount }),
    createdAt,
    ...(paidAt === undefined ? {} : { paidAt }),
    buyer: buyerOf(order),
    lines,
    ...(promotions.length === 0 ? {} : { promotions }),
    ...(attribution === undefined ? {} : { attribution }),
  };
}

/**
 * A Douyin shop message → canonical records. Never throws: anything unusable becomes
 * `{kind: 'ignored', reason}`.
 */
export function normalizeDoudianMessage(message: PlatformMessage, ctx: NormalizeContext<DoudianConfig>): CanonicalRecord[] {
  if (message.test === true) return ignored('push URL check (tag 0)');
  const data = asRecord(message.payload);
  if (data === undefined) return ignored(`tag ${message.type} payload is not an object`);

  // A payload that is an order from the order APIs (stored by fallback polling or enrichment).
  const detail = asRecord(data['shop_order_detail']) ?? (data['sku_order_list'] !== undefined ? data : undefined);
  if (detail !== undefined) {
    const order = normalizeShopOrder(detail, ctx.config);
    return order === undefined ? ignored('order detail without order_id, known order_status or create_time') : [{ kind: 'order', order }];
  }

  const reason = IGNORED_TAGS[message.type];
  if (reason !== undefined) return ignored(reason);
  if (ORDER_TAGS[message.type] !== undefined) return normalizeTradeMessage(message.type, data, ctx);
  if (REFUND_TAGS[message.type] !== undefined) return normalizeRefundMessage(message.type, data, ctx);
  return ignored(`tag ${message.type} is not used by Datong`);
}

/**
 * The parent order id a message is about, for a caller that wants the complete order
 * (`client.getOrder(id)`) because push messages are thin. Undefined for test messages, order
 * details (already complete) and tags that are not about an order.
 */
export function doudianOrderIdOf(message: PlatformMessage): string | undefined {
  if (message.test === true) return undefined;
  const data = asRecord(message.payload);
  if (data === undefined || data['shop_order_detail'] !== undefined || data['sku_order_list'] !== undefined) return undefined;
  const known = ORDER_TAGS[message.type] ?? REFUND_TAGS[message.type] ?? IGNORED_TAGS[message.type];
  return known === undefined ? undefined : nonZeroIdOf(data['p_id']);
}
