import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signIn } from '../../test-support/console-users.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { createApiKey } from './admin.routes.js';
import { expectProblem } from '../../test-support/problems.js';

// Webhook receivers bind to 127.0.0.1 with an OS-assigned port.

interface SourcePoint {
  at: string;
  received: number;
  processed: number;
  quarantined: number;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
}
interface WebhookPoint {
  at: string;
  attempts: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
}
interface Overview {
  from: string;
  to: string;
  bucket: string;
  tz: string;
  series: {
    sources: { sourceId: string; name: string; type: string; connectorId: string | null; totals: Omit<SourcePoint, 'at'>; points: SourcePoint[] }[];
    webhooks: {
      subscriptionId: string;
      url: string;
      totals: Omit<WebhookPoint, 'at'> & { deliveries: number; pending: number; dead: number };
      points: WebhookPoint[];
    }[];
  };
  totals: Record<string, number>;
}
interface ErrorItem {
  kind: 'webhook' | 'ingest';
  at: string;
  excerpt: string | null;
  [k: string]: unknown;
}

const servers: Server[] = [];

/** A receiver answering the given statuses in order, then `fallback`. */
async function startReceiver(answers: number[], fallback = 200): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits += 1;
      res.writeHead(answers.shift() ?? fallback).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, hits: () => hits };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});


let h: Harness;
// The server clock follows real time, moved forward by hand so that webhook retries fall due
// (processed_at is the database's clock, so the clock must not run behind it).
let now = Date.now();
const advance = (ms: number): void => {
  now += ms;
  h.setNow(new Date(now));
};

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(now));
});
afterAll(async () => {
  await h.close();
});

async function overview(key: string, query = ''): Promise<Overview> {
  const r = await h.inject({ method: 'GET', url: `/v1/monitor/overview${query}`, headers: bearer(key) });
  expect(r.statusCode, r.body).toBe(200);
  expect(r.headers['content-type']).toContain('application/json');
  return r.json<Overview>();
}

async function monitorErrors(key: string, query = ''): Promise<{ body: string; data: ErrorItem[] }> {
  const r = await h.inject({ method: 'GET', url: `/v1/monitor/errors${query}`, headers: bearer(key) });
  expect(r.statusCode, r.body).toBe(200);
  return { body: r.body, data: r.json<{ data: ErrorItem[] }>().data };
}

