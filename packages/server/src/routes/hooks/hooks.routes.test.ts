import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOrder, fakeShopConnector, signedPush, startFakeShopApi, type FakePushMessage, type FakeShopApi } from '../../test-support/fake-commerce.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { DEFAULT_TENANT_ID } from '../../tenants.js';
import { expectProblem } from '../../test-support/problems.js';

// End to end through HTTP with the test-only "fake shop" platform (test-support/fake-commerce.ts):
// signed push → message log → worker → orders + Segment events → OneID, timeline, rule tags.
// The fake order API binds to 127.0.0.1 with an OS-assigned port.

const NOW = new Date('2026-03-01T09:00:00.000Z');
const CREDS = { appKey: 'fk-app-1', appSecret: 'fk-secret-0123456789', shopId: 'shop-1' };

let h: Harness;
let api: FakeShopApi;
let connectorId: string;
let sourceId: string;

interface TimelineItem {
  event: string | null;
  type: string;
  channel: string | null;
  messageId: string;
  properties: Record<string, unknown>;
  source: { id: string; type: string | null };
}


async function push(messages: FakePushMessage[], opts: { connector?: string; sign?: typeof CREDS; platform?: string } = {}): Promise<LightMyRequestResponse> {
  const { payload, headers } = signedPush(opts.sign ?? CREDS, messages, h.now());
  return h.inject({ method: 'POST', url: `/v1/hooks/${opts.platform ?? 'fakeshop'}/${opts.connector ?? connectorId}`, headers, payload });
}

