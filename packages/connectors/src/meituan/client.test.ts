import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { createMeituanClient, MEITUAN_DAY_SEQ_PAGE } from './client.js';
import { parseMeituanConfig, type MeituanConfig } from './config.js';
import { meituanOrderParams, startFakeMeituanServer, type FakeMeituanServer } from './fake-server.js';

// Test credentials, not real ones.
const APP_ID = '143183';
const SECRET = 'fake0secret0for0tests0a1b2c3d4e5';
const POI = 't_8Xh3kQ';
const DAY_START = 1767196800; // 2026-01-01T00:00:00+08:00

const servers: FakeMeituanServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(poiCodes: string[] = [POI]): Promise<FakeMeituanServer> {
  const server = await startFakeMeituanServer({ appId: APP_ID, appSecret: SECRET, poiCodes });
  servers.push(server);
  return server;
}

function config(overrides: Partial<MeituanConfig> = {}): MeituanConfig {
  return parseMeituanConfig({ appId: APP_ID, appSecret: SECRET, appPoiCode: POI, ...overrides });
}

async function rejection(promise: Promise<unknown>): Promise<DatongError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

function order(orderId: string, ctime: number, utime = ctime, status = 8) {
  return meituanOrderParams({
    orderId,
    appPoiCode: POI,
    status,
    ctime,
    utime,
    recipientPhone: '13800000000_1234',
    items: [{ appFoodCode: 'a1', name: '宫保鸡丁', quantity: 3, price: '19.99' }],
    shippingFee: '0.1',
  });
}

describe('createMeituanClient', () => {
  it('refuses to build a client whose config has no appSecret', () => {
    const unchecked = { appId: APP_ID, apiBase: 'https://waimaiopen.meituan.com/api/v1' } as unknown as MeituanConfig;
    expect(() => createMeituanClient(unchecked)).toThrowError(/appSecret/);
  });
});

describe('getOrder', () => {
  it('reads order/getOrderDetail losslessly: 19-digit id and yuan numbers exact', async () => {
    const server = await fake();
    server.addOrder(order('9223372036854775807', DAY_START + 3600));
    const client = createMeituanClient(config(), { baseUrl: server.apiBase });
    const result = await client.getOrder('9223372036854775807');
    expect(result).toMatchObject({
      platform: 'meituan',
      orderId: '9223372036854775807',
      status: 'completed',
      totalAmount: '60.07',
      shippingAmount: '0.10',
      lines: [{ unitPrice: '19.99', amount: '59.97', quantity: 3 }],
      buyer: { identifiers: [], maskedPhone: '13800000000_1234' },
    });
    expect(server.calls.map((c) => c.api)).toEqual(['order/getOrderDetail']);
    expect(server.calls[0]?.params).toMatchObject({ app_id: APP_ID, order_id: '9223372036854775807' });
  });

  it('answers null for an order Meituan does not know', async () => {
    const server = await fake();
    expect(await createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1')).toBeNull();
  });

  it('signs with the secret: a wrong secret is CONNECTOR_CONFIG_INVALID and never appears in the error', async () => {
    const server = await fake();
    const error = await rejection(
      createMeituanClient(config({ appSecret: 'wrong-secret-0000' }), { baseUrl: server.apiBase }).getOrder('1'),
    );
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ meituanCode: 703, api: 'order/getOrderDetail' });
    expect(JSON.stringify({ m: error.message, meta: error.meta })).not.toContain('wrong-secret-0000');
    expect(server.calls).toHaveLength(0);
  });

  it('sends the clock given in deps as timestamp', async () => {
    const server = await fake();
    const now = () => new Date(DAY_START * 1000);
    await createMeituanClient(config(), { baseUrl: server.apiBase, now }).getOrder('1');
    expect(server.calls[0]?.params['timestamp']).toBe(String(DAY_START));
  });
});

