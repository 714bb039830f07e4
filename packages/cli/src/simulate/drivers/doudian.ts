import { randomBytes } from 'node:crypto';
import { buildDoudianPush, sendDoudianPush, startFakeDoudianServer, type FakeDoudianServer, type FakeShopOrder } from '@datong/connectors';
import { maskPhone } from '../population.js';
import type { Delivery, OrderStep, SimOrder } from '../model.js';
import { digest, digits19, LatestOrders, outcomeOf, seconds, shopperOf, type DeliveryOutcome, type DriverContext, type PlatformDriver, type StartResult } from './driver.js';

/**
 * Douyin shop (抖店) pushes are thin, as the platform's are: ids, a status and a time; the buyer
 * (doudian_open_id), lines and amounts are in the order detail the fake Open API serves.
 */

export const DOUDIAN_SHOP_ID = '4463798';

/** order_status after each order step (1 待支付, 2 备货中, 3 已发货, 4 已取消/关闭, 5 已完成). */
const ORDER_STATUS: Partial<Record<OrderStep, number>> = { created: 1, paid: 2, shipped: 3, completed: 5, cancelled: 4, closed: 4 };
const STATUS_DESC: Readonly<Record<number, string>> = { 1: '待支付', 2: '备货中', 3: '已发货', 4: '已取消', 5: '已完成' };

function statusOf(order: SimOrder): number {
  for (let i = order.stepIndex; i >= 0; i--) {
    const s = ORDER_STATUS[order.path[i] as OrderStep];
    if (s !== undefined) return s;
  }
  return 1;
}

function updatedAt(order: SimOrder): number {
  return Math.max(
    order.createdAt,
    order.paidAt ?? 0,
    order.shippedAt ?? 0,
    order.completedAt ?? 0,
    order.cancelledAt ?? 0,
    order.closedAt ?? 0,
    order.refund?.refundedAt ?? order.refund?.approvedAt ?? order.refund?.requestedAt ?? 0,
  );
}

/** Looks like the platform's ciphertexts (not a real one). */
function cipher(kind: '#' | '$', key: string): string {
  const body = Buffer.from(digest(key), 'hex').toString('base64');
  return kind === '$' ? `$$${body}*CgkIARCtHCABKAESPgo8$1$$` : `#${body.slice(0, 4)}#${body}*CgkIARCtHCABKAESPgo8#1##`;
}

