import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import type { ClientDeps } from '../kit/connector.js';
import { clearYouzanTokenCache, createYouzanClient, type YouzanClient } from './client.js';
import { parseYouzanConfig, type YouzanConfig } from './config.js';
import { fakeTradeDetail, startFakeYouzanServer, type FakeYouzanServer } from './fake-server.js';
import { youzan } from './index.js';
import { toBeijing } from './values.js';

const CLIENT_ID = '5f1c0e2a9b3d4c6e77';
const SECRET = 'youzan-client-test-secret-7f3a';
const KDT_ID = '46030001';
const DAY = 24 * 3_600_000;

const servers: FakeYouzanServer[] = [];

beforeEach(() => clearYouzanTokenCache());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  clearYouzanTokenCache();
});

/** A clock shared by the fake and the client. */
function clock(start = Date.parse('2026-11-20T02:00:00Z')) {
  let t = start;
  return { now: () => t, date: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

async function fake(now?: () => number): Promise<FakeYouzanServer> {
  const server = await startFakeYouzanServer({ clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID, ...(now === undefined ? {} : { now }) });
  servers.push(server);
  return server;
}

function configFor(server: { url: string }, overrides: Partial<YouzanConfig> = {}): YouzanConfig {
  return parseYouzanConfig({ clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID, apiBase: server.url, ...overrides });
}

function client(server: { url: string }, deps: ClientDeps = {}, overrides: Partial<YouzanConfig> = {}): YouzanClient {
  return createYouzanClient(configFor(server, overrides), deps);
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

/** n orders updated one minute apart from `start` (Beijing time). */
function orders(n: number, start: number, prefix = 'E2026111'): ReturnType<typeof fakeTradeDetail>[] {
  return Array.from({ length: n }, (_, i) => {
    const t = toBeijing(start + i * 60_000);
    return fakeTradeDetail({
      tid: `${prefix}${String(i).padStart(24 - prefix.length, '0')}`,
      status: 'WAIT_SELLER_SEND_GOODS',
      created: t,
      payTime: t,
      updateTime: t,
      yzOpenId: `yz${i}`,
      buyerPhone: '139****5678',
      lines: [{ oid: `27933396240482${String(i).padStart(5, '0')}`, itemId: 495651099, title: '百花蜂蜜', num: 1, price: '59.90' }],
    });
  });
}

describe('createYouzanClient', () => {
  it('refuses to build a client whose config has no client_secret', async () => {
    const server = await fake();
    expect(() => createYouzanClient({ ...configFor(server), clientSecret: '' })).toThrow(DatongError);
  });

  it('is what the connector definition builds', async () => {
    const server = await fake();
    const c = youzan.createClient(configFor(server));
    expect((await c.testConnection()).ok).toBe(true);
  });
});

describe('access token', () => {
  it('fetches the token once (silent, JSON) and serves later calls from the cache', async () => {
    const server = await fake();
    const c = client(server);
    const first = await c.getAccessToken();
    await c.getAccessToken();
    await c.listOrders({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') });
    expect(await c.getAccessToken()).toBe(first);
    expect(server.tokenFetches).toBe(1);
    expect(server.tokenRefreshes).toBe(0);
  });

  it('shares one in-flight fetch between concurrent callers, and between clients of the same shop', async () => {
    const server = await fake();
    const [a, b] = [client(server), client(server)];
    const tokens = await Promise.all([a.getAccessToken(), a.getAccessToken(), b.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(server.tokenFetches).toBe(1);
  });

  it('renews with refresh=true when less than a day is left (expires is an epoch-ms instant)', async () => {
    const c0 = clock();
    const server = await fake(c0.now);
    const c = client(server, { now: c0.date });
    const first = await c.getAccessToken();
    c0.advance(6 * DAY - 1);
    expect(await c.getAccessToken()).toBe(first); // still more than a day left
    expect(server.tokenFetches).toBe(1);
    c0.advance(1); // now exactly one day before expiry: renew
    const renewed = await c.getAccessToken();
    expect(renewed).not.toBe(first);
    // refresh=false first (another process may have renewed it), then refresh=true.
    expect(server.tokenFetches).toBe(3);
    expect(server.tokenRefreshes).toBe(1);
  });

  it('recovers when the token was revoked on the platform side (4203), without forcing a refresh', async () => {
    const server = await fake();
    server.putOrder(orders(1, Date.parse('2026-11-01T00:00:00Z'))[0]!);
    const c = client(server);
    await c.getAccessToken();
    server.revokeTokens();
    const page = await c.listOrders({ from: new Date('2026-10-31T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') });
    expect(page.orders).toHaveLength(1);
    expect(server.tokenFetches).toBe(2);
    expect(server.tokenRefreshes).toBe(0);
  });

  it('does not cache a failed fetch, and keeps the secret out of errors', async () => {
    const server = await fake();
    const c = client(server, {}, { clientSecret: 'wrong-secret-123' });
    const error = await rejection(c.getAccessToken());
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta?.['youzanCode']).toBe(1000);
    await rejection(c.getAccessToken());
    expect(server.tokenFetches).toBe(2);
    expect(JSON.stringify({ m: error.message, d: error.detail, meta: error.meta })).not.toContain('wrong-secret-123');
  });
});

describe('listOrders (youzan.trades.sold.get by update time)', () => {
  it('pages through a window 100 orders at a time with cursors, and leaves out orders outside it', async () => {
    const server = await fake();
    const start = Date.parse('2026-11-10T00:00:00Z');
    for (const d of orders(250, start)) server.putOrder(d);
    for (const d of orders(3, start - DAY, 'E2026110')) server.putOrder(d);
    const c = client(server);
    const window = { from: new Date(start), to: new Date(start + DAY) };

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.listOrders(cursor === undefined ? window : { ...window, cursor });
      sizes.push(page.orders.length);
      seen.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor;
    } while (cursor !== undefined);

    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(seen).size).toBe(250);
    expect(seen.every((id) => id.startsWith('E2026111'))).toBe(true);
    expect(server.apiCalls('youzan.trades.sold.get')).toBe(3);
  });

  it('returns canonical orders with the update_time as version', async () => {
    const server = await fake();
    const start = Date.parse('2026-11-10T00:00:00Z');
    server.putOrder(orders(1, start)[0]!);
    const page = await client(server).listOrders({ from: new Date(start), to: new Date(start + 1000) });
    expect(page.nextCursor).toBeUndefined();
    expect(page.orders[0]).toMatchObject({
      platform: 'youzan',
      shopId: KDT_ID,
      status: 'paid',
      statusAt: '2026-11-10T00:00:00.000Z',
      version: String(start),
      totalAmount: '59.90',
      buyer: { identifiers: [{ type: 'youzan_open_id', value: 'yz0' }], maskedPhone: '139****5678' },
    });
  });

  it('treats the window as [from, to): an order updated exactly at `to` belongs to the next window', async () => {
    const server = await fake();
    const start = Date.parse('2026-11-10T00:00:00Z');
    for (const d of orders(2, start)) server.putOrder(d); // at start and start + 1 min
    const c = client(server);
    const first = await c.listOrders({ from: new Date(start), to: new Date(start + 60_000) });
    const second = await c.listOrders({ from: new Date(start + 60_000), to: new Date(start + 120_000) });
    expect(first.orders.map((o) => o.orderId)).toHaveLength(1);
    expect(second.orders.map((o) => o.orderId)).toHaveLength(1);
    expect(second.orders[0]!.orderId).not.toBe(first.orders[0]!.orderId);
  });

  it('splits windows longer than Youzan’s three-month limit', async () => {
    const server = await fake();
    const start = Date.parse('2026-03-01T00:00:00Z');
    server.putOrder(orders(1, start + DAY)[0]!);
    server.putOrder(orders(1, start + 150 * DAY, 'E2026072')[0]!);
    const c = client(server);
    const window = { from: new Date(start), to: new Date(start + 200 * DAY) };
    const found: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await c.listOrders(cursor === undefined ? window : { ...window, cursor });
      found.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(found).toHaveLength(2);
    expect(pages).toBe(3); // 90 + 90 + 20 days
  });

  it('halves a sub-window that holds more than 100 pages', async () => {
    const server = await fake();
    const start = Date.parse('2026-11-01T00:00:00Z');
    const many = Array.from({ length: 10_050 }, (_, i) =>
      fakeTradeDetail({
        tid: `E${String(i).padStart(23, '0')}`,
        status: 'TRADE_SUCCESS',
        created: toBeijing(start + i * 1000),
        updateTime: toBeijing(start + i * 1000),
        lines: [],
      }),
    );
    for (const d of many) server.putOrder(d);
    const to = start + 20_000_000;
    const page = await client(server).listOrders({ from: new Date(start), to: new Date(to) });
    expect(page.orders).toHaveLength(100);
    const [, , subTo, next] = page.nextCursor!.split('.');
    expect(Number(subTo)).toBeLessThan(to);
    expect(next).toBe('2');
  });

  it('rejects a window with from ≥ to, or a cursor from another window', async () => {
    const server = await fake();
    const c = client(server);
    const from = new Date('2026-11-01T00:00:00Z');
    expect((await rejection(c.listOrders({ from, to: from }))).code).toBe('VALIDATION_FAILED');
    expect((await rejection(c.listOrders({ from, to: new Date('2026-11-02T00:00:00Z'), cursor: 'v1.1.2.3' }))).code).toBe('VALIDATION_FAILED');
    expect((await rejection(c.listOrders({ from, to: new Date('2026-11-02T00:00:00Z'), cursor: 'garbage' }))).code).toBe('VALIDATION_FAILED');
  });

  it('waits for deps.rateLimit before every call, token included', async () => {
    const server = await fake();
    const asked: string[] = [];
    const c = client(server, { rateLimit: async (api) => void asked.push(api) });
    await c.listOrders({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') });
    await c.getOrder('E20261101093015046030001');
    expect(asked).toEqual(['auth.token', 'youzan.trades.sold.get', 'youzan.trade.get']);
  });

  it('uses deps.baseUrl over the configured apiBase', async () => {
    const server = await fake();
    const c = createYouzanClient(configFor({ url: 'http://127.0.0.1:9' }), { baseUrl: server.url });
    expect((await c.testConnection()).ok).toBe(true);
  });
});

describe('getOrder (youzan.trade.get)', () => {
  it('returns the canonical order, or null for an unknown tid (5000 trade not found)', async () => {
    const server = await fake();
    const detail = orders(1, Date.parse('2026-11-10T00:00:00Z'))[0]!;
    server.putOrder(detail);
    const c = client(server);
    const tid = detail.full_order_info!.order_info!.tid!;
    expect((await c.getOrder(tid))?.orderId).toBe(tid);
    expect(await c.getOrder('E99999999999999999999999')).toBeNull();
    expect((await rejection(c.getOrder(' '))).code).toBe('VALIDATION_FAILED');
  });
});

describe('throttling and outages', () => {
  it('maps gateway 4101 to PLATFORM_RATE_LIMITED (transient)', async () => {
    const server = await fake();
    const c = client(server);
    await c.getAccessToken();
    server.setThrottled(true);
    const error = await rejection(c.listOrders({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') }));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.transient).toBe(true);
    expect(error.meta?.['youzanCode']).toBe(4101);
    server.setThrottled(false);
    expect((await c.listOrders({ from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') })).orders).toEqual([]);
  });

  it.each(['http_503', 'connection_reset'] as const)('maps an outage (%s) to PLATFORM_UNREACHABLE (transient)', async (outage) => {
    const server = await fake();
    server.setOutage(outage);
    const error = await rejection(client(server).getOrder('E1'));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);
  });

  it('answers PLATFORM_UNREACHABLE when nothing listens, without leaking the token URL', async () => {
    const error = await rejection(client({ url: 'http://127.0.0.1:9' }).getAccessToken());
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('testConnection', () => {
  it('says the credentials work', async () => {
    const server = await fake();
    const check = await client(server).testConnection();
    expect(check).toStrictEqual({
      ok: true,
      message: {
        'zh-CN': `已连接有赞店铺 ${KDT_ID}：凭证有效，可以读取订单。`,
        en: `Connected to Youzan shop ${KDT_ID}: the credentials work and orders can be read.`,
      },
    });
  });

  it.each([
    [{ clientSecret: 'not-the-secret' }, 'client_secret 不正确', 'The client_secret is wrong'],
    [{ clientId: 'ffffffffffffffffff' }, 'client_id 不存在', 'This client_id does not exist'],
    [{ kdtId: '12345' }, '店铺 12345 没有授权给这个应用', 'Shop 12345 has not authorized this app'],
  ])('explains a wrong setting %j in words a merchant understands', async (overrides, zh, en) => {
    const server = await fake();
    const check = await client(server, {}, overrides).testConnection();
    expect(check.ok).toBe(false);
    expect(check.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(check.message['zh-CN']).toContain(zh);
    expect(check.message.en).toContain(en);
    expect(JSON.stringify(check)).not.toContain('not-the-secret');
  });

  it('explains throttling and outages', async () => {
    const server = await fake();
    const c = client(server);
    await c.getAccessToken();
    server.setThrottled(true);
    const throttled = await c.testConnection();
    expect(throttled).toMatchObject({ ok: false, code: 'PLATFORM_RATE_LIMITED' });
    expect(throttled.message['zh-CN']).toContain('限流');
    server.setThrottled(false);
    server.setOutage('http_503');
    const down = await c.testConnection();
    expect(down).toMatchObject({ ok: false, code: 'PLATFORM_UNREACHABLE' });
    expect(down.message.en).toContain('Could not reach the Youzan open platform');
  });
});
