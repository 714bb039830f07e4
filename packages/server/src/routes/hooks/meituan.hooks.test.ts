import { buildMeituanPush, meituanCancelParams, meituanOrderParams, startFakeMeituanServer, type FakeMeituanServer } from '@datong/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';

// Meituan end to end over HTTP: a connector created through the API, pushes signed the way
// Meituan signs them (sig over the push URL, which is DATONG_PUBLIC_URL + the hook path, and
// the sorted form parameters), answered {"data":"ok"}, deduplicated, applied forward only.

const PUBLIC_URL = 'https://datong.example.cn';
const CREDS = { appId: '143183', appSecret: 'mt-secret-0123456789abcdef', appPoiCode: 't_datong_01' };
const NOW = Date.now();
const SEC = Math.floor(NOW / 1000);

let h: Harness;
let fake: FakeMeituanServer;
let connectorId: string;
let pushUrl: string;

function orderParams(orderId: string, userId: string, status: number, utime: number): Record<string, string> {
  return meituanOrderParams({
    orderId,
    appPoiCode: CREDS.appPoiCode,
    status,
    ctime: utime - 300,
    utime,
    recipientName: '李(先生)',
    recipientPhone: '13800000000_1234',
    items: [
      { appFoodCode: 'tea-01', name: '龙井奶茶', quantity: 2, price: '18.5' },
      { appFoodCode: 'cake-02', name: '桂花糕', quantity: 1, price: '12' },
    ],
    shippingFee: '3',
    userId,
  });
}

function signed(params: Record<string, string>, opts: { timestamp?: number; secret?: string } = {}) {
  return buildMeituanPush({ pushUrl, appId: CREDS.appId, appSecret: opts.secret ?? CREDS.appSecret, params, timestamp: opts.timestamp ?? SEC });
}

async function send(push: { body: string; headers: Readonly<Record<string, string>> }) {
  return h.inject({ method: 'POST', url: `/v1/hooks/meituan/${connectorId}`, headers: { ...push.headers }, payload: push.body });
}

async function order(orderId: string) {
  const r = await h.db.query<{ status: string; total: string; details_known: boolean; completed_event: boolean }>(
    "SELECT status, total, details_known, completed_event FROM orders WHERE platform = 'meituan' AND order_id = $1",
    [orderId],
  );
  return r.rows;
}