describe('GET /v1/monitor/overview with real traffic', () => {
  let tenant: { tenantId: string; adminKey: string };
  let source: { id: string; writeKey: string };

  beforeAll(async () => {
    tenant = await h.newTenant();
    source = await makeSource(h, tenant.adminKey, 'web');
    const batch: Record<string, unknown>[] = [];
    for (let i = 0; i < 27; i++) batch.push({ type: 'track', userId: `u-${i}`, event: '浏览商品', messageId: `m-${i}`, properties: { sku: `sku-${i}` } });
    // Processed, with one value set aside in quarantine (a phone number too short).
    batch.push({ type: 'identify', userId: 'u-27', messageId: 'm-27', traits: { name: '张三', phone: '1381234567', email: 'zhangsan@example.com' } });
    // Two messages no one can process: a track needs an event name.
    batch.push({
      type: 'track',
      userId: 'u-28',
      messageId: 'm-28',
      properties: { phone: '13812345678', contact: 'zhang@example.com', note: '请致电 +86 139 1234 5678', receiver_name: '王小明' },
    });
    batch.push({ type: 'track', userId: 'u-29', messageId: 'm-29', context: { externalIds: [{ id: '+8613700001111', type: 'phone', collection: 'users' }] } });
    const r = await send(h, source.writeKey, batch);
    expect(r.statusCode).toBe(200);
    await h.drain();
    // The window ends before "now" (exclusive): let the frozen clock move past the receipt.
    advance(1000);
  });

  it('counts the messages received, processed and quarantined, per source and in total', async () => {
    const o = await overview(tenant.adminKey);
    expect(o.bucket).toBe('hour');
    expect(o.tz).toBe('UTC');
    expect(o.series.sources).toHaveLength(1);
    const s = o.series.sources[0];
    expect(s).toMatchObject({ sourceId: source.id, type: 'web', connectorId: null });
    expect(s?.totals).toMatchObject({ received: 30, processed: 28, quarantined: 2 });
    expect(s?.totals.lagP50Ms).toEqual(expect.any(Number));
    expect(s?.totals.lagP95Ms).toBeGreaterThanOrEqual(s?.totals.lagP50Ms ?? 0);
    // Every bucket of the window is listed; the messages are all in the last one.
    expect(s?.points.length).toBeGreaterThanOrEqual(24);
    expect(s?.points.reduce((a, p) => a + p.received, 0)).toBe(30);
    expect(s?.points.filter((p) => p.received > 0)).toHaveLength(1);
    expect(s?.points.filter((p) => p.received === 0).every((p) => p.lagP50Ms === null && p.lagP95Ms === null)).toBe(true);
    expect(o.totals).toMatchObject({ received: 30, processed: 28, quarantined: 2, deliveries: 0, attempts: 0, succeeded: 0, failed: 0, dead: 0 });
  });

  it('lists quarantined records newest first without a whole phone number, email or name', async () => {
    const { body, data } = await monitorErrors(tenant.adminKey, '?kind=ingest');
    expect(data).toHaveLength(3);
    expect(data.every((e) => e.kind === 'ingest' && e['sourceId'] === source.id)).toBe(true);
    const byMessage = new Map(data.map((e) => [e['messageId'], e]));
    expect(byMessage.get('m-28')).toMatchObject({ quarantineKind: 'message', reason: 'track needs an event name', status: 'open', field: null });
    expect(byMessage.get('m-27')).toMatchObject({ quarantineKind: 'value', field: 'traits.phone', reason: 'phone is not a valid phone number' });
    // Field names stay; values are masked.
    const m28 = JSON.parse(byMessage.get('m-28')?.excerpt ?? 'null') as { properties: Record<string, string> };
    expect(m28.properties).toEqual({ phone: '138****5678', contact: 'z***@example.com', note: '请致电 139****5678', receiver_name: '王**' });
    const m27 = JSON.parse(byMessage.get('m-27')?.excerpt ?? 'null') as { field: string; value: string; message: { traits: Record<string, string> } };
    expect(m27.field).toBe('traits.phone');
    expect(m27.value).toBe('138****4567');
    expect(m27.message.traits).toEqual({ name: '张*', phone: '138****4567', email: 'z***@example.com' });
    const m29 = JSON.parse(byMessage.get('m-29')?.excerpt ?? 'null') as { context: { externalIds: { id: string }[] } };
    expect(m29.context.externalIds[0]?.id).toBe('137****1111');
    for (const secret of ['13812345678', 'zhang@example.com', 'zhangsan@example.com', '1391234', '1381234567', '13700001111', '张三', '王小明']) {
      expect(body).not.toContain(secret);
    }
  });

  it('answers the same for a read-scope API key and a console user whose role grants monitor.read, 403 for one whose role does not', async () => {
    const { key } = await createApiKey(h.db, tenant.tenantId, 'dashboard', ['read']);
    expect((await overview(key)).totals['received']).toBe(30);
    await createUser(h, 'ops-monitor@example.com', 'ops', { adminKey: tenant.adminKey });
    const ops = await signIn(h, 'ops-monitor@example.com');
    const r = await ops.get('/v1/monitor/overview');
    expect(r.statusCode).toBe(200);
    expect(r.json<Overview>().totals['received']).toBe(30);
    await createUser(h, 'sales-monitor@example.com', 'sales', { adminKey: tenant.adminKey });
    const sales = await signIn(h, 'sales-monitor@example.com');
    expectProblem(await sales.get('/v1/monitor/overview'), 403, 'AUTH_PERMISSION_MISSING');
    expectProblem(await sales.get('/v1/monitor/errors'), 403, 'AUTH_PERMISSION_MISSING');
  });

  it('shows another tenant nothing of this one', async () => {
    const other = await h.newTenant();
    const o = await overview(other.adminKey);
    expect(o.series).toEqual({ sources: [], webhooks: [] });
    expect(Object.values(o.totals).every((v) => v === 0)).toBe(true);
    expect((await monitorErrors(other.adminKey)).data).toEqual([]);
    // Asking for the other tenant's source by id does not reach it either.
    expect((await monitorErrors(other.adminKey, `?sourceId=${source.id}`)).data).toEqual([]);
  });

  it('refuses the request without an API key', async () => {
    expectProblem(await h.inject({ method: 'GET', url: '/v1/monitor/overview' }), 401, 'AUTH_REQUIRED');
  });
});

