import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { clearDoudianTokenCache, createDoudianClient, SEARCH_PAGE_SIZE } from './client.js';
import { parseDoudianConfig, type DoudianConfig } from './config.js';
import { startFakeDoudianServer, type FakeDoudianServer, type FakeShopOrder } from './fake-server.js';

const APP_KEY = '7001234567890123456';
const APP_SECRET = 'client-test-secret-0f3c';
const SHOP_ID = '4463798';
const START = 1714538000; // 2024-05-01T12:33:20+08:00

const servers: FakeDoudianServer[] = [];
let clock = new Date(START * 1000);

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  clearDoudianTokenCache();
  clock = new Date(START * 1000);
});

async function fake(): Promise<FakeDoudianServer> {
  const server = await startFakeDoudianServer({ appKey: APP_KEY, appSecret: APP_SECRET, shopId: SHOP_ID, shopName: '大同测试小店', now: () => clock });
  servers.push(server);
  return server;
}

function configFor(server: { url: string }, overrides: Partial<DoudianConfig> = {}): DoudianConfig {
  return parseDoudianConfig({ appKey: APP_KEY, appSecret: APP_SECRET, shopId: SHOP_ID, apiBase: server.url, ...overrides });
}

/** A paid order; its id is 19 digits and its live room id a bare JSON number above 2^53. */
function order(n: number, updateTime: number): FakeShopOrder {
  const id = (6919395948153930000n + BigInt(n)).toString();
  return {
    order_id: id,
    shop_id: 4463798,
    order_status: 2,
    create_time: updateTime - 60,
    pay_time: updateTime - 30,
    update_time: updateTime,
    pay_amount: 12900 + n,
    post_amount: 0,
    doudian_open_id: `1@#buyer${n}`,
    mask_post_tel: '138****5678',
    sku_order_list: [
      {
        order_id: id,
        parent_order_id: id,
        product_id: 3654123987456321987n,
        product_name: '大同羊绒围巾',
        sku_id: 1765432109876543210n,
        item_num: 1,
        origin_amount: 12900 + n,
        pay_amount: 12900 + n,
        room_id: 7363912345678901234n,
        author_id: 3809876543210987n,
        c_biz: 2,
      },
    ],
  };
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

function printable(error: DatongError): string {
  return JSON.stringify({ message: error.message, detail: error.detail, meta: error.meta, ext: error.extensions });
}

const window = { from: new Date((START - 3600) * 1000), to: new Date((START + 3600) * 1000) };

describe('createDoudianClient', () => {
  it('refuses to build a client whose config has no App Secret', () => {
    const unchecked = { appKey: APP_KEY, shopId: SHOP_ID, apiBase: 'https://openapi-fxg.jinritemai.com' } as unknown as DoudianConfig;
    let error: unknown;
    try {
      createDoudianClient(unchecked);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DatongError);
    expect((error as DatongError).code).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('listOrders', () => {
  it('pages through order.searchList by update_time, 100 at a time, with exact 19-digit ids', async () => {
    const server = await fake();
    for (let i = 0; i < 230; i += 1) server.addOrder(order(i, START - 1800 + i));
    server.addOrder(order(999, START + 3600)); // at `to`: outside [from, to)
    server.addOrder(order(998, START - 3601)); // before `from`
    const calls: string[] = [];
    const client = createDoudianClient(configFor(server), { now: () => clock, rateLimit: async (api) => void calls.push(api) });

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await client.listOrders({ ...window, ...(cursor === undefined ? {} : { cursor }) });
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor !== undefined);

    expect(pages.map((p) => [p.orders.length, p.nextCursor])).toStrictEqual([
      [100, '1'],
      [100, '2'],
      [30, undefined],
    ]);
    const ids = pages.flatMap((p) => p.orders.map((o) => o.orderId));
    expect(new Set(ids).size).toBe(230);
    expect(ids[0]).toBe('6919395948153930000');
    const first = pages[0]?.orders[0];
    expect(first).toMatchObject({
      platform: 'doudian',
      shopId: SHOP_ID,
      status: 'paid',
      totalAmount: '129.00',
      buyer: { identifiers: [{ type: 'douyin_open_id', value: '1@#buyer0' }], maskedPhone: '138****5678' },
      attribution: { channel: 'douyin_live', liveRoomId: '7363912345678901234', anchorId: '3809876543210987' },
      lines: [{ productId: '3654123987456321987', skuId: '1765432109876543210' }],
    });

    const searches = server.requests.filter((r) => r.method === 'order.searchList');
    expect(searches.map((r) => JSON.parse(r.paramJson) as unknown)).toStrictEqual(
      [0, 1, 2].map((page) => ({
        order_asc: true,
        order_by: 'update_time',
        page,
        size: SEARCH_PAGE_SIZE,
        update_time_end: START + 3599,
        update_time_start: START - 3600,
      })),
    );
    // The rate limiter is asked before every call, token included.
    expect(calls).toStrictEqual(['token.create', 'order.searchList', 'order.searchList', 'order.searchList']);
  });

  it('answers an empty page for an empty window without calling the platform', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    expect(await client.listOrders({ from: window.from, to: window.from })).toStrictEqual({ orders: [] });
    expect(server.requests).toHaveLength(0);
  });

  it('rejects a cursor that is not a page number', async () => {
    const server = await fake();
    const error = await rejection(createDoudianClient(configFor(server), { now: () => clock }).listOrders({ ...window, cursor: 'x' }));
    expect(error.code).toBe('VALIDATION_FAILED');
  });
});

describe('access token', () => {
  it('creates the token once (self-use: authorization_self + shop_id) and serves later calls from the cache', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    await client.listOrders(window);
    await client.listOrders(window);
    expect(server.tokenCreates).toBe(1);
    const create = server.requests.find((r) => r.method === 'token.create');
    expect(create?.paramJson).toBe(`{"code":"","grant_type":"authorization_self","shop_id":"${SHOP_ID}"}`);
    expect(create?.accessToken).toBeUndefined();
  });

  it('shares the cache between clients of the same app and shop', async () => {
    const server = await fake();
    await createDoudianClient(configFor(server), { now: () => clock }).getAccessToken();
    await createDoudianClient(configFor(server), { now: () => clock }).getAccessToken();
    expect(server.tokenCreates).toBe(1);
  });

  it('refreshes with refresh_token 10 minutes before expiry', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    const first = await client.getAccessToken();
    clock = new Date(clock.getTime() + (7 * 24 * 3600 - 9 * 60) * 1000);
    const second = await client.getAccessToken();
    expect(second).not.toBe(first);
    expect(server.tokenRefreshes).toBe(1);
    expect(server.tokenCreates).toBe(1);
    await client.listOrders({ from: new Date(clock.getTime() - 60_000), to: clock });
  });

  it('creates a new token when the refresh is refused', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    await client.getAccessToken();
    clock = new Date(clock.getTime() + (7 * 24 * 3600 - 60) * 1000);
    server.failNext(50001, { method: 'token.refresh', subCode: 'dop.token-generate-failed:token-expired', subMsg: '生成token失败，token已过期' });
    await client.getAccessToken();
    expect(server.tokenCreates).toBe(2);
  });

  it('gets a new token and retries once when the platform says the token expired', async () => {
    const server = await fake();
    server.addOrder(order(1, START));
    const client = createDoudianClient(configFor(server), { now: () => clock });
    await client.listOrders(window);
    server.expireTokens();
    const page = await client.listOrders(window);
    expect(page.orders).toHaveLength(1);
    expect(server.tokenCreates).toBe(2);
  });

  it('retries only once when the platform keeps rejecting the token', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    await client.getAccessToken();
    server.failNext(40003, { method: 'order.searchList', subCode: 'isv.access-token-no-existed' });
    server.failNext(40003, { method: 'order.searchList', subCode: 'isv.access-token-no-existed' });
    const error = await rejection(client.listOrders(window));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(server.requests.filter((r) => r.method === 'order.searchList')).toHaveLength(2);
  });

  it('maps a wrong App Secret to CONNECTOR_CONFIG_INVALID and keeps the secret out of the error', async () => {
    const server = await fake();
    const wrong = 'wrong-secret-7d1e';
    const error = await rejection(createDoudianClient(configFor(server, { appSecret: wrong }), { now: () => clock }).getAccessToken());
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ platformCode: 40003, subCode: 'isv.signature-invalid' });
    expect(printable(error)).not.toContain(wrong);
    expect(printable(error)).not.toContain(APP_SECRET);
  });

  it('is refused by the platform when the client clock is more than 300 s off (replay window)', async () => {
    const server = await fake();
    const skewed = createDoudianClient(configFor(server), { now: () => new Date(clock.getTime() + 301_000) });
    const error = await rejection(skewed.getAccessToken());
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.meta).toMatchObject({ platformCode: 40003, subCode: 'isv.timestamp-invalid' });
  });
});

