import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOrder, fakeShopConnector, signedPush, startFakeShopApi, type FakePushMessage, type FakeShopApi } from '../test-support/fake-commerce.js';
import { bearer, createHarness, type Harness } from '../test-support/harness.js';
import { commercePollStep } from './commerce-poll.js';

// The channels besides pushes: fallback polling (and back), a platform outage during polling,
// pull channels (store, then confirm), and the daily reconciliation. The clock is the harness's;
// fake order APIs bind to 127.0.0.1 with OS-assigned ports, one per connector.

const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const S = 1000;

let h: Harness;
const apis: FakeShopApi[] = [];

interface Status {
  channel: string;
  channelReason: string | null;
  health: string;
  pollFailures: number;
  lastPollError: string | null;
  pollWatermark: string | null;
  lastReconcile: Record<string, unknown> | null;
}

async function newConnector(settings: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ id: string; api: FakeShopApi; creds: { appKey: string; appSecret: string } }> {
  const creds = { appKey: `key-${apis.length}`, appSecret: `secret-${apis.length}-0123456789` };
  const api = await startFakeShopApi({ appKey: creds.appKey });
  apis.push(api);
  const r = await h.inject({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'fakeshop', config: { ...creds, shopId: 'shop-1', apiBase: api.url, ...extra }, settings },
  });
  expect(r.statusCode).toBe(201);
  return { id: r.json<{ id: string }>().id, api, creds };
}

async function disable(id: string): Promise<void> {
  expect((await h.inject({ method: 'DELETE', url: `/v1/connectors/${id}`, headers: bearer(h.adminKey) })).statusCode).toBe(204);
}

async function status(id: string): Promise<Status> {
  const r = await h.inject({ method: 'GET', url: `/v1/connectors/${id}`, headers: bearer(h.adminKey) });
  return r.json<{ commerce: Status }>().commerce;
}

async function push(id: string, creds: { appKey: string; appSecret: string }, messages: FakePushMessage[]): Promise<LightMyRequestResponse> {
  const { payload, headers } = signedPush(creds, messages, h.now());
  return h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${id}`, headers, payload });
}

const at = (ms: number): void => h.setNow(new Date(ms));
const step = () => commercePollStep(h.datong.deps, h.datong.commerce);

async function orderCompletedCount(orderNo: string): Promise<number> {
  const r = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE event = 'Order Completed' AND properties->>'order_id' = $1`, [orderNo]);
  return Number(r.rows[0]?.n ?? 0);
}

async function orderStatus(orderNo: string): Promise<string | null> {
  const r = await h.db.query<{ status: string }>(`SELECT status FROM orders WHERE order_id = $1`, [orderNo]);
  return r.rows[0]?.status ?? null;
}

const buyer = (n: number) => ({ buyer_id: `poll-buyer-${n}`, mobile: `1360000${String(n).padStart(4, '0')}` });

beforeAll(async () => {
  h = await createHarness({ commerceConnectors: [fakeShopConnector] });
});
afterAll(async () => {
  await h?.close();
  for (const a of apis) await a.close();
});