describe('GET /v1/monitor/overview with webhook deliveries', () => {
  it('counts a delivery that failed once and then succeeded, and one dead-lettered, with masked failures', async () => {
    const t = await h.newTenant();
    const source = await makeSource(h, t.adminKey);
    const flaky = await startReceiver([500]);
    const down = await startReceiver([], 503);
    const sub = async (url: string, eventTypes: string[]): Promise<string> => {
      const r = await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(t.adminKey), payload: { url, eventTypes } });
      expect(r.statusCode).toBe(201);
      return r.json<{ id: string }>().id;
    };
    const flakyId = await sub(flaky.url, ['customer.created']);
    const downId = await sub(down.url, ['event.received']);
    expect((await send(h, source.writeKey, [{ type: 'track', userId: 'buyer-1', event: 'Order Completed', properties: { phone: '13812345678', email: 'li@example.com' } }])).statusCode).toBe(200);
    await h.drain();
    // The retry schedule of the harness is 1s, 2s, 3s: four attempts, then dead.
    for (let i = 0; i < 4; i++) {
      advance(4000);
      await h.drain();
    }
    expect(flaky.hits()).toBe(2);
    expect(down.hits()).toBe(4);

    const o = await overview(t.adminKey);
    const byId = new Map(o.series.webhooks.map((w) => [w.subscriptionId, w]));
    expect(byId.get(flakyId)?.totals).toMatchObject({ attempts: 2, succeeded: 1, failed: 1, deliveries: 1, pending: 0, dead: 0 });
    expect(byId.get(downId)?.totals).toMatchObject({ attempts: 4, succeeded: 0, failed: 4, deliveries: 1, pending: 0, dead: 1 });
    expect(byId.get(flakyId)?.totals.p50Ms).toEqual(expect.any(Number));
    expect(byId.get(flakyId)?.points.reduce((a, p) => a + p.attempts, 0)).toBe(2);
    expect(o.totals).toMatchObject({ received: 1, processed: 1, deliveries: 2, attempts: 6, succeeded: 1, failed: 5, dead: 1, pending: 0 });

    const { body, data } = await monitorErrors(t.adminKey, '?kind=webhook');
    expect(data).toHaveLength(5);
    expect(data.map((e) => e['attempt'])).toEqual([4, 3, 2, 1, 1]);
    expect(data[0]).toMatchObject({ kind: 'webhook', subscriptionId: downId, url: down.url, eventType: 'event.received', statusCode: 503, error: 'HTTP 503', deliveryStatus: 'dead' });
    expect(data.find((e) => e['subscriptionId'] === flakyId)).toMatchObject({ statusCode: 500, deliveryStatus: 'succeeded', attempt: 1 });
    const excerpt = JSON.parse(data[0]?.excerpt ?? 'null') as { data: { event: { properties: Record<string, string> } } };
    expect(excerpt.data.event.properties).toEqual({ phone: '138****5678', email: 'l***@example.com' });
    expect(body).not.toContain('13812345678');
    expect(body).not.toContain('li@example.com');
    // Filtered to one subscription; and both kinds merged, newest first, when no kind is given.
    expect((await monitorErrors(t.adminKey, `?subscriptionId=${flakyId}`)).data).toHaveLength(1);
    const all = (await monitorErrors(t.adminKey, '?limit=3')).data;
    expect(all).toHaveLength(3);
    expect([...all].sort((a, b) => b.at.localeCompare(a.at))).toEqual(all);
  });
});

