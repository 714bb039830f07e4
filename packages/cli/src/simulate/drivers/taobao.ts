import { randomBytes } from 'node:crypto';
import { startFakeTopServer, type FakeTopServer, type FakeTrade } from '@datong/connectors';
import { fenText } from '../plan.js';
import { maskPhone } from '../population.js';
import type { Delivery, OrderStep, SimOrder } from '../model.js';
import { beijingTime, digest, LatestOrders, shopperOf, type DeliveryOutcome, type DriverContext, type PlatformDriver, type StartResult } from './driver.js';

/**
 * Taobao / Tmall never pushes: its messages wait in TMC until Datong pulls and confirms them.
 * This driver puts each order step into the fake TOP router's TMC queue exactly as TMC hands it
 * out (the fake's emitTradeMessage / emitRefundMessage), and keeps the trade the increment and
 * fullinfo APIs serve at the order's furthest state.
 */

export const TAOBAO_SELLER_NICK = '大同茶馆旗舰店';

const TRADE_STATUS: Partial<Record<OrderStep, string>> = {
  created: 'WAIT_BUYER_PAY',
  paid: 'WAIT_SELLER_SEND_GOODS',
  shipped: 'WAIT_BUYER_CONFIRM_GOODS',
  completed: 'TRADE_FINISHED',
  cancelled: 'TRADE_CLOSED_BY_TAOBAO',
  closed: 'TRADE_CLOSED',
};

const TOPIC: Readonly<Record<OrderStep, string>> = {
  created: 'taobao_trade_TradeCreate',
  paid: 'taobao_trade_TradeBuyerPay',
  confirmed: 'taobao_trade_TradeChanged',
  shipped: 'taobao_trade_TradeSellerShip',
  completed: 'taobao_trade_TradeSuccess',
  cancelled: 'taobao_trade_TradeClose',
  closed: 'taobao_trade_TradeClose',
  refund_requested: 'taobao_refund_RefundCreated',
  refund_approved: 'taobao_refund_RefundSellerAgreeAgreement',
  refunded: 'taobao_refund_RefundSuccess',
};

function statusOf(order: SimOrder): string {
  for (let i = order.stepIndex; i >= 0; i--) {
    const s = TRADE_STATUS[order.path[i] as OrderStep];
    if (s !== undefined) return s;
  }
  return 'WAIT_BUYER_PAY';
}