describe('fallback channel', () => {
  it('polls when pushes stop, returns to push when they resume, and never duplicates across channels', async () => {
    at(T0);
    const { id, api, creds } = await newConnector({ fallbackAfterMs: 60_000, pollIntervalMs: 30_000 });
    api.put(fakeOrder('P1', { update_time: T0 + 10 * S, buyer: buyer(1) }));
    api.put(fakeOrder('P2', { update_time: T0 + 20 * S, buyer: buyer(2) }));
    api.put(fakeOrder('P3', { update_time: T0 + 40 * S, buyer: buyer(3) }));

    at(T0 + 30 * S);
    expect((await step()).switchedToPolling).toEqual([]);
    expect(api.calls.get('/orders')).toBeUndefined();

    // No push for a minute: the connector polls the order API from before its last push (overlap), page by page.
    at(T0 + 61 * S);
    const s1 = await step();
    expect(s1.switchedToPolling).toEqual([id]);
    expect(s1.polled).toBe(3);
    expect(api.calls.get('/orders')).toBe(2);
    expect(await status(id)).toMatchObject({ channel: 'polling', health: 'degraded', pollWatermark: new Date(T0 + 61 * S).toISOString() });
    expect((await status(id)).channelReason).toMatch(/no valid push for 61 s/);
    await h.drain();
    for (const o of ['P1', 'P2', 'P3']) expect(await orderCompletedCount(o)).toBe(1);

    // P5 changes while pushes are still down and is never pushed; then pushes come back (P3 again, P4 new).
    api.put(fakeOrder('P5', { update_time: T0 + 70 * S, buyer: buyer(5) }));
    at(T0 + 90 * S);
    const ok = await push(id, creds, [
      { msg_id: 'push-p3', type: 'order', data: fakeOrder('P3', { update_time: T0 + 40 * S, buyer: buyer(3) }) },
      { msg_id: 'push-p4', type: 'order', data: fakeOrder('P4', { update_time: T0 + 85 * S, buyer: buyer(4) }) },
    ]);
    expect(ok.body).toBe('{"code":0,"msg":"success"}');
    expect(await status(id)).toMatchObject({ channel: 'push', channelReason: 'valid pushes arrive again' });

    // One last catch-up poll up to the moment pushes resumed picks up P5; then no more polling.
    at(T0 + 95 * S);
    const s2 = await step();
    expect(s2.polled).toBe(1);
    await h.drain();
    for (const o of ['P1', 'P2', 'P3', 'P4', 'P5']) expect(await orderCompletedCount(o)).toBe(1);
    expect(await status(id)).toMatchObject({ channel: 'push', health: 'ok', pollWatermark: new Date(T0 + 90 * S).toISOString() });
    const calls = api.calls.get('/orders');
    at(T0 + 140 * S);
    await step();
    expect(api.calls.get('/orders')).toBe(calls);
    await disable(id);
  });

  it('switches to polling when pushes keep failing verification', async () => {
    at(T0);
    const { id, creds } = await newConnector({ fallbackAfterMs: 3_600_000 });
    for (let i = 0; i < 3; i++) {
      const r = await push(id, { ...creds, appSecret: 'not-the-secret' }, [{ msg_id: `bad-${i}`, type: 'order', data: fakeOrder(`B${i}`) }]);
      expect(r.statusCode).toBe(400);
    }
    at(T0 + 5 * S);
    expect((await step()).switchedToPolling).toEqual([id]);
    expect((await status(id)).channelReason).toMatch(/3 pushes in a row were rejected \(CONNECTOR_SIGNATURE_INVALID/);
    await disable(id);
  });

  it('waits through a platform outage while polling and loses nothing once it is back', async () => {
    at(T0);
    const { id, api } = await newConnector({ fallbackAfterMs: 60_000, pollIntervalMs: 30_000 });
    for (let i = 1; i <= 5; i++) api.put(fakeOrder(`Q${i}`, { update_time: T0 + i * 5 * S, buyer: buyer(10 + i) }));
    api.down = true;
    at(T0 + 61 * S);
    const s1 = await step();
    expect(s1.switchedToPolling).toEqual([id]);
    expect(s1.polled).toBe(0);
    let st = await status(id);
    expect(st).toMatchObject({ channel: 'polling', health: 'failing', pollFailures: 1 });
    expect(st.lastPollError).toMatch(/^PLATFORM_UNREACHABLE/);
    const watermark = st.pollWatermark;

    // Still down (and then throttling): backoff, the watermark does not move.
    at(T0 + 67 * S);
    await step();
    api.down = false;
    api.throttle = true;
    at(T0 + 80 * S);
    await step();
    st = await status(id);
    expect(st.pollFailures).toBe(3);
    expect(st.lastPollError).toMatch(/^PLATFORM_RATE_LIMITED/);
    expect(st.pollWatermark).toBe(watermark);

    // Back: everything since the watermark is read.
    api.throttle = false;
    at(T0 + 120 * S);
    expect((await step()).polled).toBe(5);
    await h.drain();
    for (let i = 1; i <= 5; i++) {
      expect(await orderStatus(`Q${i}`)).toBe('paid');
      expect(await orderCompletedCount(`Q${i}`)).toBe(1);
    }
    expect(await status(id)).toMatchObject({ pollFailures: 0, lastPollError: null, health: 'degraded' });
    await disable(id);
  });
});

describe('pull channel', () => {
  it('stores pulled messages before confirming them, so an unconfirmed batch redelivered has one effect', async () => {
    at(T0);
    const { id, api } = await newConnector({ fallbackAfterMs: 3_600_000 }, { pull: true });
    api.queue.push({ msg_id: 'tmc-1', type: 'order', data: fakeOrder('T1', { update_time: T0 - 5 * S, buyer: buyer(21) }) });
    api.queue.push({ msg_id: 'tmc-2', type: 'order', data: fakeOrder('T2', { update_time: T0 - 4 * S, buyer: buyer(22) }) });
    api.failConfirm = true;
    at(T0 + S);
    expect((await step()).pulled).toBe(2);
    // Stored, not confirmed: the platform keeps them and delivers them again.
    expect(api.queue).toHaveLength(2);
    api.failConfirm = false;
    at(T0 + 20 * S);
    expect((await step()).pulled).toBe(0);
    expect(api.queue).toHaveLength(0);
    await h.drain();
    expect(await orderCompletedCount('T1')).toBe(1);
    expect(await orderCompletedCount('T2')).toBe(1);
    const log = await h.inject({ method: 'GET', url: `/v1/connectors/${id}/messages?channel=pull`, headers: bearer(h.adminKey) });
    expect(log.json<{ data: { status: string }[] }>().data.map((m) => m.status)).toEqual(['processed', 'processed']);
    await disable(id);
  });
});

describe('daily reconciliation', () => {
  it('runs once at the configured local time and backfills what is missing', async () => {
    // 17:00 in Shanghai; reconciliation at 03:00 Shanghai time = 19:00 UTC.
    at(T0);
    const { id, api } = await newConnector({ fallbackAfterMs: 86_400_000, reconcileDaily: '03:00', timezone: 'Asia/Shanghai' });
    api.put(fakeOrder('D1', { update_time: T0 + 3_600_000, buyer: buyer(31) }));
    at(Date.parse('2026-03-01T18:59:00.000Z'));
    expect((await step()).reconciled).toBe(0);
    at(Date.parse('2026-03-01T19:00:30.000Z'));
    expect((await step()).reconciled).toBe(1);
    expect((await status(id)).lastReconcile).toMatchObject({ ok: true, scheduled: true, platformOrders: 1, missing: 1, backfilled: 1 });
    at(Date.parse('2026-03-01T19:10:00.000Z'));
    expect((await step()).reconciled).toBe(0);
    await h.drain();
    expect(await orderCompletedCount('D1')).toBe(1);
    await disable(id);
  });
});
