import { afterEach, describe, expect, it } from 'vitest';
import { DatongError, type CanonicalOrder } from '@datong/core';
import { createTaobaoClient, TAOBAO_PAGE_SIZE } from './client.js';
import { parseTaobaoConfig, type TaobaoConfig, type TopSignMethod } from './config.js';
import { startFakeTopServer, type FakeTopServer, type FakeTopServerOptions, type FakeTrade } from './fake-server.js';
import { normalizeTaobaoMessage } from './normalize.js';
import type { TaobaoMessagePayload } from './payloads.js';
import { formatTopTime } from './sign.js';

const APP_KEY = '12345678';
const APP_SECRET = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const SESSION = '6100e2b9a7c4f5d8e1a0b3c6d9f2e5a8b1c4d7e0f3a6b9c2d5e8f1a4b7c0d3e6f';
const SELLER = 'datong旗舰店';

const servers: FakeTopServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(options: Partial<FakeTopServerOptions> = {}): Promise<FakeTopServer> {
  const server = await startFakeTopServer({ appKey: APP_KEY, appSecret: APP_SECRET, sessionKey: SESSION, sellerNick: SELLER, ...options });
  servers.push(server);
  return server;
}

function configFor(server: FakeTopServer, overrides: Record<string, unknown> = {}): TaobaoConfig {
  return parseTaobaoConfig({ appKey: APP_KEY, appSecret: APP_SECRET, sessionKey: SESSION, apiBase: server.apiBase, ...overrides });
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

const T0 = Date.parse('2024-03-08T00:00:00+08:00');

/** A paid one-line trade; `n` makes the ids (19 digits) and `at` the modified time. */
function trade(n: number, at: number, overrides: Partial<FakeTrade> = {}): FakeTrade {
  const tid = (3702118873904000000n + BigInt(n)).toString();
  return {
    tid,
    status: 'WAIT_SELLER_SEND_GOODS',
    type: 'fixed',
    created: formatTopTime(new Date(at - 60_000)),
    pay_time: formatTopTime(new Date(at - 30_000)),
    modified: formatTopTime(new Date(at)),
    payment: '99.90',
    total_fee: '99.90',
    post_fee: '0.00',
    buyer_nick: 't**1',
    buyer_open_uid: `AAHm5d-EAAeGwJedwS${String(n).padStart(6, '0')}`,
    seller_nick: SELLER,
    receiver_mobile: '138****5678',
    orders: {
      order: [{ oid: (BigInt(tid) + 1000000n).toString(), num_iid: '689012345678', title: 'Datong T恤', price: '99.90', num: 1, payment: '99.90', seller_type: 'B' }],
    },
    ...overrides,
  };
}

async function allOrders(client: ReturnType<typeof createTaobaoClient>, from: Date, to: Date, between?: (page: number) => void) {
  const orders: CanonicalOrder[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listOrders({ from, to, ...(cursor === undefined ? {} : { cursor }) });
    orders.push(...page.orders);
    cursor = page.nextCursor;
    pages += 1;
    between?.(pages);
  } while (cursor !== undefined);
  return { orders, pages };
}

describe('createTaobaoClient', () => {
  it('refuses to build a client whose config has no AppSecret or session key', () => {
    for (const missing of ['appSecret', 'sessionKey']) {
      const unchecked = { appKey: APP_KEY, appSecret: APP_SECRET, sessionKey: SESSION, apiBase: 'https://eco.taobao.com/router/rest', signMethod: 'md5', fetchTradeDetails: true } as Record<string, unknown>;
      delete unchecked[missing];
      let error: unknown;
      try {
        createTaobaoClient(unchecked as unknown as TaobaoConfig);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatongError);
      expect((error as DatongError).code).toBe('CONNECTOR_CONFIG_INVALID');
    }
  });
});

describe('signed calls', () => {
  it.each(['md5', 'hmac', 'hmac-sha256'] as const)('the fake router accepts %s-signed calls', async (signMethod: TopSignMethod) => {
    const server = await fake();
    const answer = await createTaobaoClient(configFor(server, { signMethod })).call('taobao.user.seller.get', { fields: 'nick' });
    expect(answer['user']).toMatchObject({ nick: SELLER });
  });

  it('maps a wrong AppSecret (Invalid signature, code 25) to CONNECTOR_CONFIG_INVALID without leaking secrets', async () => {
    const server = await fake();
    const wrong = 'ffffffffffffffffffffffffffffffff';
    const error = await rejection(createTaobaoClient(configFor(server, { appSecret: wrong })).call('taobao.user.seller.get', { fields: 'nick' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ topCode: 25 });
    expect(printable(error)).not.toContain(wrong);
    expect(printable(error)).not.toContain(SESSION);
  });

  it('maps an invalid session (code 27) to CONNECTOR_CONFIG_INVALID', async () => {
    const server = await fake();
    const error = await rejection(createTaobaoClient(configFor(server, { sessionKey: 'expired' })).call('taobao.user.seller.get', { fields: 'nick' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ topCode: 27, subCode: 'invalid-sessionkey' });
  });

  it('timestamps calls in GMT+8 from deps.now; a clock 11 minutes off is refused by the router (code 31)', async () => {
    const server = await fake();
    const ok = createTaobaoClient(configFor(server), { now: () => new Date(Date.now() - 9 * 60_000) });
    await expect(ok.call('taobao.user.seller.get', { fields: 'nick' })).resolves.toBeDefined();
    const skewed = createTaobaoClient(configFor(server), { now: () => new Date(Date.now() - 11 * 60_000) });
    const error = await rejection(skewed.call('taobao.user.seller.get', { fields: 'nick' }));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.meta).toMatchObject({ topCode: 31 });
  });

  it('waits for deps.rateLimit before every call, per API', async () => {
    const server = await fake();
    const seen: string[] = [];
    const client = createTaobaoClient(configFor(server), {
      rateLimit: async (api) => {
        seen.push(api);
      },
    });
    await client.call('taobao.user.seller.get', { fields: 'nick' });
    await client.listOrders({ from: new Date(T0), to: new Date(T0 + 3600_000) });
    expect(seen).toEqual(['taobao.user.seller.get', 'taobao.trades.sold.increment.get']);
  });

  it('uses deps.baseUrl over the configured apiBase', async () => {
    const server = await fake();
    const config = parseTaobaoConfig({ appKey: APP_KEY, appSecret: APP_SECRET, sessionKey: SESSION });
    const answer = await createTaobaoClient(config, { baseUrl: server.apiBase }).call('taobao.user.seller.get', { fields: 'nick' });
    expect(answer['user']).toMatchObject({ nick: SELLER });
  });
});

describe('errors: throttling and outages', () => {
  it('maps App Call Limited (accesscontrol.limited-by-api-access-count) to a transient PLATFORM_RATE_LIMITED with the ban length', async () => {
    const server = await fake();
    server.throttleNext(1, { seconds: 7 });
    const error = await rejection(createTaobaoClient(configFor(server)).listOrders({ from: new Date(T0), to: new Date(T0 + 60_000) }));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.transient).toBe(true);
    expect(error.meta).toMatchObject({ topCode: 7, subCode: 'accesscontrol.limited-by-api-access-count', retryAfterSeconds: 7 });
  });

  it.each(['accesscontrol.limited-by-app-access-count', 'accesscontrol.limited-by-app-api-access-count'])('maps %s to PLATFORM_RATE_LIMITED', async (subCode) => {
    const server = await fake();
    server.throttleNext(1, { subCode });
    expect((await rejection(createTaobaoClient(configFor(server)).getOrder('1'))).code).toBe('PLATFORM_RATE_LIMITED');
  });

  it('maps an isp.* failure to a transient PLATFORM_UNREACHABLE and an isv.* one to PLATFORM_ERROR', async () => {
    const server = await fake();
    server.failNext({ code: 15, msg: 'Remote service error', sub_code: 'isp.top-remote-connection-timeout', sub_msg: 'timeout' });
    const isp = await rejection(createTaobaoClient(configFor(server)).getOrder('1'));
    expect(isp.code).toBe('PLATFORM_UNREACHABLE');
    expect(isp.transient).toBe(true);
    server.failNext({ code: 15, msg: 'Remote service error', sub_code: 'isv.invalid-parameter', sub_msg: 'bad' });
    const isv = await rejection(createTaobaoClient(configFor(server)).getOrder('1'));
    expect(isv.code).toBe('PLATFORM_ERROR');
    expect(isv.transient).toBe(false);
  });

  it.each(['http-503', 'reset'] as const)('maps an outage (%s) to PLATFORM_UNREACHABLE', async (mode) => {
    const server = await fake();
    server.setOutage(mode);
    const error = await rejection(createTaobaoClient(configFor(server)).pullMessages(10));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);
    server.setOutage(false);
    await expect(createTaobaoClient(configFor(server)).pullMessages(10)).resolves.toMatchObject({ messages: [] });
  });

  it('maps nothing listening to PLATFORM_UNREACHABLE and keeps secrets out of the error', async () => {
    const server = await fake();
    const config = configFor(server);
    await servers.pop()?.close();
    const error = await rejection(createTaobaoClient(config).getOrder('1'));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(printable(error)).not.toContain(SESSION);
    expect(printable(error)).not.toContain(APP_SECRET);
  });
});

