import { randomBytes } from 'node:crypto';
import {
  buildMeituanPush,
  meituanCancelParams,
  meituanOrderParams,
  meituanPartRefundParams,
  meituanRefundParams,
  meituanRefundStatusParams,
  sendMeituanPush,
  startFakeMeituanServer,
  type FakeMeituanServer,
} from '@datong/connectors';
import { fenText } from '../plan.js';
import type { Delivery, OrderStep, SimOrder } from '../model.js';
import { digits19, LatestOrders, outcomeOf, seconds, shopperOf, type DeliveryOutcome, type DriverContext, type PlatformDriver, type StartResult } from './driver.js';

/**
 * Meituan (美团外卖/闪购) pushes form parameters signed over the push URL, which is Datong's
 * public URL of the connector (DATONG_PUBLIC_URL): the driver signs over the URL Datong reports
 * (`commerce.webhookUrl`) and sends to the URL it was given, which may differ (a proxy).
 */

export const MEITUAN_POI_CODE = 't_datong_sim_01';

const STATUS: Partial<Record<OrderStep, number>> = { paid: 2, confirmed: 4, shipped: 6, completed: 8, cancelled: 9 };

function statusOf(order: SimOrder): number {
  for (let i = order.stepIndex; i >= 0; i--) {
    const s = STATUS[order.path[i] as OrderStep];
    if (s !== undefined) return s;
  }
  return 2;
}

/** Yuan as text from fen, exact ("18.5" style is produced by the fake's own builder). */
const yuan = (fen: number): string => fenText(fen);

export function createMeituanDriver(): PlatformDriver {
  let ctx: DriverContext | undefined;
  let fake: FakeMeituanServer | undefined;
  let hookUrl = '';
  let pushUrl = '';
  let connectorId = '';
  const appId = String(100_000 + randomBytes(2).readUInt16BE(0));
  const appSecret = randomBytes(16).toString('hex');
  const latest = new LatestOrders();
  const stored = new Set<string>();

  const orderParams = (order: SimOrder): Record<string, string> => {
    const shopper = ctx ? shopperOf(ctx, order) : undefined;
    const at = Math.max(order.paidAt ?? 0, order.confirmedAt ?? 0, order.shippedAt ?? 0, order.completedAt ?? 0, order.cancelledAt ?? 0, order.createdAt);
    return meituanOrderParams({
      orderId: order.orderId,
      appPoiCode: MEITUAN_POI_CODE,
      wmPoiName: '大同茶馆(望京店)',
      status: statusOf(order),
      ctime: seconds(order.createdAt),
      utime: seconds(at),
      recipientName: shopper ? `${shopper.name.slice(0, 1)}(先生/女士)` : '美团客人',
      // Meituan gives the rider a privacy number, never the buyer's own.
      recipientPhone: `1${digits19(`privacy:${order.orderId}`).slice(0, 10)}_${digits19(`ext:${order.orderId}`).slice(0, 4)}`,
      items: order.lines.map((l) => ({ appFoodCode: l.productId, name: l.title, skuId: l.skuId, quantity: l.quantity, price: yuan(l.unitPriceFen) })),
      shippingFee: yuan(order.shippingFen),
      ...(order.discountFen > 0
        ? { discounts: [{ actDetailId: digits19(`act:${order.couponName ?? ''}`).slice(0, 9), type: 1, remark: order.couponName ?? '满减', reduceFee: yuan(order.discountFen) }] }
        : {}),
      ...(shopper?.meituan ? { userId: shopper.meituan.userId } : {}),
    });
  };

  const paramsOf = (step: OrderStep, order: SimOrder): Record<string, string> => {
    const refund = order.refund;
    const whole = refund !== undefined && refund.amountFen >= order.totalFen;
    const line = order.lines.find((l) => l.lineId === refund?.lineId);
    switch (step) {
      case 'created':
      case 'paid':
      case 'confirmed':
      case 'shipped':
      case 'completed':
        return orderParams(order);
      case 'cancelled':
      case 'closed':
        return meituanCancelParams({ orderId: order.orderId, reasonCode: '1001', reason: '用户取消' });
      case 'refund_requested':
      case 'refund_approved': {
        const notify = step === 'refund_requested' ? (whole ? 'apply' : 'part') : 'agree';
        const at = seconds((step === 'refund_requested' ? refund?.requestedAt : refund?.approvedAt) ?? order.createdAt);
        if (whole) return meituanRefundParams({ orderId: order.orderId, notifyType: notify, refundId: refund?.refundId ?? '', ctime: at, reason: refund?.reason ?? '' });
        return meituanPartRefundParams({
          orderId: order.orderId,
          notifyType: notify,
          refundId: refund?.refundId ?? '',
          ctime: at,
          money: yuan(refund?.amountFen ?? 0),
          items: line ? [{ appFoodCode: line.productId, name: line.title, count: line.quantity, refundPrice: yuan(line.unitPriceFen) }] : [],
          reason: refund?.reason ?? '',
        });
      }
      case 'refunded':
        return meituanRefundStatusParams({
          orderId: order.orderId,
          refundId: refund?.refundId ?? '',
          refundStatus: whole ? 3 : 13,
          money: yuan(refund?.amountFen ?? 0),
          ctime: seconds(refund?.requestedAt ?? order.createdAt),
          utime: seconds(refund?.refundedAt ?? order.createdAt),
        });
    }
  };

  return {
    platform: 'meituan',
    async start(c): Promise<StartResult> {
      ctx = c;
      fake = await startFakeMeituanServer({ appId, appSecret, poiCodes: [MEITUAN_POI_CODE] });
      const created = await c.api.createConnector('meituan', `模拟 美团 ${c.runId}`, { appId, appSecret, appPoiCode: MEITUAN_POI_CODE, apiBase: fake.apiBase });
      if (!created) return { ok: false, reason: 'this Datong has no meituan connector (CONNECTOR_PLATFORM_UNKNOWN)' };
      connectorId = created.id;
      hookUrl = `${c.api.url}/v1/hooks/meituan/${encodeURIComponent(created.id)}`;
      pushUrl = created.webhookUrl ?? hookUrl;
      const details = [`store ${MEITUAN_POI_CODE}, fake open API at ${fake.apiBase}`, `pushes to ${hookUrl}`];
      if (pushUrl !== hookUrl) details.push(`signed for the push URL Datong reports: ${pushUrl}`);
      return { ok: true, created: [{ what: 'meituan connector', id: created.id, details }] };
    },
    async deliver(d: Delivery): Promise<DeliveryOutcome> {
      const e = d.event;
      if (e.kind !== 'order') return { accepted: false, detail: 'not a meituan event' };
      const furthest = latest.note(e.order);
      if (fake) {
        if (!stored.has(furthest.orderId)) {
          fake.addOrder(orderParams(furthest));
          stored.add(furthest.orderId);
        } else {
          const p = orderParams(furthest);
          fake.updateOrder(furthest.orderId, { status: p['status'] ?? '2', utime: p['utime'] ?? '0' });
        }
      }
      // Signed now, as Meituan signs each (re)delivery; the message id leaves the timestamp out.
      const push = buildMeituanPush({ pushUrl, appId, appSecret, params: paramsOf(e.step, e.order) });
      const r = await sendMeituanPush({ ...push, url: push.method === 'POST' ? hookUrl : push.url }, 30_000);
      return outcomeOf(r.status, r.body, (b) => /"data"\s*:\s*"ok"/.test(b));
    },
    backlog: () => 0,
    connectorIds: () => (connectorId ? [connectorId] : []),
    summary: () => [],
    async close() {
      await fake?.close();
    },
  };
}
