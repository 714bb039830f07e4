import { randomBytes } from 'node:crypto';
import { buildYouzanPush, fakeYouzanTradeDetail, sendYouzanPush, startFakeYouzanServer, type FakeYouzanServer, type YouzanTradeDetail } from '@datong/connectors';
import { fenText } from '../plan.js';
import { maskPhone } from '../population.js';
import type { Delivery, OrderStep, SimOrder } from '../model.js';
import { beijingTime, LatestOrders, outcomeOf, seconds, shopperOf, uuidOf, type DeliveryOutcome, type DriverContext, type PlatformDriver, type StartResult } from './driver.js';

/** The simulated Youzan shop (有赞 kdt_id). */
export const YOUZAN_KDT_ID = '46030001';

/** order_info.status after each order step (refund steps leave the order's own status alone). */
const ORDER_STATUS: Partial<Record<OrderStep, string>> = {
  created: 'WAIT_BUYER_PAY',
  paid: 'WAIT_SELLER_SEND_GOODS',
  shipped: 'WAIT_BUYER_CONFIRM_GOODS',
  completed: 'TRADE_SUCCESS',
  cancelled: 'TRADE_CLOSED',
  closed: 'TRADE_CLOSED',
};

/** The order's status as of its latest order step. */
function statusOf(order: SimOrder): string {
  for (let i = order.stepIndex; i >= 0; i--) {
    const s = ORDER_STATUS[order.path[i] as OrderStep];
    if (s !== undefined) return s;
  }
  return 'WAIT_BUYER_PAY';
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

export function createYouzanDriver(): PlatformDriver {
  let ctx: DriverContext | undefined;
  let fake: FakeYouzanServer | undefined;
  let hookUrl = '';
  let connectorId = '';
  const clientId = randomBytes(9).toString('hex');
  const clientSecret = randomBytes(16).toString('hex');
  const latest = new LatestOrders();

  const detailOf = (order: SimOrder): YouzanTradeDetail => {
    const account = ctx ? shopperOf(ctx, order).youzan : undefined;
    const shopper = ctx ? shopperOf(ctx, order) : undefined;
    const phone = account ? (account.phoneInClear ? account.phone.slice(3) : maskPhone(account.phone)) : undefined;
    return fakeYouzanTradeDetail({
      tid: order.orderId,
      status: statusOf(order),
      created: beijingTime(order.createdAt),
      updateTime: beijingTime(updatedAt(order)),
      ...(order.paidAt !== undefined ? { payTime: beijingTime(order.paidAt) } : {}),
      ...(order.shippedAt !== undefined ? { consignTime: beijingTime(order.shippedAt) } : {}),
      ...(order.completedAt !== undefined ? { successTime: beijingTime(order.completedAt) } : {}),
      ...(order.cancelledAt !== undefined ? { closeType: 1 } : order.closedAt !== undefined ? { closeType: 2 } : {}),
      ...(account ? { yzOpenId: account.openId } : {}),
      ...(phone !== undefined ? { buyerPhone: phone } : {}),
      ...(shopper ? { nickname: shopper.name } : {}),
      lines: order.lines.map((l) => ({ oid: l.lineId, itemId: Number(l.productId), skuId: Number(l.skuId), title: l.title, num: l.quantity, price: fenText(l.unitPriceFen) })),
      postFee: fenText(order.shippingFen),
    });
  };

  /** The push type and msg of one step, as Youzan sends them. */
  const messageOf = (step: OrderStep, order: SimOrder): { type: string; status: string | null; msg: Record<string, unknown>; at: number } => {
    const tid = order.orderId;
    const refund = order.refund;
    const refundMsg = (at: number): Record<string, unknown> => ({
      oids: refund?.lineId ?? '',
      refunded_fee: fenText(refund?.amountFen ?? 0),
      refund_id: refund?.refundId ?? '',
      refund_reason: '11',
      refund_reason_desc: refund?.reason ?? '',
      refund_type: order.shippedAt === undefined ? 'REFUND_ONLY' : 'RETURN_AND_REFUND',
      tid,
      update_time: beijingTime(at),
    });
    switch (step) {
      case 'created':
        return { type: 'trade_TradeCreate', status: 'WAIT_BUYER_PAY', msg: detailOf(order) as unknown as Record<string, unknown>, at: order.createdAt };
      case 'paid':
      case 'confirmed':
        return { type: 'trade_TradeBuyerPay', status: 'WAIT_SELLER_SEND_GOODS', msg: detailOf(order) as unknown as Record<string, unknown>, at: order.paidAt ?? order.createdAt };
      case 'shipped':
        return { type: 'trade_TradeSellerShip', status: 'WAIT_BUYER_CONFIRM_GOODS', msg: { update_time: beijingTime(order.shippedAt ?? 0), tid }, at: order.shippedAt ?? 0 };
      case 'completed':
        return { type: 'trade_TradeSuccess', status: 'TRADE_SUCCESS', msg: { update_time: beijingTime(order.completedAt ?? 0), tid }, at: order.completedAt ?? 0 };
      case 'cancelled':
        return {
          type: 'trade_TradeClose',
          status: 'TRADE_CLOSED',
          msg: { close_reason: '超时未支付', close_type: 1, update_time: beijingTime(order.cancelledAt ?? 0), tid },
          at: order.cancelledAt ?? 0,
        };
      case 'closed':
        return {
          type: 'trade_TradeClose',
          status: 'TRADE_CLOSED',
          msg: { close_reason: '全额退款', close_type: 2, update_time: beijingTime(order.closedAt ?? 0), tid },
          at: order.closedAt ?? 0,
        };
      case 'refund_requested':
        return { type: 'trade_refund_BuyerCreated', status: null, msg: refundMsg(refund?.requestedAt ?? 0), at: refund?.requestedAt ?? 0 };
      case 'refund_approved':
        return { type: 'trade_refund_RefundSellerAgree', status: null, msg: refundMsg(refund?.approvedAt ?? 0), at: refund?.approvedAt ?? 0 };
      case 'refunded':
        return { type: 'trade_refund_RefundSuccess', status: null, msg: refundMsg(refund?.refundedAt ?? 0), at: refund?.refundedAt ?? 0 };
    }
  };

  return {
    platform: 'youzan',
    async start(c): Promise<StartResult> {
      ctx = c;
      fake = await startFakeYouzanServer({ clientId, clientSecret, kdtId: YOUZAN_KDT_ID });
      const created = await c.api.createConnector('youzan', `模拟 有赞 ${c.runId}`, { clientId, clientSecret, kdtId: YOUZAN_KDT_ID, apiBase: fake.url });
      if (!created) return { ok: false, reason: 'this Datong has no youzan connector (CONNECTOR_PLATFORM_UNKNOWN)' };
      connectorId = created.id;
      hookUrl = `${c.api.url}/v1/hooks/youzan/${encodeURIComponent(created.id)}`;
      return { ok: true, created: [{ what: 'youzan connector', id: created.id, details: [`kdt_id ${YOUZAN_KDT_ID}, fake Youzan API at ${fake.url}`, `pushes to ${hookUrl}`] }] };
    },
    async deliver(d: Delivery): Promise<DeliveryOutcome> {
      const e = d.event;
      if (e.kind !== 'order') return { accepted: false, detail: 'not a youzan event' };
      fake?.putOrder(detailOf(latest.note(e.order)));
      const m = messageOf(e.step, e.order);
      const push = buildYouzanPush({
        clientId,
        clientSecret,
        kdtId: YOUZAN_KDT_ID,
        kdtName: '大同茶馆 有赞店',
        type: m.type,
        status: m.status,
        id: e.order.orderId,
        msg: m.msg,
        msgId: uuidOf(e.key),
        // Trade and refund messages carry the update time in seconds as their version.
        version: seconds(m.at),
        sendCount: d.duplicate ? 2 : 1,
      });
      const r = await sendYouzanPush(hookUrl, push, 30_000);
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
