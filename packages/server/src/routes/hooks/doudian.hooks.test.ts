import { buildDoudianPush, startFakeDoudianServer, type FakeDoudianServer, type FakeShopOrder } from '@datong/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';

// Douyin shop pushes carry ids and a status only: no buyer, no lines. The order's details come
// from the platform's order API (order.orderDetail on the local fake), and its Order Completed
// waits for the real amount. Status-only messages never overwrite known amounts.

const CREDS = { appKey: '7123456789012345678', appSecret: 'dd-secret-0123456789abcdef', shopId: '4463798' };
const NOW = Date.now();

let h: Harness;
let fake: FakeDoudianServer;
let connectorId: string;

function fullOrder(orderId: string, openId: string, payFen: number, updateTime: number): FakeShopOrder {
  return {
    order_id: orderId,
    shop_id: 4463798,
    order_status: 2,
    create_time: updateTime - 120,
    pay_time: updateTime - 60,
    update_time: updateTime,
    pay_amount: payFen,
    post_amount: 0,
    doudian_open_id: openId,
    mask_post_tel: '138****5678',
    sku_order_list: [
      { order_id: orderId, parent_order_id: orderId, product_id: 3654123987456321987n, product_name: '大同羊绒围巾', sku_id: 1765432109876543210n, item_num: 1, origin_amount: payFen, pay_amount: payFen },
    ],
  };
}

async function pushTag(tag: number, orderId: string, extra: Record<string, unknown>) {
  const p = buildDoudianPush(CREDS, [{ tag, data: { biz: 2, order_type: 0, p_id: BigInt(orderId), s_ids: [BigInt(orderId)], shop_id: 4463798, ...extra } }]);
  const r = await h.inject({ method: 'POST', url: `/v1/hooks/doudian/${connectorId}`, headers: p.headers, payload: p.body });
  expect(r.statusCode).toBe(200);
  expect(r.json()).toEqual({ code: 0, msg: 'success' });
}

async function order(orderId: string) {
  const r = await h.db.query<{ status: string; total: string; details_known: boolean; completed_event: boolean; details_attempts: number }>(
    "SELECT status, total, details_known, completed_event, details_attempts FROM orders WHERE platform = 'doudian' AND order_id = $1",
    [orderId],
  );
  return r.rows[0];
}

async function timelineOf(openId: string) {
  const c = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=douyin_open_id&value=${encodeURIComponent(openId)}`, headers: bearer(h.adminKey) });
  if (c.statusCode !== 200) return null;
  const t = await h.inject({ method: 'GET', url: `/v1/customers/${c.json().id}/timeline?limit=100`, headers: bearer(h.adminKey) });
  return t.json<{ data: { event: string | null; properties: Record<string, unknown> }[] }>().data;
}

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(NOW));
  fake = await startFakeDoudianServer({ appKey: CREDS.appKey, appSecret: CREDS.appSecret, shopId: CREDS.shopId });
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'doudian', name: '抖店旗舰店', config: { ...CREDS, apiBase: fake.url } } });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

describe('Douyin shop: status-only pushes get their details from the order API', () => {
  const orderId = '6919395948153939001';
  const openId = '1@#buyer-douyin-1';

  it('a paid push (ids and amount only) becomes an order on the buyer’s timeline with the real amount and lines', async () => {
    fake.addOrder(fullOrder(orderId, openId, 25800, Math.floor(NOW / 1000) - 10));
    await pushTag(101, orderId, { order_status: 2, pay_amount: 25800, pay_time: Math.floor(NOW / 1000) - 60 });
    await h.drain();
    const o = await order(orderId);
    expect(o).toMatchObject({ status: 'paid', total: '258.00', details_known: true, completed_event: true });
    const events = await timelineOf(openId);
    const completed = events?.filter((e) => e.event === 'Order Completed') ?? [];
    expect(completed).toHaveLength(1);
    expect(completed[0]?.properties).toMatchObject({ order_id: orderId, total: '258.00', currency: 'CNY' });
  });

  it('a ship push moves the status without touching the amount, and adds Order Shipped', async () => {
    await pushTag(102, orderId, { order_status: 3, update_time: Math.floor(NOW / 1000) + 5 });
    await h.drain();
    expect(await order(orderId)).toMatchObject({ status: 'shipped', total: '258.00', details_known: true });
    const events = await timelineOf(openId);
    expect(events?.filter((e) => e.event === 'Order Shipped')).toHaveLength(1);
    expect(events?.filter((e) => e.event === 'Order Completed')).toHaveLength(1);
  });

  it('while the order API is down the order waits without an amount-less Order Completed, then gets it once the API is back', async () => {
    const second = '6919395948153939002';
    const buyer = '1@#buyer-douyin-2';
    fake.addOrder(fullOrder(second, buyer, 9900, Math.floor(NOW / 1000) - 5));
    fake.setOutage(true);
    await pushTag(101, second, { order_status: 2, pay_amount: 9900, pay_time: Math.floor(NOW / 1000) - 30 });
    await h.drain();
    const waiting = await order(second);
    expect(waiting).toMatchObject({ status: 'paid', details_known: false, completed_event: false });
    expect(waiting?.details_attempts).toBeGreaterThanOrEqual(1);
    expect(await timelineOf(buyer)).toBeNull();

    fake.setOutage(false);
    h.setNow(new Date(NOW + 60_000)); // past the first retry delay (30 s)
    await h.drain();
    expect(await order(second)).toMatchObject({ status: 'paid', total: '99.00', details_known: true, completed_event: true });
    const events = await timelineOf(buyer);
    expect(events?.filter((e) => e.event === 'Order Completed').map((e) => e.properties['total'])).toEqual(['99.00']);
  });
});