describe('listOrders (taobao.trades.sold.increment.get)', () => {
  it('returns every trade modified in the window exactly, across pages, with 19-digit ids intact', async () => {
    const server = await fake();
    const count = 2 * TAOBAO_PAGE_SIZE + 20;
    for (let i = 0; i < count; i += 1) server.putTrade(trade(i, T0 + 1000 + i * 1000));
    // Outside the window on both sides.
    server.putTrade(trade(900, T0 - 1000));
    server.putTrade(trade(901, T0 + 3600_000));
    const client = createTaobaoClient(configFor(server));
    const { orders, pages } = await allOrders(client, new Date(T0), new Date(T0 + 3600_000));
    expect(pages).toBe(3);
    expect(new Set(orders.map((o) => o.orderId)).size).toBe(count);
    expect(orders.map((o) => o.orderId)).toContain('3702118873904000119');
    expect(orders[0]).toMatchObject({ platform: 'taobao', shopId: SELLER, status: 'paid', currency: 'CNY', totalAmount: '99.90' });
  });

  it('reads a multi-page slice from its last page back to page 1 (the doc says so to miss nothing)', async () => {
    const server = await fake();
    const count = 2 * TAOBAO_PAGE_SIZE + 20;
    for (let i = 0; i < count; i += 1) server.putTrade(trade(i, T0 + 1000 + i * 1000));
    const client = createTaobaoClient(configFor(server));
    const first = await client.listOrders({ from: new Date(T0), to: new Date(T0 + 3600_000) });
    // Newest first on TOP, so the last page holds the oldest modifications.
    expect(first.orders.map((o) => o.orderId)).toContain('3702118873904000000');
    expect(first.orders).toHaveLength(20);
  });

  it('misses nothing when trades are modified again (and leave the window) while it pages', async () => {
    const server = await fake();
    const count = 2 * TAOBAO_PAGE_SIZE + 20;
    const trades = Array.from({ length: count }, (_, i) => trade(i, T0 + 1000 + i * 1000));
    for (const t of trades) server.putTrade(t);
    const client = createTaobaoClient(configFor(server));
    const moved = new Set<string>();
    const { orders } = await allOrders(client, new Date(T0), new Date(T0 + 3600_000), (page) => {
      // After each page, the newest trade still in the window is modified now: it leaves the window.
      const newest = trades[count - page]!;
      server.putTrade({ ...newest, modified: formatTopTime(new Date(T0 + 7200_000)) });
      moved.add(newest.tid);
    });
    const seen = new Set(orders.map((o) => o.orderId));
    for (const t of trades) if (!moved.has(t.tid)) expect(seen.has(t.tid), t.tid).toBe(true);
  });

  it('splits windows longer than a day into one-day slices and skips empty ones', async () => {
    const server = await fake();
    const day = 24 * 3600_000;
    server.putTrade(trade(1, T0 + 10_000));
    server.putTrade(trade(2, T0 + 3 * day + 10_000));
    const client = createTaobaoClient(configFor(server));
    const { orders, pages } = await allOrders(client, new Date(T0), new Date(T0 + 4 * day));
    expect(orders.map((o) => o.orderId).sort()).toEqual(['3702118873904000001', '3702118873904000002']);
    expect(pages).toBe(2);
    expect(server.callCount('taobao.trades.sold.increment.get')).toBe(4);
  });

  it('treats the window as [from, to) at TOP one-second resolution', async () => {
    const server = await fake();
    server.putTrade(trade(1, T0));
    server.putTrade(trade(2, T0 + 60_000));
    const client = createTaobaoClient(configFor(server));
    const { orders } = await allOrders(client, new Date(T0), new Date(T0 + 60_000));
    expect(orders.map((o) => o.orderId)).toEqual(['3702118873904000001']);
  });

  it('answers an empty page for an empty or reversed window, and refuses a foreign cursor', async () => {
    const server = await fake();
    const client = createTaobaoClient(configFor(server));
    await expect(client.listOrders({ from: new Date(T0), to: new Date(T0) })).resolves.toEqual({ orders: [] });
    const error = await rejection(client.listOrders({ from: new Date(T0), to: new Date(T0 + 1000), cursor: 'v1.1.1' }));
    expect(error.code).toBe('VALIDATION_FAILED');
  });
});