describe('listOrders', () => {
  it('walks the days of the window by daily sequence number, page by page, and keeps orders changed in the window', async () => {
    const server = await fake();
    // Day before the window: one order paid late and completed inside the window, one completed before.
    server.addOrder(order('27061900000000001', DAY_START - 600, DAY_START + 1200));
    server.addOrder(order('27061900000000002', DAY_START - 900, DAY_START - 300));
    // Inside the window: more than one page.
    const inside = MEITUAN_DAY_SEQ_PAGE + 20;
    for (let i = 0; i < inside; i += 1) server.addOrder(order(String(27061900000100000n + BigInt(i)), DAY_START + 60 * i, DAY_START + 60 * i + 30));
    // Changed after the window.
    server.addOrder(order('27061900000900000', DAY_START + 80_000, DAY_START + 90_000));

    const calls: string[] = [];
    const client = createMeituanClient(config(), {
      baseUrl: server.apiBase,
      rateLimit: async (api) => {
        calls.push(api);
      },
    });
    const window = { from: new Date(DAY_START * 1000), to: new Date((DAY_START + 86_400) * 1000 - 3_600_000) };
    const seen: string[] = [];
    const cursors: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listOrders(cursor === undefined ? window : { ...window, cursor });
      seen.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor;
      if (cursor !== undefined) cursors.push(cursor);
    } while (cursor !== undefined);

    expect(seen).toHaveLength(1 + inside);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('27061900000000001');
    expect(seen).not.toContain('27061900000000002');
    expect(seen).not.toContain('27061900000900000');
    expect(cursors).toHaveLength(2); // yesterday → today page 1 → today page 2
    const rangeCalls = server.calls.filter((c) => c.api === 'ecommerce/order/getOrderIdByDaySeq').map((c) => c.params);
    expect(rangeCalls.map((p) => [p['date_time'], p['day_seq_start'], p['day_seq_end']])).toEqual([
      ['20251231', '1', '100'],
      ['20260101', '1', '100'],
      ['20260101', '101', '200'],
    ]);
    expect(rangeCalls.every((p) => p['app_poi_code'] === POI)).toBe(true);
    // The rate limiter is asked before every single call.
    expect(calls).toHaveLength(server.calls.length);
    expect(new Set(calls)).toEqual(new Set(['ecommerce/order/getOrderIdByDaySeq', 'order/getOrderDetail']));
  });

  it('needs the store code: Meituan lists orders per store', async () => {
    const server = await fake();
    const client = createMeituanClient(parseMeituanConfig({ appId: APP_ID, appSecret: SECRET }), { baseUrl: server.apiBase });
    const error = await rejection(client.listOrders({ from: new Date(0), to: new Date(1000) }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
  });

  it('refuses a cursor it did not issue and an empty window', async () => {
    const server = await fake();
    const client = createMeituanClient(config(), { baseUrl: server.apiBase });
    const window = { from: new Date(DAY_START * 1000), to: new Date((DAY_START + 60) * 1000) };
    expect((await rejection(client.listOrders({ ...window, cursor: 'bm9wZQ' }))).code).toBe('VALIDATION_FAILED');
    expect((await rejection(client.listOrders({ from: window.to, to: window.from }))).code).toBe('VALIDATION_FAILED');
  });
});

describe('platform trouble', () => {
  it('maps Meituan throttling to PLATFORM_RATE_LIMITED (transient)', async () => {
    const server = await fake();
    server.setThrottled(true);
    const error = await rejection(createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1'));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.transient).toBe(true);
    expect(error.meta).toMatchObject({ meituanCode: 711 });
  });

  it('maps an unknown code whose message says the rate was exceeded to PLATFORM_RATE_LIMITED', async () => {
    const server = await fake();
    server.failNext(7999, '接口调用过于频繁');
    const error = await rejection(createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1'));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
  });

  it('maps other Meituan errors to PLATFORM_ERROR with the code and message', async () => {
    const server = await fake();
    server.failNext(801, '门店已下线');
    const error = await rejection(createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1'));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.transient).toBe(false);
    expect(error.meta).toMatchObject({ meituanCode: 801, msg: '门店已下线' });
  });

  it('maps an outage (HTTP 503) to PLATFORM_UNREACHABLE (transient)', async () => {
    const server = await fake();
    server.setOutage(true);
    const error = await rejection(createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1'));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);
    server.setOutage(false);
    expect(await createMeituanClient(config(), { baseUrl: server.apiBase }).getOrder('1')).toBeNull();
  });

  it('maps a closed port to PLATFORM_UNREACHABLE', async () => {
    const server = await fake();
    const base = server.apiBase;
    await server.close();
    servers.length = 0;
    const error = await rejection(createMeituanClient(config(), { baseUrl: base }).getOrder('1'));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.message).not.toContain('sig=');
  });
});

describe('testConnection', () => {
  it('says the app reaches the store', async () => {
    const server = await fake([POI, 't_other']);
    const check = await createMeituanClient(config(), { baseUrl: server.apiBase }).testConnection();
    expect(check).toStrictEqual({
      ok: true,
      message: {
        'zh-CN': `已连接美团开放平台：应用 ${APP_ID} 已绑定门店 ${POI}。`,
        en: `Connected to Meituan: app ${APP_ID} is bound to store ${POI}.`,
      },
    });
  });

  it('counts the stores when no store is configured', async () => {
    const server = await fake(['a', 'b']);
    const client = createMeituanClient(parseMeituanConfig({ appId: APP_ID, appSecret: SECRET }), { baseUrl: server.apiBase });
    expect((await client.testConnection()).message.en).toBe(`Connected to Meituan: app ${APP_ID} can reach 2 store(s).`);
  });

  it('says when the store is not bound to the app', async () => {
    const server = await fake(['t_other']);
    const check = await createMeituanClient(config(), { baseUrl: server.apiBase }).testConnection();
    expect(check.ok).toBe(false);
    expect(check.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(check.message['zh-CN']).toContain(`没有绑定门店 ${POI}`);
  });

  it('explains a wrong secret, throttling and an outage in words, without throwing', async () => {
    const server = await fake();
    const wrong = await createMeituanClient(config({ appSecret: 'nope' }), { baseUrl: server.apiBase }).testConnection();
    expect(wrong).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(wrong.message['zh-CN']).toContain('AppSecret');
    expect(wrong.message.en).toContain('AppSecret');

    server.setThrottled(true);
    const throttled = await createMeituanClient(config(), { baseUrl: server.apiBase }).testConnection();
    expect(throttled).toMatchObject({ ok: false, code: 'PLATFORM_RATE_LIMITED' });
    expect(throttled.message['zh-CN']).toContain('限制了调用频率');
    server.setThrottled(false);

    server.setOutage(true);
    const down = await createMeituanClient(config(), { baseUrl: server.apiBase }).testConnection();
    expect(down).toMatchObject({ ok: false, code: 'PLATFORM_UNREACHABLE' });
    expect(down.message.en).toContain('cannot be reached');
  });
});
