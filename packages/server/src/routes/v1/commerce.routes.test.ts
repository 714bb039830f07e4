import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOrder, fakeShopConnector, signedPush, startFakeShopApi, type FakeShopApi } from '../../test-support/fake-commerce.js';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';
import { expectProblem } from '../../test-support/problems.js';

// Reconciliation (report and backfill) and connector settings. The fake order API binds to
// 127.0.0.1 with an OS-assigned port.

const NOW = Date.parse('2026-03-02T09:00:00.000Z');
const DAY = 86_400_000;
const CREDS = { appKey: 'rc-app', appSecret: 'rc-secret-0123456789', shopId: 'shop-1' };

let h: Harness;
let api: FakeShopApi;
let connectorId: string;


const reconcile = (body: Record<string, unknown>, id = connectorId) =>
  h.inject({ method: 'POST', url: `/v1/connectors/${id}/reconcile`, headers: bearer(h.adminKey), payload: body });

beforeAll(async () => {
  h = await createHarness({ commerceConnectors: [fakeShopConnector] });
  h.setNow(new Date(NOW));
  api = await startFakeShopApi({ appKey: CREDS.appKey, pageSize: 3 });
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'fakeshop', config: { ...CREDS, apiBase: api.url } } });
  connectorId = r.json<{ id: string }>().id;
});
afterAll(async () => {
  await h?.close();
  await api?.close();
});

describe('POST /v1/connectors/{id}/reconcile', () => {
  it("reports what Datong is missing or has differently, then backfills it forward-only", async () => {
    const t = NOW - DAY;
    const b = (n: number) => ({ buyer_id: `rc-${n}`, mobile: `1350000000${n}` });
    // Datong got R1 (paid) and R2 by push; the platform has R1 shipped since, R2 as pushed, R3 and R4 never pushed.
    const { payload, headers } = signedPush(
      CREDS,
      [
        { msg_id: 'r1', type: 'order', data: fakeOrder('R1', { update_time: t, buyer: b(1) }) },
        { msg_id: 'r2', type: 'order', data: fakeOrder('R2', { update_time: t + 1000, total_fee: '88.00', buyer: b(2) }) },
      ],
      h.now(),
    );
    await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers, payload });
    await h.drain();
    api.put(fakeOrder('R1', { status: 'SHIPPED', update_time: t + 5000, buyer: b(1) }));
    api.put(fakeOrder('R2', { update_time: t + 1000, total_fee: '88.00', buyer: b(2) }));
    api.put(fakeOrder('R3', { update_time: t + 2000, buyer: b(3) }));
    api.put(fakeOrder('R4', { update_time: t + 3000, buyer: b(4) }));
    // Outside the window: not compared.
    api.put(fakeOrder('R0', { update_time: NOW - 5 * DAY, buyer: b(0) }));

    const window = { from: new Date(NOW - 2 * DAY).toISOString(), to: new Date(NOW).toISOString() };
    const report = await reconcile(window);
    expect(report.statusCode).toBe(200);
    expect(report.json()).toEqual({
      ...window,
      platformOrders: 4,
      matched: 1,
      missing: ['R3', 'R4'],
      different: [{ orderId: 'R1', shopId: 'shop-1', field: 'status', platform: 'shipped', datong: 'paid' }],
      backfilled: 0,
      truncated: false,
      missingCount: 2,
      differentCount: 1,
    });

    const fixed = await reconcile({ ...window, backfill: true });
    expect(fixed.json()).toMatchObject({ backfilled: 3 });
    await h.drain();
    const after = await reconcile(window);
    expect(after.json()).toMatchObject({ platformOrders: 4, matched: 4, missing: [], different: [] });
    const events = await h.db.query<{ event: string; order_id: string }>(
      `SELECT event, properties->>'order_id' AS order_id FROM events WHERE event LIKE 'Order %' ORDER BY order_id, event`,
    );
    expect(events.rows.map((e) => `${e.order_id} ${e.event}`)).toEqual(['R1 Order Completed', 'R1 Order Shipped', 'R2 Order Completed', 'R3 Order Completed', 'R4 Order Completed']);
    // A second backfill finds nothing to do.
    expect((await reconcile({ ...window, backfill: true })).json()).toMatchObject({ backfilled: 0 });
    const status = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(status.json()).toMatchObject({ commerce: { lastReconcile: { ok: true, scheduled: false, matched: 4 } } });
  });

  it('refuses a window that is empty or longer than 31 days', async () => {
    expectProblem(await reconcile({ from: new Date(NOW).toISOString(), to: new Date(NOW).toISOString() }), 400, 'VALIDATION_FAILED');
    expectProblem(await reconcile({ from: new Date(NOW - 40 * DAY).toISOString(), to: new Date(NOW).toISOString() }), 400, 'VALIDATION_FAILED');
  });

  it('answers the platform error when the platform is down (retry later)', async () => {
    api.down = true;
    expectProblem(await reconcile({ from: new Date(NOW - DAY).toISOString(), to: new Date(NOW).toISOString() }), 502, 'PLATFORM_UNREACHABLE');
    api.down = false;
  });
});