describe('getOrder (taobao.trade.fullinfo.get)', () => {
  it('returns the canonical order, or null when TOP says the trade does not exist', async () => {
    const server = await fake();
    server.putTrade(trade(7, T0 + 5000, { status: 'TRADE_FINISHED', end_time: formatTopTime(new Date(T0 + 5000)) }));
    const client = createTaobaoClient(configFor(server));
    const order = await client.getOrder('3702118873904000007');
    expect(order).toMatchObject({ orderId: '3702118873904000007', status: 'completed' });
    expect(order?.buyer).toStrictEqual({ identifiers: [{ type: 'taobao_open_uid', value: 'AAHm5d-EAAeGwJedwS000007' }], maskedPhone: '138****5678' });
    await expect(client.getOrder('3702118873904999999')).resolves.toBeNull();
  });

  it('refuses an id that is not digits without calling TOP', async () => {
    const server = await fake();
    expect((await rejection(createTaobaoClient(configFor(server)).getOrder('12a'))).code).toBe('VALIDATION_FAILED');
    expect(server.callCount()).toBe(0);
  });
});

describe('pullMessages (TMC consume / confirm)', () => {
  it('consumes messages with exact 19-digit ids, attaches the fetched trade once per tid, and confirms exactly those ids', async () => {
    const server = await fake();
    const t = trade(1, T0 + 1000);
    server.putTrade(t);
    const create = server.emitTradeMessage('taobao_trade_TradeCreate', t.tid);
    const pay = server.emitTradeMessage('taobao_trade_TradeBuyerPay', t.tid);
    const refund = server.emitRefundMessage('taobao_refund_RefundCreated', { refund_id: '139876543210987654', tid: t.tid, refund_fee: '99.90' });

    const client = createTaobaoClient(configFor(server));
    const batch = await client.pullMessages(50);
    expect(batch.messages.map((m) => m.messageId)).toEqual([create, pay, refund]);
    expect(create).toMatch(/^\d{19}$/);
    expect(batch.messages.map((m) => m.type)).toEqual(['taobao_trade_TradeCreate', 'taobao_trade_TradeBuyerPay', 'taobao_refund_RefundCreated']);
    const payloads = batch.messages.map((m) => m.payload as TaobaoMessagePayload);
    expect(payloads[0]?.trade).toMatchObject({ tid: t.tid });
    expect(payloads[1]?.trade).toMatchObject({ tid: t.tid });
    expect(payloads[2]?.trade).toBeUndefined();
    expect(payloads[2]?.content).toMatchObject({ refund_id: '139876543210987654', tid: t.tid });
    expect(server.callCount('taobao.trade.fullinfo.get')).toBe(1);
    expect(server.queueState()).toEqual({ ready: 0, leased: 3, confirmed: 0 });

    await batch.confirm();
    await batch.confirm();
    expect(server.callCount('taobao.tmc.messages.confirm')).toBe(1);
    expect(server.queueState()).toEqual({ ready: 0, leased: 0, confirmed: 3 });
    expect((await client.pullMessages(50)).messages).toEqual([]);

    const records = batch.messages.flatMap((m) => normalizeTaobaoMessage(m, { config: configFor(server), connectorId: 'con_1' }));
    expect(records.map((r) => r.kind)).toEqual(['order', 'order', 'refund']);
    expect(records[1]).toMatchObject({ order: { orderId: t.tid, status: 'paid', lines: [{ title: 'Datong T恤' }] } });
  });

  it('redelivers unconfirmed messages after the timeout, and not before', async () => {
    let clock = Date.now();
    const server = await fake({ now: () => clock, redeliverAfterMs: 60_000 });
    server.publish('taobao_item_ItemUpdate', { num_iid: '689012345678', nick: SELLER });
    const client = createTaobaoClient(configFor(server), { now: () => new Date(clock) });
    const first = await client.pullMessages(10);
    expect(first.messages).toHaveLength(1);
    expect((await client.pullMessages(10)).messages).toHaveLength(0);
    clock += 60_000;
    const again = await client.pullMessages(10);
    expect(again.messages.map((m) => m.messageId)).toEqual(first.messages.map((m) => m.messageId));
    await again.confirm();
    clock += 120_000;
    expect((await client.pullMessages(10)).messages).toHaveLength(0);
  });

  it('redeliverNow() hands out every leased message again (the test trigger)', async () => {
    const server = await fake();
    server.publish('taobao_item_ItemUpdate', { num_iid: '1' });
    server.publish('taobao_item_ItemUpdate', { num_iid: '2' });
    const client = createTaobaoClient(configFor(server));
    const first = await client.pullMessages(10);
    server.redeliverNow();
    const second = await client.pullMessages(10);
    expect(second.messages.map((m) => m.messageId)).toEqual(first.messages.map((m) => m.messageId));
  });

  it('asks TMC for 10 to 200 messages whatever max says', async () => {
    const server = await fake();
    for (let i = 0; i < 230; i += 1) server.publish('taobao_item_ItemUpdate', { num_iid: String(i) });
    const client = createTaobaoClient(configFor(server, { fetchTradeDetails: false }));
    expect((await client.pullMessages(1)).messages).toHaveLength(10);
    expect((await client.pullMessages(1000)).messages).toHaveLength(200);
    expect((await rejection(client.pullMessages(0))).code).toBe('VALIDATION_FAILED');
  });

  it('confirms more than 200 ids in chunks of 200', async () => {
    const server = await fake();
    for (let i = 0; i < 230; i += 1) server.publish('taobao_item_ItemUpdate', { num_iid: String(i) });
    const client = createTaobaoClient(configFor(server, { fetchTradeDetails: false }));
    const a = await client.pullMessages(200);
    const b = await client.pullMessages(200);
    await a.confirm();
    await b.confirm();
    expect(server.queueState().confirmed).toBe(230);
  });

  it('still hands out the messages when fetching trades is throttled, without the trade', async () => {
    const server = await fake();
    const t1 = trade(1, T0);
    const t2 = trade(2, T0);
    server.putTrade(t1);
    server.putTrade(t2);
    server.emitTradeMessage('taobao_trade_TradeBuyerPay', t1.tid);
    server.emitTradeMessage('taobao_trade_TradeBuyerPay', t2.tid);
    server.throttleNext(1, { method: 'taobao.trade.fullinfo.get' });
    const batch = await createTaobaoClient(configFor(server)).pullMessages(10);
    expect(batch.messages).toHaveLength(2);
    expect(batch.messages.map((m) => (m.payload as TaobaoMessagePayload).trade)).toEqual([undefined, undefined]);
    // Throttled once: the batch stops fetching instead of hammering TOP.
    expect(server.callCount('taobao.trade.fullinfo.get')).toBe(1);
    const [record] = normalizeTaobaoMessage(batch.messages[0]!, { config: configFor(server), connectorId: 'con_1' });
    expect(record).toMatchObject({ kind: 'order', order: { orderId: t1.tid, status: 'paid', lines: [] } });
  });

  it('does not fetch trades when fetchTradeDetails is off', async () => {
    const server = await fake();
    const t = trade(1, T0);
    server.putTrade(t);
    server.emitTradeMessage('taobao_trade_TradeSuccess', t.tid);
    const batch = await createTaobaoClient(configFor(server, { fetchTradeDetails: false })).pullMessages(10);
    expect((batch.messages[0]?.payload as TaobaoMessagePayload).trade).toBeUndefined();
    expect(server.callCount('taobao.trade.fullinfo.get')).toBe(0);
  });

  it('a failed confirm can be retried; the messages stay leased until then', async () => {
    const server = await fake();
    server.publish('taobao_item_ItemUpdate', { num_iid: '1' });
    const client = createTaobaoClient(configFor(server));
    const batch = await client.pullMessages(10);
    server.throttleNext(1, { method: 'taobao.tmc.messages.confirm' });
    expect((await rejection(batch.confirm())).code).toBe('PLATFORM_RATE_LIMITED');
    expect(server.queueState().confirmed).toBe(0);
    await batch.confirm();
    expect(server.queueState().confirmed).toBe(1);
  });
});