export function createDoudianDriver(): PlatformDriver {
  let ctx: DriverContext | undefined;
  let fake: FakeDoudianServer | undefined;
  let hookUrl = '';
  let connectorId = '';
  const appKey = `7${BigInt(`0x${randomBytes(8).toString('hex')}`) % 10n ** 18n}`.padEnd(19, '0');
  const appSecret = randomBytes(18).toString('hex');
  const latest = new LatestOrders();

  const detailOf = (order: SimOrder): FakeShopOrder => {
    const shopper = ctx ? shopperOf(ctx, order) : undefined;
    const status = statusOf(order);
    const update = seconds(updatedAt(order));
    const maskedTel = shopper ? maskPhone(shopper.phone) : '138****0000';
    return {
      shop_id: BigInt(DOUDIAN_SHOP_ID),
      shop_name: '大同茶馆抖音小店',
      open_id: '',
      order_id: order.orderId,
      order_level: 2,
      biz: 2,
      biz_desc: '小店',
      order_type: 0,
      order_status: status,
      order_status_desc: STATUS_DESC[status] ?? '',
      main_status: status,
      main_status_desc: STATUS_DESC[status] ?? '',
      pay_time: order.paidAt !== undefined ? seconds(order.paidAt) : 0,
      finish_time: order.completedAt !== undefined ? seconds(order.completedAt) : 0,
      create_time: seconds(order.createdAt),
      update_time: update,
      cancel_reason: order.cancelledAt !== undefined ? '买家取消订单' : order.closedAt !== undefined ? '退款成功' : '',
      b_type: 2,
      b_type_desc: '抖音',
      pay_type: 1,
      order_amount: order.itemsFen + order.shippingFen,
      pay_amount: order.totalFen,
      post_amount: order.shippingFen,
      promotion_amount: order.discountFen,
      promotion_shop_amount: order.discountFen,
      promotion_platform_amount: 0,
      encrypt_post_tel: cipher('$', `tel:${order.shopper}`),
      encrypt_post_receiver: cipher('#', `name:${order.shopper}`),
      post_addr: {
        province: { name: '浙江省', id: '33' },
        city: { name: '杭州市', id: '3301' },
        town: { name: '西湖区', id: '330106' },
        street: { name: '文新街道', id: '330106004' },
        detail: '',
        encrypt_detail: cipher('#', `addr:${order.shopper}`),
      },
      mask_post_receiver: shopper ? `${shopper.name.slice(0, 1)}*` : '*',
      mask_post_tel: maskedTel,
      ...(order.shippedAt !== undefined ? { ship_time: seconds(order.shippedAt) } : {}),
      sku_order_list: order.lines.map((l) => ({
        order_id: BigInt(l.lineId),
        parent_order_id: BigInt(order.orderId),
        order_level: 3,
        order_status: status,
        main_status: status,
        create_time: seconds(order.createdAt),
        update_time: update,
        pay_time: order.paidAt !== undefined ? seconds(order.paidAt) : 0,
        product_id: BigInt(l.productId),
        product_id_str: l.productId,
        product_name: l.title,
        sku_id: BigInt(l.skuId),
        item_num: l.quantity,
        origin_amount: l.unitPriceFen,
        sum_amount: l.unitPriceFen * l.quantity,
        order_amount: l.unitPriceFen * l.quantity,
        pay_amount: l.payFen,
        promotion_amount: l.unitPriceFen * l.quantity - l.payFen,
        author_id: 0,
        room_id: 0,
        video_id: '',
        c_biz: 8,
        c_biz_desc: '小店自卖',
        mask_post_tel: maskedTel,
      })),
      ...(shopper?.doudian ? { doudian_open_id: shopper.doudian.openId } : {}),
      total_promotion_amount: order.discountFen,
    };
  };

  /** The push tag and data of one step (ids as bigint: written as bare 19-digit numbers). */
  const messageOf = (step: OrderStep, order: SimOrder): { tag: number; data: Record<string, unknown> } => {
    const base = { biz: 2, order_type: 0, p_id: BigInt(order.orderId), s_ids: order.lines.map((l) => BigInt(l.lineId)), shop_id: BigInt(DOUDIAN_SHOP_ID) };
    const refund = order.refund;
    const afterSale = (status: number, extra: Record<string, unknown>): Record<string, unknown> => ({
      aftersale_id: BigInt(refund?.refundId ?? '0'),
      aftersale_status: status,
      aftersale_type: order.shippedAt === undefined ? 2 : 0,
      p_id: BigInt(order.orderId),
      s_id: BigInt(refund?.lineId ?? order.lines[0]?.lineId ?? '0'),
      shop_id: BigInt(DOUDIAN_SHOP_ID),
      reason_code: 3,
      refund_amount: refund?.amountFen ?? 0,
      refund_post_amount: 0,
      refund_voucher_num: 0,
      ...extra,
    });
    switch (step) {
      case 'created':
        return { tag: 100, data: { ...base, create_time: seconds(order.createdAt), order_status: 1 } };
      case 'paid':
      case 'confirmed':
        return { tag: 101, data: { ...base, order_status: 2, pay_amount: order.totalFen, pay_time: seconds(order.paidAt ?? order.createdAt), pay_type: 1 } };
      case 'shipped':
        return {
          tag: 102,
          data: { ...base, order_status: 3, update_time: seconds(order.shippedAt ?? 0), logistics_msg: { express_company_id: 'zhongtong', logistics_code: digits19(`ship:${order.orderId}`).slice(0, 14) } },
        };
      case 'completed':
        return { tag: 103, data: { ...base, complete_time: seconds(order.completedAt ?? 0), order_status: 5 } };
      case 'cancelled':
        return { tag: 106, data: { ...base, cancel_reason: '买家取消订单', cancel_time: seconds(order.cancelledAt ?? 0), order_status: 4 } };
      case 'closed':
        return { tag: 106, data: { ...base, cancel_reason: '退款成功', cancel_time: seconds(order.closedAt ?? 0), order_status: 4 } };
      case 'refund_requested':
        return { tag: 200, data: afterSale(6, { apply_time: seconds(refund?.requestedAt ?? 0), update_time: seconds(refund?.requestedAt ?? 0) }) };
      case 'refund_approved':
        return { tag: 201, data: afterSale(7, { agree_time: seconds(refund?.approvedAt ?? 0), update_time: seconds(refund?.approvedAt ?? 0) }) };
      case 'refunded':
        return { tag: 206, data: afterSale(12, { success_time: seconds(refund?.refundedAt ?? 0), update_time: seconds(refund?.refundedAt ?? 0) }) };
    }
  };

  return {
    platform: 'doudian',
    async start(c): Promise<StartResult> {
      ctx = c;
      fake = await startFakeDoudianServer({ appKey, appSecret, shopId: DOUDIAN_SHOP_ID, shopName: '大同茶馆抖音小店' });
      const created = await c.api.createConnector('doudian', `模拟 抖店 ${c.runId}`, { appKey, appSecret, shopId: DOUDIAN_SHOP_ID, apiBase: fake.url });
      if (!created) return { ok: false, reason: 'this Datong has no doudian connector (CONNECTOR_PLATFORM_UNKNOWN)' };
      connectorId = created.id;
      hookUrl = `${c.api.url}/v1/hooks/doudian/${encodeURIComponent(created.id)}`;
      return { ok: true, created: [{ what: 'doudian connector', id: created.id, details: [`shop ${DOUDIAN_SHOP_ID}, fake Open API at ${fake.url}`, `pushes to ${hookUrl}`] }] };
    },
    async deliver(d: Delivery): Promise<DeliveryOutcome> {
      const e = d.event;
      if (e.kind !== 'order') return { accepted: false, detail: 'not a doudian event' };
      fake?.addOrder(detailOf(latest.note(e.order)));
      const m = messageOf(e.step, e.order);
      const push = buildDoudianPush({ appKey, appSecret }, [{ tag: m.tag, msgId: digits19(e.key), data: m.data }]);
      const r = await sendDoudianPush(hookUrl, push);
      return outcomeOf(r.status, r.body, (b) => /"code"\s*:\s*0/.test(b));
    },
    backlog: () => 0,
    connectorIds: () => (connectorId ? [connectorId] : []),
    summary: () => [],
    async close() {
      await fake?.close();
    },
  };
}