describe('POST /v1/connectors/{id}/reconcile with Prefer: respond-async', () => {
  const window = { from: new Date(NOW - 2 * DAY).toISOString(), to: new Date(NOW).toISOString() };
  const startAsync = (body: Record<string, unknown>) =>
    h.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/reconcile`, headers: { ...bearer(h.adminKey), prefer: 'respond-async' }, payload: body });
  const get = (url: string) => h.inject({ method: 'GET', url, headers: bearer(h.adminKey) });

  it('answers 202 with a Location at once, runs in the background, and reports what the synchronous call reports', async () => {
    const sync = await reconcile(window);
    expect(sync.statusCode).toBe(200);
    const r = await startAsync(window);
    expect(r.statusCode).toBe(202);
    expect(r.headers['preference-applied']).toBe('respond-async');
    const job = r.json<{ id: string }>();
    expect(job).toMatchObject({ connectorId, status: 'pending', ...window, backfill: false, attempts: 0, report: null, error: null, startedAt: null });
    const location = String(r.headers['location']);
    expect(location).toBe(`/v1/connectors/${connectorId}/reconciliations/${job.id}`);
    expect((await get(location)).json()).toMatchObject({ status: 'pending' });
    await h.drain();
    const done = await get(location);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ id: job.id, status: 'done', attempts: 1, error: null, report: sync.json() });
    expect(done.json<{ finishedAt: string | null }>().finishedAt).not.toBeNull();
  });

  it('retries a platform that is down with backoff, and fails with its error after 5 runs', async () => {
    api.down = true;
    try {
      const r = await startAsync(window);
      const location = String(r.headers['location']);
      await h.drain();
      expect((await get(location)).json()).toMatchObject({ status: 'pending', attempts: 1, error: { code: 'PLATFORM_UNREACHABLE' } });
      // Not due again before its backoff (30 s after the first run).
      await h.drain();
      expect((await get(location)).json()).toMatchObject({ attempts: 1 });
      for (let i = 1; i <= 4; i++) {
        h.setNow(new Date(NOW + i * 3_600_000));
        await h.drain();
      }
      const failed = await get(location);
      expect(failed.json()).toMatchObject({ status: 'failed', attempts: 5, report: null, error: { code: 'PLATFORM_UNREACHABLE' } });
    } finally {
      api.down = false;
      h.setNow(new Date(NOW));
    }
  });

  it('refuses a bad window at once, and answers 404 for an unknown reconciliation or one of another tenant', async () => {
    expectProblem(await startAsync({ from: new Date(NOW - 40 * DAY).toISOString(), to: new Date(NOW).toISOString() }), 400, 'VALIDATION_FAILED');
    expectProblem(await get(`/v1/connectors/${connectorId}/reconciliations/rec_nope`), 404, 'RECONCILIATION_NOT_FOUND');
    const mine = String((await startAsync(window)).headers['location']);
    const other = await h.newTenant();
    const r = await h.inject({ method: 'GET', url: mine, headers: bearer(other.adminKey) });
    expectProblem(r, 404, 'CONNECTOR_NOT_FOUND');
    await h.drain();
  });

  it('is not offered for a connector that is not an e-commerce one', async () => {
    const mp = await h.inject({
      method: 'POST',
      url: '/v1/connectors',
      headers: bearer(h.adminKey),
      payload: { platform: 'wechat_miniprogram', config: { appId: 'wx00000000000000aa', appSecret: 'mp-secret' } },
    });
    expectProblem(await reconcile({ from: new Date(NOW - DAY).toISOString(), to: new Date(NOW).toISOString() }, mp.json<{ id: string }>().id), 400, 'CONNECTOR_OPERATION_UNSUPPORTED');
    expectProblem(await reconcile({ from: new Date(NOW - DAY).toISOString(), to: new Date(NOW).toISOString() }, 'con_missing'), 404, 'CONNECTOR_NOT_FOUND');
  });
});

describe('PUT /v1/connectors/{id}/settings', () => {
  it('replaces the settings and shows the effective ones', async () => {
    const r = await h.inject({
      method: 'PUT',
      url: `/v1/connectors/${connectorId}/settings`,
      headers: bearer(h.adminKey),
      payload: { reconcileDaily: '03:00', fallbackAfterMs: 120_000, rateLimit: { perSecond: 2, burst: 4 } },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ fallbackAfterMs: 120_000, pollIntervalMs: 60_000, reconcileDaily: '03:00', timezone: 'Asia/Shanghai', rateLimit: { perSecond: 2, burst: 4 }, apiBaseUrl: null });
    const c = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(c.json()).toMatchObject({ commerce: { settings: { reconcileDaily: '03:00', fallbackAfterMs: 120_000 } } });
  });

  it('refuses an unknown time zone and a time that is not HH:MM', async () => {
    const put = (payload: Record<string, unknown>) => h.inject({ method: 'PUT', url: `/v1/connectors/${connectorId}/settings`, headers: bearer(h.adminKey), payload });
    const tz = await put({ timezone: 'Mars/Olympus' });
    expectProblem(tz, 400, 'CONNECTOR_SETTINGS_INVALID');
    expect(tz.json<{ errors: { pointer: string }[] }>().errors).toEqual([{ pointer: '/settings/timezone', message: 'must be an IANA time zone such as Asia/Shanghai' }]);
    expectProblem(await put({ reconcileDaily: '3am' }), 400, 'VALIDATION_FAILED');
  });
});
