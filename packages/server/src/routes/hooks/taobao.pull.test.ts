import { formatTopTime, startFakeTopServer, type FakeTopServer, type FakeTrade } from '@datong/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commercePollStep } from '../../jobs/commerce-poll.js';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';

// Taobao / Tmall end to end: TOP never pushes, so a connector pointed at the fake TOP router
// pulls its TMC queue in the commerce channel step (jobs/commerce-poll.ts, driven here by
// calling the step), stores each batch and only then confirms it. An unconfirmed batch comes
// back and is deduplicated; a TMC outage is retried later and nothing is lost.

const CREDS = { appKey: '23456789', appSecret: 'tb-secret-0123456789abcdef', sessionKey: '6100e5f6a7b8c9d0' };
const NOW = Date.now();

let h: Harness;
let fake: FakeTopServer;
let connectorId: string;

function trade(tid: string, openUid: string, status: string, at: Date, payment = '128.00'): FakeTrade {
  const t = formatTopTime(at);
  return {
    tid,
    tid_str: tid,
    status,
    type: 'fixed',
    created: formatTopTime(new Date(at.getTime() - 120_000)),
    modified: t,
    pay_time: t,
    payment,
    total_fee: payment,
    post_fee: '0.00',
    discount_fee: '0.00',
    adjust_fee: '0.00',
    buyer_nick: 't**1',
    buyer_open_uid: openUid,
    seller_nick: 'datong旗舰店',
    receiver_name: '韩**',
    receiver_mobile: '138****5678',
    orders: {
      order: [{ oid: `${tid}1`, oid_str: `${tid}1`, num_iid: '600000000001', title: '西湖龙井 250g', price: payment, num: 1, total_fee: payment, payment, status, seller_type: 'B' }],
    },
  };
}

/** A paid trade on the fake and its TMC message in the queue. */
function paid(tid: string, openUid: string, payment = '128.00'): void {
  fake.putTrade(trade(tid, openUid, 'WAIT_SELLER_SEND_GOODS', new Date(NOW - 60_000), payment));
  fake.emitTradeMessage('taobao_trade_TradeBuyerPay', tid);
}

/** One channel step, after moving Datong's clock past the pull interval (and any backoff). */
async function step(advanceMs = 30_000) {
  h.setNow(new Date(h.now().getTime() + advanceMs));
  return commercePollStep(h.datong.deps, h.datong.commerce);
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await h.db.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;
}

async function orders(tids: readonly string[]) {
  const r = await h.db.query<{ order_id: string; status: string; total: string; completed_event: boolean }>(
    "SELECT order_id, status, total, completed_event FROM orders WHERE platform = 'taobao' AND order_id = ANY($1::text[]) ORDER BY order_id",
    [tids],
  );
  return r.rows;
}