async function timelineOf(userId: string) {
  const c = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=meituan_user_id&value=${encodeURIComponent(userId)}`, headers: bearer(h.adminKey) });
  if (c.statusCode !== 200) return null;
  const t = await h.inject({ method: 'GET', url: `/v1/customers/${c.json().id}/timeline?limit=100`, headers: bearer(h.adminKey) });
  return t.json<{ data: { event: string | null; channel: string | null; properties: Record<string, unknown> }[] }>().data;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await h.db.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;
}

beforeAll(async () => {
  h = await createHarness({ env: { DATONG_PUBLIC_URL: PUBLIC_URL } });
  h.setNow(new Date(NOW));
  fake = await startFakeMeituanServer({ appId: CREDS.appId, appSecret: CREDS.appSecret, poiCodes: [CREDS.appPoiCode] });
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'meituan', name: '美团 望京店', config: { ...CREDS, apiBase: fake.apiBase } } });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
  const detail = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
  pushUrl = detail.json<{ commerce: { webhookUrl: string } }>().commerce.webhookUrl;
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

describe('Meituan over HTTP', () => {
  const paidId = '27061900338318741';
  const buyer = '300000001';

  it('the push URL to paste into Meituan is DATONG_PUBLIC_URL + the hook path', () => {
    expect(pushUrl).toBe(`${PUBLIC_URL}/v1/hooks/meituan/${connectorId}`);
  });

  it('a correctly signed paid-order push (form body) is answered {"data":"ok"} and becomes an order on the buyer’s timeline', async () => {
    const params = orderParams(paidId, buyer, 2, SEC - 30);
    fake.addOrder(params);
    const r = await send(signed(params));
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('{"data":"ok"}');
    await h.drain();
    // 2 × 18.50 + 12.00 + 3.00 shipping
    expect(await order(paidId)).toEqual([{ status: 'paid', total: '52.00', details_known: true, completed_event: true }]);
    const events = await timelineOf(buyer);
    const completed = events?.filter((e) => e.event === 'Order Completed') ?? [];
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ channel: 'meituan', properties: { order_id: paidId, total: '52.00', currency: 'CNY', platform: 'meituan' } });
  });

  it('the same push twice — byte for byte, and re-signed later as Meituan retries — is one message and one order', async () => {
    const params = orderParams(paidId, buyer, 2, SEC - 30);
    const messages = await count('SELECT count(*)::int AS n FROM connector_messages WHERE connector_id = $1', [connectorId]);
    const again = await send(signed(params));
    expect(again.body).toBe('{"data":"ok"}');
    const resigned = await send(signed(params, { timestamp: SEC + 20 }));
    expect(resigned.body).toBe('{"data":"ok"}');
    await h.drain();
    expect(await count('SELECT count(*)::int AS n FROM connector_messages WHERE connector_id = $1', [connectorId])).toBe(messages);
    expect(await order(paidId)).toHaveLength(1);
    expect((await timelineOf(buyer))?.filter((e) => e.event === 'Order Completed')).toHaveLength(1);
  });

  it('a cancel push that arrives before the paid push: the order ends cancelled (final) and the late paid push changes nothing', async () => {
    const id = '27061900338318742';
    const late = '300000002';
    const paid = orderParams(id, late, 2, SEC - 120);
    fake.addOrder(paid);
    fake.updateOrder(id, { status: '9', utime: String(SEC - 10) }); // what the platform knows by now
    const cancel = await send(signed(meituanCancelParams({ orderId: id, reasonCode: '1001', reason: '用户取消' })));
    expect(cancel.body).toBe('{"data":"ok"}');
    await h.drain();
    expect((await order(id))[0]).toMatchObject({ status: 'cancelled', completed_event: false });
    const paidPush = await send(signed(paid));
    expect(paidPush.body).toBe('{"data":"ok"}');
    await h.drain();
    expect(await order(id)).toEqual([expect.objectContaining({ status: 'cancelled', completed_event: false })]);
    // Forward only: cancelled is final, so the paid push is logged as not applied and no Order Completed goes out.
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages?limit=100`, headers: bearer(h.adminKey) });
    const entries = log.json<{ data: { type: string; status: string; result: { records?: { orderId: string; applied: boolean; reason?: string }[] } | null }[] }>().data;
    const forPaid = entries.filter((e) => e.result?.records?.some((x) => x.orderId === id && x.applied === false));
    expect(forPaid.length).toBeGreaterThanOrEqual(1);
    expect(forPaid[0]?.result?.records?.[0]?.reason).toContain('forward-only');
    const events = await timelineOf(late);
    expect(events?.filter((e) => e.event === 'Order Completed') ?? []).toEqual([]);
  });

  it('a tampered push is rejected with Meituan’s failure reply, logged as invalid, and changes nothing', async () => {
    const id = '27061900338318743';
    const push = signed(orderParams(id, '300000003', 2, SEC - 5));
    const tampered = { ...push, body: push.body.replace(/total=[^&]*/, 'total=0.01') };
    expect(tampered.body).not.toBe(push.body);
    const orders = await count('SELECT count(*)::int AS n FROM orders');
    const r = await send(tampered);
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.json()).toMatchObject({ data: 'ng' });
    // Signed with another secret: rejected too.
    const forged = await send(signed(orderParams(id, '300000003', 2, SEC - 5), { secret: 'not-the-secret' }));
    expect(forged.statusCode).toBeGreaterThanOrEqual(400);
    await h.drain();
    expect(await count('SELECT count(*)::int AS n FROM orders')).toBe(orders);
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages?verification=invalid`, headers: bearer(h.adminKey) });
    const entries = log.json<{ data: { status: string; errorCode: string; type: string }[] }>().data;
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toMatchObject({ status: 'ignored', errorCode: 'CONNECTOR_SIGNATURE_INVALID', type: 'rejected' });
  });
});