function modifiedAt(order: SimOrder): number {
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

export function createTaobaoDriver(): PlatformDriver {
  let ctx: DriverContext | undefined;
  let fake: FakeTopServer | undefined;
  let connectorId = '';
  let published = 0;
  const appKey = String(20_000_000 + randomBytes(3).readUIntBE(0, 3));
  const appSecret = randomBytes(16).toString('hex');
  const sessionKey = `6100${randomBytes(20).toString('hex')}`;
  const latest = new LatestOrders();

  const tradeOf = (order: SimOrder): FakeTrade => {
    const shopper = ctx ? shopperOf(ctx, order) : undefined;
    const account = shopper?.taobao;
    const status = statusOf(order);
    const refund = order.refund;
    return {
      tid: order.orderId,
      tid_str: order.orderId,
      status,
      type: 'fixed',
      created: beijingTime(order.createdAt),
      modified: beijingTime(modifiedAt(order)),
      ...(order.paidAt !== undefined ? { pay_time: beijingTime(order.paidAt) } : {}),
      ...(order.shippedAt !== undefined ? { consign_time: beijingTime(order.shippedAt) } : {}),
      ...(order.completedAt !== undefined || order.closedAt !== undefined || order.cancelledAt !== undefined
        ? { end_time: beijingTime(order.completedAt ?? order.closedAt ?? order.cancelledAt ?? 0) }
        : {}),
      payment: fenText(order.totalFen),
      total_fee: fenText(order.itemsFen),
      post_fee: fenText(order.shippingFen),
      discount_fee: fenText(order.discountFen),
      adjust_fee: '0.00',
      buyer_nick: account?.nick ?? 't**1',
      ...(account ? { buyer_open_uid: account.openUid } : {}),
      seller_nick: TAOBAO_SELLER_NICK,
      receiver_name: shopper ? `${shopper.name.slice(0, 1)}**` : '**',
      receiver_state: '浙江省',
      receiver_city: '杭州市',
      receiver_district: '西湖区',
      receiver_address: '文***路**号',
      receiver_zip: '000000',
      // Apps allowed to read the buyer's number get it in clear; the others see it masked.
      ...(account ? { receiver_mobile: account.phoneInClear ? account.phone.slice(3) : maskPhone(account.phone) } : {}),
      oaid: digest(`oaid:${order.orderId}`).slice(0, 60),
      trade_from: 'WAP,WAP',
      orders: {
        order: order.lines.map((l) => ({
          oid: l.lineId,
          oid_str: l.lineId,
          num_iid: l.productId,
          sku_id: l.skuId,
          title: l.title,
          price: fenText(l.unitPriceFen),
          num: l.quantity,
          total_fee: fenText(l.unitPriceFen * l.quantity),
          payment: fenText(l.unitPriceFen * l.quantity),
          divide_order_fee: fenText(l.payFen),
          discount_fee: '0.00',
          adjust_fee: '0.00',
          status,
          refund_status: refund && refund.lineId === l.lineId ? (refund.refundedAt !== undefined ? 'SUCCESS' : 'WAIT_SELLER_AGREE') : 'NO_REFUND',
          ...(refund && refund.lineId === l.lineId ? { refund_id: refund.refundId } : {}),
          seller_type: 'B',
        })),
      },
      ...(order.couponName !== undefined
        ? { promotion_details: { promotion_detail: [{ id: order.orderId, promotion_name: order.couponName, discount_fee: fenText(order.discountFen), promotion_id: `shopbonus-${order.orderId.slice(0, 8)}` }] } }
        : {}),
    };
  };

  return {
    platform: 'taobao',
    async start(c): Promise<StartResult> {
      ctx = c;
      fake = await startFakeTopServer({ appKey, appSecret, sessionKey, sellerNick: TAOBAO_SELLER_NICK, redeliverAfterMs: 60_000 });
      const created = await c.api.createConnector('taobao', `模拟 天猫 ${c.runId}`, { appKey, appSecret, sessionKey, apiBase: fake.apiBase });
      if (!created) return { ok: false, reason: 'this Datong has no taobao connector (CONNECTOR_PLATFORM_UNKNOWN)' };
      connectorId = created.id;
      return {
        ok: true,
        created: [{ what: 'taobao connector', id: created.id, details: [`seller ${TAOBAO_SELLER_NICK}, fake TOP router with the TMC queue Datong pulls at ${fake.apiBase}`] }],
      };
    },
    async deliver(d: Delivery): Promise<DeliveryOutcome> {
      const e = d.event;
      if (e.kind !== 'order' || !fake) return { accepted: false, detail: 'not a taobao event' };
      const furthest = latest.note(e.order);
      const topic = TOPIC[e.step];
      if (topic.startsWith('taobao_refund_')) {
        const r = e.order.refund;
        const at = e.step === 'refunded' ? r?.refundedAt : e.step === 'refund_approved' ? r?.approvedAt : r?.requestedAt;
        const account = ctx ? shopperOf(ctx, e.order).taobao : undefined;
        fake.putTrade(tradeOf(furthest));
        fake.emitRefundMessage(
          topic,
          {
            refund_id: r?.refundId ?? '',
            tid: e.order.orderId,
            oid: r?.lineId ?? '',
            refund_fee: fenText(r?.amountFen ?? 0),
            modified: beijingTime(at ?? e.order.createdAt),
            refund_phase: e.order.shippedAt === undefined ? 'onsale' : 'aftersale',
          },
          account ? { buyer_nick: account.nick, buyer_open_uid: account.openUid } : {},
        );
      } else {
        // TMC describes the trade as it was when the message was produced; the API then serves its furthest state.
        fake.putTrade(tradeOf(e.order));
        fake.emitTradeMessage(topic, e.order.orderId);
        fake.putTrade(tradeOf(furthest));
      }
      published++;
      return { accepted: true };
    },
    backlog() {
      if (!fake) return 0;
      const q = fake.queueState();
      return q.ready + q.leased;
    },
    connectorIds: () => (connectorId ? [connectorId] : []),
    summary() {
      const q = fake?.queueState();
      return q ? [`${published} TMC messages queued; Datong pulled and confirmed ${q.confirmed}, ${q.ready + q.leased} still queued`] : [];
    },
    async close() {
      await fake?.close();
    },
  };
}