async function timelineOf(openUid: string) {
  const c = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=taobao_open_uid&value=${encodeURIComponent(openUid)}`, headers: bearer(h.adminKey) });
  if (c.statusCode !== 200) return null;
  const t = await h.inject({ method: 'GET', url: `/v1/customers/${c.json().id}/timeline?limit=100`, headers: bearer(h.adminKey) });
  return t.json<{ data: { event: string | null; channel: string | null; properties: Record<string, unknown> }[] }>().data;
}

const messageCount = () => count('SELECT count(*)::int AS n FROM connector_messages WHERE connector_id = $1', [connectorId]);

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(NOW));
  fake = await startFakeTopServer({ appKey: CREDS.appKey, appSecret: CREDS.appSecret, sessionKey: CREDS.sessionKey });
  const r = await h.inject({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'taobao', name: '天猫旗舰店', config: { ...CREDS, apiBase: fake.apiBase }, settings: { rateLimit: { perSecond: 1000, burst: 1000 } } },
  });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

describe('Taobao over TMC', () => {
  it('messages published on TMC are pulled, stored, confirmed, and their orders reach the buyer’s timeline via taobao_open_uid', async () => {
    paid('4000000000000000011', 'AAE-uid-buyer-one-000001', '128.00');
    paid('4000000000000000012', 'AAE-uid-buyer-two-000002', '66.50');
    const s = await step();
    expect(s).toMatchObject({ pulled: 2, errors: 0 });
    expect(fake.queueState()).toEqual({ ready: 0, leased: 0, confirmed: 2 });
    await h.drain();
    expect(await orders(['4000000000000000011', '4000000000000000012'])).toEqual([
      { order_id: '4000000000000000011', status: 'paid', total: '128.00', completed_event: true },
      { order_id: '4000000000000000012', status: 'paid', total: '66.50', completed_event: true },
    ]);
    const events = await timelineOf('AAE-uid-buyer-one-000001');
    const completed = events?.filter((e) => e.event === 'Order Completed') ?? [];
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ channel: 'taobao', properties: { order_id: '4000000000000000011', total: '128.00', currency: 'CNY', platform: 'taobao' } });
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages?channel=pull`, headers: bearer(h.adminKey) });
    expect(log.json<{ data: { verification: string; status: string }[] }>().data).toEqual([
      expect.objectContaining({ verification: 'valid', status: 'processed' }),
      expect.objectContaining({ verification: 'valid', status: 'processed' }),
    ]);
  });

  it('a batch whose confirm fails was stored first; TMC hands it out again and the redelivery is deduplicated', async () => {
    const tids = ['4000000000000000021', '4000000000000000022', '4000000000000000023'];
    for (const tid of tids) paid(tid, 'AAE-uid-buyer-three-0003', '10.00');
    const before = await messageCount();
    fake.failNext({ code: 15, msg: 'Remote service error', sub_code: 'isp.tmc-service-unavailable', sub_msg: '服务暂不可用' }, { method: 'taobao.tmc.messages.confirm' });
    const first = await step();
    expect(first.pulled).toBe(3); // stored before the confirm was tried
    expect(await messageCount()).toBe(before + 3);
    expect(fake.queueState()).toMatchObject({ leased: 3, confirmed: 2 });
    const state = await h.db.query<{ pull_failures: number; last_pull_error: string | null }>('SELECT pull_failures, last_pull_error FROM connector_state WHERE connector_id = $1', [connectorId]);
    expect(state.rows[0]?.pull_failures).toBe(1);

    fake.redeliverNow(); // the lease ran out: TMC delivers the unconfirmed messages again
    const second = await step();
    expect(second).toMatchObject({ pulled: 0, errors: 0 }); // all three already stored
    expect(fake.queueState()).toEqual({ ready: 0, leased: 0, confirmed: 5 });
    expect(await messageCount()).toBe(before + 3);
    await h.drain();
    expect((await orders(tids)).map((o) => o.status)).toEqual(['paid', 'paid', 'paid']);
    const completed = (await timelineOf('AAE-uid-buyer-three-0003'))?.filter((e) => e.event === 'Order Completed') ?? [];
    expect(completed.map((e) => e.properties['order_id']).sort()).toEqual(tids);
  });

  it('a TMC outage is retried later with backoff, and nothing is lost', async () => {
    const tids = ['4000000000000000031', '4000000000000000032'];
    for (const tid of tids) paid(tid, 'AAE-uid-buyer-four-00004', '99.00');
    fake.setOutage('http-503');
    const down = await step();
    expect(down.pulled).toBe(0);
    const state = await h.db.query<{ pull_failures: number; last_pull_error: string | null }>('SELECT pull_failures, last_pull_error FROM connector_state WHERE connector_id = $1', [connectorId]);
    expect(state.rows[0]?.pull_failures).toBe(1);
    expect(state.rows[0]?.last_pull_error).toContain('PLATFORM_UNREACHABLE');
    expect(fake.queueState()).toMatchObject({ ready: 2 });
    // Still down at the next try, then back.
    expect((await step()).pulled).toBe(0);
    fake.setOutage(false);
    // Within the backoff nothing is tried; after it the queue is drained.
    expect((await step(1_000)).pulled).toBe(0);
    const back = await step(60_000);
    expect(back.pulled).toBe(2);
    expect(fake.queueState()).toEqual({ ready: 0, leased: 0, confirmed: 7 });
    const after = await h.db.query<{ pull_failures: number }>('SELECT pull_failures FROM connector_state WHERE connector_id = $1', [connectorId]);
    expect(after.rows[0]?.pull_failures).toBe(0);
    await h.drain();
    expect((await orders(tids)).map((o) => [o.status, o.total])).toEqual([
      ['paid', '99.00'],
      ['paid', '99.00'],
    ]);
    expect(((await timelineOf('AAE-uid-buyer-four-00004')) ?? []).filter((e) => e.event === 'Order Completed')).toHaveLength(2);
    // Every order of the run is there once.
    expect(await count("SELECT count(*)::int AS n FROM orders WHERE platform = 'taobao'")).toBe(7);
  });
});