describe('GET /v1/monitor/overview percentiles and buckets', () => {
  // Rows written directly, with known times, in a window far from now.
  const BASE = Date.parse('2024-05-01T00:00:00.000Z');
  let t: { tenantId: string; adminKey: string };
  let sourceId: string;

  beforeAll(async () => {
    t = await h.newTenant();
    sourceId = (await makeSource(h, t.adminKey)).id;
    // Hour 0: lags 1, 2, 3, 4 s. Hour 1: lags 10 … 100 s (ten messages). Hour 2: one pending,
    // one quarantined. One message before the window and one at its end (excluded).
    const rows: [number, number | null, number][] = [];
    [1, 2, 3, 4].forEach((lag, i) => rows.push([BASE + i * 60_000, lag * 1000, 1]));
    for (let i = 1; i <= 10; i++) rows.push([BASE + 3_600_000 + i * 60_000, i * 10_000, 1]);
    rows.push([BASE + 2 * 3_600_000 + 5_000, null, 0], [BASE + 2 * 3_600_000 + 6_000, 500, 2]);
    rows.push([BASE - 1, 1000, 1], [BASE + 3 * 3_600_000, 1000, 1]);
    let n = 0;
    for (const [received, lag, status] of rows) {
      await h.db.query(
        `INSERT INTO inbox (tenant_id, source_id, message_id, received_at, payload_enc, status, processed_at) VALUES ($1, $2, $3, $4, 'x', $5, $6)`,
        [t.tenantId, sourceId, `k-${n++}`, new Date(received).toISOString(), status, lag === null ? null : new Date(received + lag).toISOString()],
      );
    }
    // A subscription with five attempts in hour 0: 10 … 50 ms, two of them failed.
    await h.db.query(
      `INSERT INTO webhook_subscriptions (tenant_id, id, url, event_types, secret_enc, created_at, updated_at) VALUES ($1, 'sub_known', 'https://example.com/h', '{customer.created}', 'x', $2, $2)`,
      [t.tenantId, new Date(BASE).toISOString()],
    );
    await h.db.query(
      `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_type, body, status, attempts, created_at, updated_at)
       VALUES ($1, 'msg_known', 'sub_known', 'customer.created', '{}', 'succeeded', 5, $2, $2)`,
      [t.tenantId, new Date(BASE).toISOString()],
    );
    for (let i = 1; i <= 5; i++) {
      await h.db.query(`INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, at, status_code, latency_ms, error) VALUES ($1, 'msg_known', $2, $3, $4, $5, $6)`, [
        t.tenantId,
        i,
        new Date(BASE + i * 1000).toISOString(),
        i <= 2 ? 502 : 200,
        i * 10,
        i <= 2 ? 'HTTP 502' : null,
      ]);
    }
  });

  const window = '?from=2024-05-01T00:00:00Z&to=2024-05-01T03:00:00Z';

  it('computes p50 and p95 per bucket and over the window with percentile_cont', async () => {
    const o = await overview(t.adminKey, `${window}&bucket=hour`);
    const s = o.series.sources.find((x) => x.sourceId === sourceId);
    expect(s?.points).toEqual([
      // percentile_cont interpolates: p95 of 1,2,3,4 s is 3 + 0.85 s.
      { at: '2024-05-01T00:00:00.000Z', received: 4, processed: 4, quarantined: 0, lagP50Ms: 2500, lagP95Ms: 3850 },
      { at: '2024-05-01T01:00:00.000Z', received: 10, processed: 10, quarantined: 0, lagP50Ms: 55000, lagP95Ms: 95500 },
      // Pending and quarantined messages count as received; only processed ones have a lag.
      { at: '2024-05-01T02:00:00.000Z', received: 2, processed: 0, quarantined: 1, lagP50Ms: null, lagP95Ms: null },
    ]);
    // Over the 14 processed messages (1, 2, 3, 4, 10 … 100 s): p50 between the 7th and 8th.
    expect(s?.totals).toEqual({ received: 16, processed: 14, quarantined: 1, lagP50Ms: 35000, lagP95Ms: 93500 });
    const w = o.series.webhooks.find((x) => x.subscriptionId === 'sub_known');
    expect(w?.points[0]).toEqual({ at: '2024-05-01T00:00:00.000Z', attempts: 5, succeeded: 3, failed: 2, p50Ms: 30, p95Ms: 48 });
    expect(w?.points.slice(1)).toEqual([
      { at: '2024-05-01T01:00:00.000Z', attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p95Ms: null },
      { at: '2024-05-01T02:00:00.000Z', attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p95Ms: null },
    ]);
    expect(w?.totals).toEqual({ attempts: 5, succeeded: 3, failed: 2, p50Ms: 30, p95Ms: 48, deliveries: 1, pending: 0, dead: 0 });
  });

  it('buckets by minute, and by day where the day starts in the given time zone', async () => {
    const minutes = await overview(t.adminKey, '?from=2024-05-01T00:00:00Z&to=2024-05-01T00:05:00Z');
    expect(minutes.bucket).toBe('minute');
    expect(minutes.series.sources[0]?.points.map((p) => p.received)).toEqual([1, 1, 1, 1, 0]);
    // Midnight UTC is 08:00 in Shanghai: all 18 messages (the one received a millisecond before
    // 1 May UTC and the one at 03:00 included) fall on 1 May there; in UTC one is on 30 April.
    const days = await overview(t.adminKey, '?from=2024-04-30T16:00:00Z&to=2024-05-02T16:00:00Z&bucket=day&tz=Asia/Shanghai');
    expect(days.series.sources[0]?.points.map((p) => [p.at, p.received])).toEqual([
      ['2024-04-30T16:00:00.000Z', 18],
      ['2024-05-01T16:00:00.000Z', 0],
    ]);
    const utcDays = await overview(t.adminKey, '?from=2024-04-30T16:00:00Z&to=2024-05-02T16:00:00Z&bucket=day');
    expect(utcDays.series.sources[0]?.points.map((p) => [p.at, p.received])).toEqual([
      ['2024-04-30T00:00:00.000Z', 1],
      ['2024-05-01T00:00:00.000Z', 17],
      ['2024-05-02T00:00:00.000Z', 0],
    ]);
  });

  it('lists a partial last bucket and a bucket started before the window', async () => {
    const o = await overview(t.adminKey, '?from=2024-05-01T00:30:00Z&to=2024-05-01T02:00:00.001Z&bucket=hour');
    expect(o.series.sources[0]?.points.map((p) => [p.at, p.received])).toEqual([
      ['2024-05-01T00:00:00.000Z', 0],
      ['2024-05-01T01:00:00.000Z', 10],
      ['2024-05-01T02:00:00.000Z', 0],
    ]);
  });

  it('defaults to the last 24 hours in hour buckets', async () => {
    h.setNow(new Date('2024-05-02T00:00:00Z'));
    try {
      const o = await overview(t.adminKey);
      expect(o).toMatchObject({ from: '2024-05-01T00:00:00.000Z', to: '2024-05-02T00:00:00.000Z', bucket: 'hour' });
      expect(o.series.sources[0]?.points).toHaveLength(24);
      expect(o.series.sources[0]?.totals.received).toBe(17);
    } finally {
      h.setNow(new Date(now));
    }
  });

  it('refuses windows that are reversed, longer than 31 days or too fine, and unknown time zones', async () => {
    const bad = async (query: string, detail: RegExp) => {
      const r = await h.inject({ method: 'GET', url: `/v1/monitor/overview${query}`, headers: bearer(t.adminKey) });
      expectProblem(r, 400, 'MONITOR_WINDOW_INVALID');
      expect(r.json<{ detail: string }>().detail).toMatch(detail);
    };
    await bad('?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', /before/);
    await bad('?from=2024-04-01T00:00:00Z&to=2024-05-02T00:00:01Z', /31 days/);
    await bad('?from=2024-05-01T00:00:00Z&to=2024-05-03T00:00:00Z&bucket=minute', /24 hours/);
    await bad('?from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00Z&tz=Mars%2FOlympus', /time zone/);
    const r = await h.inject({ method: 'GET', url: '/v1/monitor/overview?from=yesterday', headers: bearer(t.adminKey) });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    // Exactly 31 days is allowed.
    expect((await overview(t.adminKey, '?from=2024-04-01T00:00:00Z&to=2024-05-02T00:00:00Z')).bucket).toBe('day');
  });
});