describe('testConnection', () => {
  it('says which shop is connected', async () => {
    const server = await fake();
    const check = await createTaobaoClient(configFor(server)).testConnection();
    expect(check).toStrictEqual({
      ok: true,
      message: { 'zh-CN': `已连接淘宝店铺「${SELLER}」，消息服务已开通。`, en: `Connected to Taobao shop "${SELLER}"; the message service is on.` },
    });
  });

  it('tells the merchant when the AppSecret is wrong', async () => {
    const server = await fake();
    const check = await createTaobaoClient(configFor(server, { appSecret: 'wrong' })).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(check.message['zh-CN']).toContain('AppSecret');
    expect(check.message.en).toContain('AppSecret is wrong');
  });

  it('tells the merchant when the AppKey is wrong', async () => {
    const server = await fake();
    const check = await createTaobaoClient(configFor(server, { appKey: '87654321' })).testConnection();
    expect(check.message.en).toContain('AppKey is wrong');
  });

  it('tells the merchant to authorise again when the session has expired', async () => {
    const server = await fake();
    const check = await createTaobaoClient(configFor(server, { sessionKey: 'expired' })).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(check.message['zh-CN']).toContain('重新授权');
  });

  it('tells the merchant when TMC is not on for the shop, and permitMessages turns it on', async () => {
    const server = await fake({ tmcPermitted: false });
    const client = createTaobaoClient(configFor(server));
    const check = await client.testConnection();
    expect(check).toMatchObject({ ok: false, code: 'CONNECTOR_CONFIG_INVALID' });
    expect(check.message['zh-CN']).toContain('消息服务');
    await client.permitMessages();
    expect((await client.testConnection()).ok).toBe(true);
  });

  it('reports throttling and outages in words, without throwing', async () => {
    const server = await fake();
    const client = createTaobaoClient(configFor(server));
    server.throttleNext();
    expect(await client.testConnection()).toMatchObject({ ok: false, code: 'PLATFORM_RATE_LIMITED' });
    server.setOutage('http-503');
    const down = await client.testConnection();
    expect(down).toMatchObject({ ok: false, code: 'PLATFORM_UNREACHABLE' });
    expect(down.message['zh-CN']).toContain('无法连接淘宝开放平台');
  });
});