async function customerByPhone(phone: string, key = h.adminKey): Promise<{ id: string; counts: { orders: number }; spend: { currency: string; total: string }[] } | null> {
  const r = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=phone&value=${encodeURIComponent(phone)}`, headers: bearer(key) });
  return r.statusCode === 200 ? r.json() : null;
}

async function timeline(customerId: string, key = h.adminKey): Promise<TimelineItem[]> {
  const r = await h.inject({ method: 'GET', url: `/v1/customers/${customerId}/timeline?limit=200`, headers: bearer(key) });
  expect(r.statusCode).toBe(200);
  return r.json<{ data: TimelineItem[] }>().data;
}

async function orderRow(orderNo: string, tenantId = DEFAULT_TENANT_ID) {
  const r = await h.db.query<{ status: string; total: string; total_minor: number; completed_event: boolean; link_message_id: string | null; buyer_ids_enc: string | null; buyer_index: string[] }>(
    `SELECT status, total, total_minor, completed_event, link_message_id, buyer_ids_enc, buyer_index FROM orders WHERE tenant_id = $1 AND platform = 'fakeshop' AND order_id = $2`,
    [tenantId, orderNo],
  );
  return r.rows[0] ?? null;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const r = await h.db.query<{ n: number }>(sql, params);
  return Number(r.rows[0]?.n ?? 0);
}

async function createConnector(key: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(key), payload: body });
}

beforeAll(async () => {
  h = await createHarness({ commerceConnectors: [fakeShopConnector], env: { DATONG_PUBLIC_URL: 'https://crm.example.com/' } });
  h.setNow(NOW);
  api = await startFakeShopApi({ appKey: CREDS.appKey });
  const r = await createConnector(h.adminKey, { platform: 'fakeshop', name: 'Fake shop', config: { ...CREDS, apiBase: api.url } });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
  sourceId = r.json<{ sourceId: string }>().sourceId;
});
afterAll(async () => {
  await h?.close();
  await api?.close();
});

describe('POST /v1/connectors for an e-commerce platform', () => {
  it('stores the config encrypted, never returns the secret, and gives the connector its own source of the platform type', async () => {
    const r = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(r.statusCode).toBe(200);
    const c = r.json<{ config: Record<string, unknown>; sourceId: string; commerce: Record<string, unknown> }>();
    expect(c.config).toMatchObject({ appKey: CREDS.appKey, appSecret: '********', shopId: 'shop-1' });
    expect(r.body).not.toContain(CREDS.appSecret);
    // The exact URL to paste into the platform's back office, from DATONG_PUBLIC_URL.
    expect(c.commerce).toMatchObject({ webhookUrl: `https://crm.example.com/v1/hooks/fakeshop/${connectorId}`, channel: 'push', health: 'ok' });
    const stored = await h.db.query<{ config_enc: string }>('SELECT config_enc FROM connectors WHERE id = $1', [connectorId]);
    expect(stored.rows[0]?.config_enc).not.toContain(CREDS.appSecret);
    const src = await h.db.query<{ type: string }>('SELECT type FROM sources WHERE id = $1', [c.sourceId]);
    expect(src.rows[0]?.type).toBe('fakeshop');
  });

  it("validates the config with the platform's own parser, reporting every problem", async () => {
    const r = await createConnector(h.adminKey, { platform: 'fakeshop', config: { appKey: 'x' } });
    expectProblem(r, 400, 'CONNECTOR_CONFIG_INVALID');
    expect(r.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toEqual(['/appSecret', '/shopId', '/apiBase']);
  });

  it('rejects unknown settings and an unknown platform', async () => {
    expectProblem(await createConnector(h.adminKey, { platform: 'fakeshop', config: { ...CREDS, apiBase: api.url }, settings: { timezone: 'Mars/Olympus' } }), 400, 'CONNECTOR_SETTINGS_INVALID');
    expectProblem(await createConnector(h.adminKey, { platform: 'nosuchshop', config: {} }), 400, 'CONNECTOR_PLATFORM_UNKNOWN');
  });

  it('POST /v1/connectors/{id}/test answers the connector check in the words of the requested language', async () => {
    const zh = await h.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/test`, headers: bearer(h.adminKey) });
    expect(zh.json()).toEqual({ ok: true, code: null, message: '连接正常' });
    const bad = await createConnector(h.adminKey, { platform: 'fakeshop', config: { ...CREDS, appKey: 'unknown-key', apiBase: api.url } });
    const en = await h.inject({ method: 'POST', url: `/v1/connectors/${bad.json<{ id: string }>().id}/test`, headers: { ...bearer(h.adminKey), 'accept-language': 'en-US,en;q=0.8' } });
    expect(en.json()).toEqual({ ok: false, code: 'CONNECTOR_CONFIG_INVALID', message: 'The fake shop does not know this app key' });
  });
});

describe('POST /v1/hooks/{platform}/{connectorId}', () => {
  it('answers a signed push with exactly the platform reply, and puts the order on the customer the phone already identifies', async () => {
    // The mall knows this shopper by phone (any format): the platform order must land on the same customer (OneID).
    const mall = await makeSource(h, h.adminKey, 'miniprogram');
    await send(h, mall.writeKey, [{ type: 'identify', userId: 'mall-u1', traits: { phone: '+86 138-1234-5678', name: '李雷' } }]);
    await h.drain();
    const before = await customerByPhone('13812345678');
    expect(before).not.toBeNull();

    const r = await push([{ msg_id: 'm-1', type: 'order', data: fakeOrder('E1001', { live_room_id: 'room-7', coupon: { id: 'cp-1', name: '满199减20', amount: '20.00' } }) }]);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toBe('{"code":0,"msg":"success"}');
    // Stored before the answer, processed later.
    expect(await count(`SELECT count(*)::int AS n FROM connector_messages WHERE connector_id = $1 AND status = 'pending'`, [connectorId])).toBe(1);
    await h.drain();

    const after = await customerByPhone('13812345678');
    expect(after?.id).toBe(before?.id);
    expect(after?.spend).toEqual([{ currency: 'CNY', total: '199.00' }]);
    const items = await timeline(after?.id ?? '');
    const completed = items.filter((i) => i.event === 'Order Completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      channel: 'fakeshop',
      source: { id: sourceId, type: 'fakeshop' },
      properties: {
        order_id: 'E1001',
        total: '199.00',
        currency: 'CNY',
        platform: 'fakeshop',
        shop_id: 'shop-1',
        coupon: 'cp-1',
        attribution: { channel: 'live', liveRoomId: 'room-7' },
        products: [{ product_id: 'item-9', sku: 'sku-9-red', name: '保温杯', price: '199.00', quantity: 1 }],
      },
    });
    const row = await orderRow('E1001');
    expect(row).toMatchObject({ status: 'paid', total: '199.00', total_minor: 19900, completed_event: true, link_message_id: completed[0]?.messageId });
    // Buyer identifiers at rest: blind indexes and ciphertext only.
    expect(row?.buyer_ids_enc).not.toContain('13812345678');
    expect(row?.buyer_index).toHaveLength(2);
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages`, headers: bearer(h.adminKey) });
    expect(log.json<{ data: unknown[] }>().data[0]).toMatchObject({
      messageId: 'm-1',
      verification: 'valid',
      status: 'processed',
      result: { records: [{ kind: 'order', orderId: 'E1001', status: 'paid', previousStatus: null, applied: true, events: ['identify', 'Order Completed'] }] },
    });
    expect(log.body).not.toContain('13812345678');
  });

  it('answers a URL handshake with its challenge and stores nothing', async () => {
    const n = await count('SELECT count(*)::int AS n FROM connector_messages', []);
    const r = await h.inject({ method: 'GET', url: `/v1/hooks/fakeshop/${connectorId}?challenge=abc123` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('abc123');
    expect(await count('SELECT count(*)::int AS n FROM connector_messages', [])).toBe(n);
  });

  it('rejects a bad signature with the failure reply, logs it as invalid, and processes nothing', async () => {
    const orders = await count('SELECT count(*)::int AS n FROM orders', []);
    const inbox = await count('SELECT count(*)::int AS n FROM inbox', []);
    const r = await push([{ msg_id: 'forged-1', type: 'order', data: fakeOrder('E6666', { buyer: { mobile: '13900000000' } }) }], { sign: { ...CREDS, appSecret: 'wrong' } });
    expect(r.statusCode).toBe(400);
    expect(r.body).toBe('{"code":40001,"msg":"CONNECTOR_SIGNATURE_INVALID"}');
    await h.drain();
    expect(await count('SELECT count(*)::int AS n FROM orders', [])).toBe(orders);
    expect(await count('SELECT count(*)::int AS n FROM inbox', [])).toBe(inbox);
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages?verification=invalid`, headers: bearer(h.adminKey) });
    const entries = log.json<{ data: { id: string; status: string; errorCode: string; type: string }[] }>().data;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'ignored', errorCode: 'CONNECTOR_SIGNATURE_INVALID', type: 'rejected' });
    // Kept (encrypted) so the merchant can see what was sent; never replayable.
    const one = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/${entries[0]?.id}`, headers: bearer(h.adminKey) });
    expect(one.json<{ payload: { rejected: { body: string } } }>().payload.rejected.body).toContain('E6666');
    const replay = await h.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/messages/${entries[0]?.id}/replay`, headers: bearer(h.adminKey) });
    expectProblem(replay, 409, 'CONNECTOR_MESSAGE_NOT_REPLAYABLE');
    const detail = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(detail.json()).toMatchObject({ commerce: { pushFailures: 1, health: 'degraded' } });
  });

  it('rejects a replayed old push (timestamp outside the window)', async () => {
    const { payload, headers } = signedPush(CREDS, [{ msg_id: 'old-1', type: 'order', data: fakeOrder('E7777') }], new Date(NOW.getTime() - 3_600_000));
    const r = await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers, payload });
    expect(r.body).toBe('{"code":40001,"msg":"CONNECTOR_REPLAY_REJECTED"}');
    expect(await orderRow('E7777')).toBeNull();
  });

  it('has one effect for the same message pushed twice (one order, one event)', async () => {
    const m = { msg_id: 'm-dup', type: 'order', data: fakeOrder('E2002', { buyer: { buyer_id: 'dup-buyer', mobile: '13700000001' } }) };
    expect((await push([m])).body).toBe('{"code":0,"msg":"success"}');
    expect((await push([m])).body).toBe('{"code":0,"msg":"success"}');
    await h.drain();
    expect(await count(`SELECT count(*)::int AS n FROM connector_messages WHERE connector_id = $1 AND message_id = 'm-dup'`, [connectorId])).toBe(1);
    const c = await customerByPhone('13700000001');
    const items = await timeline(c?.id ?? '');
    expect(items.filter((i) => i.event === 'Order Completed')).toHaveLength(1);
    expect(c?.spend).toEqual([{ currency: 'CNY', total: '199.00' }]);
  });

  it('ends in the furthest state when messages arrive out of order, with one Order Completed (completed before paid)', async () => {
    const t = NOW.getTime() - 600_000;
    const buyer = { buyer_id: 'ooo-buyer', mobile: '13700000002' };
    const completed = fakeOrder('E3003', { status: 'SUCCESS', update_time: t + 3 * 60_000, pay_time: new Date(t).toISOString(), buyer });
    const paid = fakeOrder('E3003', { status: 'PAID', update_time: t, buyer });
    const created = fakeOrder('E3003', { status: 'WAIT_PAY', update_time: t - 60_000, buyer });
    await push([{ msg_id: 'ooo-3', type: 'order', data: completed }]);
    await h.drain();
    await push([
      { msg_id: 'ooo-1', type: 'order', data: created },
      { msg_id: 'ooo-2', type: 'order', data: paid },
    ]);
    await h.drain();
    expect((await orderRow('E3003'))?.status).toBe('completed');
    const c = await customerByPhone('13700000002');
    const items = await timeline(c?.id ?? '');
    expect(items.filter((i) => i.event === 'Order Completed')).toHaveLength(1);
    // The late messages are logged as processed, not applied.
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/ooo-2`, headers: bearer(h.adminKey) });
    expect(log.json()).toMatchObject({ status: 'processed', result: { records: [{ applied: false, previousStatus: 'completed' }] } });
    const history = await count(`SELECT count(*)::int AS n FROM order_status_history WHERE order_id = 'E3003'`, []);
    expect(history).toBe(1);
  });

  it('writes Order Shipped, Order Cancelled and Order Refunded, and rule tags follow spend and order count', async () => {
    await h.inject({
      method: 'POST',
      url: '/v1/tag-rules',
      headers: bearer(h.adminKey),
      payload: { name: 'Fake shop buyer', tag: 'spent-300', condition: { type: 'total_spend', op: 'gte', value: '300.00', currency: 'CNY' } },
    });
    const buyer = { buyer_id: 'flow-buyer', mobile: '13700000003' };
    const t = NOW.getTime() - 300_000;
    await push([
      { msg_id: 'f-1', type: 'order', data: fakeOrder('E4004', { update_time: t, total_fee: '250.00', buyer }) },
      { msg_id: 'f-2', type: 'order', data: fakeOrder('E4005', { update_time: t, total_fee: '120.00', buyer }) },
    ]);
    await h.drain();
    const c = await customerByPhone('13700000003');
    const tags = async () => (await h.inject({ method: 'GET', url: `/v1/customers/${c?.id}`, headers: bearer(h.adminKey) })).json<{ tags: { name: string }[] }>().tags.map((x) => x.name);
    expect(await tags()).toContain('spent-300');
    // Status-only updates (no buyer in the message) keep the known buyer.
    await push([
      { msg_id: 'f-3', type: 'order', data: fakeOrder('E4004', { status: 'SHIPPED', update_time: t + 60_000, total_fee: '250.00', buyer: {} }) },
      { msg_id: 'f-4', type: 'refund', data: { refund_id: 'R-1', order_no: 'E4005', shop_id: 'shop-1', status: 'SUCCESS', refund_fee: '120.00', modified: t + 60_000 } },
      { msg_id: 'f-5', type: 'order', data: fakeOrder('E4005', { status: 'CLOSED', update_time: t + 120_000, total_fee: '120.00', buyer: {} }) },
    ]);
    await h.drain();
    const events = (await timeline(c?.id ?? '')).map((i) => i.event).filter((e) => e?.startsWith('Order'));
    expect(events.sort()).toEqual(['Order Cancelled', 'Order Completed', 'Order Completed', 'Order Refunded', 'Order Shipped']);
    expect((await customerByPhone('13700000003'))?.spend).toEqual([{ currency: 'CNY', total: '250.00' }]);
    expect(await tags()).not.toContain('spent-300');
  });

  it('writes Order Refunded when the order arrives after its refund', async () => {
    const t = NOW.getTime() - 200_000;
    await push([{ msg_id: 'rf-1', type: 'refund', data: { refund_id: 'R-9', order_no: 'E5005', shop_id: 'shop-1', status: 'SUCCESS', refund_fee: '50.00', modified: t + 1000 } }]);
    await h.drain();
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/rf-1`, headers: bearer(h.adminKey) });
    expect(log.json()).toMatchObject({ status: 'processed', result: { records: [{ kind: 'refund', applied: true, events: [] }] } });
    await push([{ msg_id: 'rf-2', type: 'order', data: fakeOrder('E5005', { update_time: t, total_fee: '50.00', buyer: { buyer_id: 'late-buyer', mobile: '13700000005' } }) }]);
    await h.drain();
    const c = await customerByPhone('13700000005');
    expect((await timeline(c?.id ?? '')).map((i) => i.event).filter((e) => e?.startsWith('Order')).sort()).toEqual(['Order Completed', 'Order Refunded']);
    expect(c?.spend).toEqual([{ currency: 'CNY', total: '0.00' }]);
  });

  it('logs test pings as test and acknowledges them', async () => {
    const r = await push([{ msg_id: 'ping-1', type: 'ping', test: true, data: {} }]);
    expect(r.body).toBe('{"code":0,"msg":"success"}');
    const one = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/ping-1`, headers: bearer(h.adminKey) });
    expect(one.json()).toMatchObject({ verification: 'test', status: 'ignored' });
  });

  it('answers 404 problem+json for an unknown connector and for a platform that does not match', async () => {
    expectProblem(await push([], { connector: 'con_nope' }), 404, 'CONNECTOR_NOT_FOUND');
    expectProblem(await push([], { platform: 'youzan' }), 404, 'CONNECTOR_NOT_FOUND');
  });

  it('keeps the raw bytes whatever the content type, and refuses a body over the limit', async () => {
    const { payload, headers } = signedPush(CREDS, [{ msg_id: 'ct-1', type: 'order', data: fakeOrder('E8008', { buyer: { buyer_id: 'ct-buyer' } }) }], h.now());
    // A platform that posts JSON as text/plain or form-encoded: the signature is over the same bytes.
    const r = await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload });
    expect(r.body).toBe('{"code":0,"msg":"success"}');
    const big = await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(1_048_577) });
    expectProblem(big, 413, 'BODY_TOO_LARGE');
  });

  it('keeps tenants apart: the same order ids in two tenants are two orders, and one tenant cannot see the other’s connector', async () => {
    const other = await h.newTenant();
    const r = await createConnector(other.adminKey, { platform: 'fakeshop', config: { ...CREDS, apiBase: api.url } });
    const otherId = r.json<{ id: string }>().id;
    await push([{ msg_id: 'm-1', type: 'order', data: fakeOrder('E1001', { total_fee: '9.90', buyer: { buyer_id: 'other-buyer', mobile: '13812345678' } }) }], { connector: otherId });
    await h.drain();
    expect((await orderRow('E1001'))?.total).toBe('199.00');
    expect((await orderRow('E1001', other.tenantId))?.total).toBe('9.90');
    expect((await customerByPhone('13812345678', other.adminKey))?.spend).toEqual([{ currency: 'CNY', total: '9.90' }]);
    expectProblem(await h.inject({ method: 'GET', url: `/v1/connectors/${otherId}/messages`, headers: bearer(h.adminKey) }), 404, 'CONNECTOR_NOT_FOUND');
    expectProblem(await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/m-1`, headers: bearer(other.adminKey) }), 404, 'CONNECTOR_NOT_FOUND');
  });
});