describe('throttling and outages', () => {
  it('maps code 60000 to PLATFORM_RATE_LIMITED (transient)', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    await client.getAccessToken();
    server.setThrottled(true);
    const error = await rejection(client.listOrders(window));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.transient).toBe(true);
    server.setThrottled(false);
    await expect(client.listOrders(window)).resolves.toStrictEqual({ orders: [] });
  });

  it('maps HTTP 503 and a closed port to PLATFORM_UNREACHABLE (transient)', async () => {
    const server = await fake();
    server.setOutage(true);
    const error = await rejection(createDoudianClient(configFor(server), { now: () => clock }).listOrders(window));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);

    const gone = await fake();
    const url = gone.url;
    await gone.close();
    servers.splice(servers.indexOf(gone), 1);
    const closed = await rejection(createDoudianClient(configFor({ url }), { now: () => clock }).listOrders(window));
    expect(closed.code).toBe('PLATFORM_UNREACHABLE');
  });

  it('uses deps.baseUrl over the configured apiBase', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor({ url: 'http://127.0.0.1:9' }), { now: () => clock, baseUrl: server.url });
    await expect(client.listOrders(window)).resolves.toStrictEqual({ orders: [] });
  });
});

describe('getOrder', () => {
  it('fetches order.orderDetail and normalizes it', async () => {
    const server = await fake();
    server.addOrder(order(7, START));
    const found = await createDoudianClient(configFor(server), { now: () => clock }).getOrder('6919395948153930007');
    expect(found).toMatchObject({ orderId: '6919395948153930007', status: 'paid', version: String(START), totalAmount: '129.07' });
    expect(server.requests.at(-1)?.paramJson).toBe('{"shop_order_id":"6919395948153930007"}');
  });

  it('answers null for an order the platform does not know', async () => {
    const server = await fake();
    await expect(createDoudianClient(configFor(server), { now: () => clock }).getOrder('6919395948153939999')).resolves.toBeNull();
  });

  it('rejects an id that is not digits before calling the platform', async () => {
    const server = await fake();
    const error = await rejection(createDoudianClient(configFor(server), { now: () => clock }).getOrder('abc'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(server.requests).toHaveLength(0);
  });
});

describe('testConnection', () => {
  it('says the shop is connected, by name', async () => {
    const server = await fake();
    const check = await createDoudianClient(configFor(server), { now: () => clock }).testConnection();
    expect(check.ok).toBe(true);
    expect(check.message['zh-CN']).toContain('大同测试小店');
    expect(check.message.en).toContain('orders can be read');
  });

  it('explains a wrong App Secret in words a merchant understands', async () => {
    const server = await fake();
    const check = await createDoudianClient(configFor(server, { appSecret: 'nope' }), { now: () => clock }).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(check.message['zh-CN']).toContain('App Secret');
    expect(check.message.en).toContain('App Secret');
  });

  it('explains a shop that has not authorized the app', async () => {
    const server = await fake();
    const check = await createDoudianClient(configFor(server, { shopId: '1234567' }), { now: () => clock }).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(check.message['zh-CN']).toContain('授权');
    expect(check.message.en).toContain('authorize');
  });

  it('explains an IP whitelist refusal, throttling and an outage', async () => {
    const server = await fake();
    const client = createDoudianClient(configFor(server), { now: () => clock });
    server.failNext(30002, { method: 'token.create' });
    const ip = await client.testConnection();
    expect(ip).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(ip.message['zh-CN']).toContain('IP');

    server.setThrottled(true);
    const throttled = await client.testConnection();
    expect(throttled).toMatchObject({ ok: false, code: 'PLATFORM_RATE_LIMITED' });
    expect(throttled.message['zh-CN']).toContain('限流');
    server.setThrottled(false);

    server.setOutage(true);
    const down = await client.testConnection();
    expect(down).toMatchObject({ ok: false, code: 'PLATFORM_UNREACHABLE' });
    expect(down.message.en).toContain('Could not reach');
  });
});
