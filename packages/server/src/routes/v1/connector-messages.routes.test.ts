import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signIn, type Browser } from '../../test-support/console-users.js';
import { fakeOrder, fakeShopConnector, signedPush, startFakeShopApi, type FakePushMessage, type FakeShopApi } from '../../test-support/fake-commerce.js';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';
import { createApiKey } from './admin.routes.js';
import { DEFAULT_TENANT_ID } from '../../tenants.js';
import { expectProblem } from '../../test-support/problems.js';

// The message log of an e-commerce connector: listing with filters and keyset pages, one
// message with its payload (masked for roles that mask personal data), replay, retries with
// backoff and quarantine, and who may do what.

const NOW = Date.parse('2026-03-01T09:00:00.000Z');
const CREDS = { appKey: 'log-app', appSecret: 'log-secret-0123456789', shopId: 'shop-1' };

let h: Harness;
let api: FakeShopApi;
let connectorId: string;
let ops: Browser;
let sales: Browser;
let readKey: string;

interface LogEntry {
  id: string;
  messageId: string;
  type: string;
  status: string;
  verification: string;
  attempts: number;
  errorCode: string | null;
  nextAttemptAt: string | null;
  result: Record<string, unknown> | null;
}


async function push(messages: FakePushMessage[]): Promise<void> {
  const { payload, headers } = signedPush(CREDS, messages, h.now());
  const r = await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers, payload });
  expect(r.body).toBe('{"code":0,"msg":"success"}');
}

const list = (query = '', key = h.adminKey) => h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages${query}`, headers: bearer(key) });
const one = (id: string) => h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}/messages/${id}`, headers: bearer(h.adminKey) });
const replay = (id: string) => h.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/messages/${id}/replay`, headers: bearer(h.adminKey) });

beforeAll(async () => {
  h = await createHarness({ commerceConnectors: [fakeShopConnector], env: { DATONG_CONNECTOR_MAX_ATTEMPTS: '2' } });
  h.setNow(new Date(NOW));
  api = await startFakeShopApi({ appKey: CREDS.appKey });
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'fakeshop', config: { ...CREDS, apiBase: api.url } } });
  connectorId = r.json<{ id: string }>().id;
  await createUser(h, 'ops@example.com', 'ops');
  await createUser(h, 'sales@example.com', 'sales');
  ops = await signIn(h, 'ops@example.com');
  sales = await signIn(h, 'sales@example.com');
  readKey = (await createApiKey(h.db, DEFAULT_TENANT_ID, 'reader', ['read'])).key;
  // Ten orders, one second apart, and a ping.
  for (let i = 0; i < 10; i++) {
    h.setNow(new Date(NOW + i * 1000));
    await push([{ msg_id: `o-${i}`, type: 'order', data: fakeOrder(`L${i}`, { update_time: NOW - 60_000 + i, buyer: { buyer_id: `lb-${i}`, mobile: '13912345678', nick: '韩梅梅' } }) }]);
  }
  await push([{ msg_id: 'ping', type: 'ping', test: true, data: {} }]);
  await h.drain();
});
afterAll(async () => {
  await h?.close();
  await api?.close();
});

describe('GET /v1/connectors/{id}/messages', () => {
  it('lists newest first in keyset pages, with the canonical summary', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await list(`?type=order&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.statusCode).toBe(200);
      const page = r.json<{ data: LogEntry[]; nextCursor: string | null }>();
      seen.push(...page.data.map((m) => m.messageId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `o-${9 - i}`));
    const first = (await list('?limit=1&type=order')).json<{ data: LogEntry[] }>().data[0];
    expect(first).toMatchObject({ status: 'processed', verification: 'valid', attempts: 1, result: { records: [{ kind: 'order', orderId: 'L9', applied: true }], inbox: 2 } });
  });

  it('filters by verification and status', async () => {
    const tests = (await list('?verification=test')).json<{ data: LogEntry[] }>().data;
    expect(tests.map((m) => [m.messageId, m.status])).toEqual([['ping', 'ignored']]);
    expect((await list('?status=pending')).json<{ data: LogEntry[] }>().data).toEqual([]);
  });

  it('is readable with a read key and by roles with monitor.read, not by others', async () => {
    expect((await list('', readKey)).statusCode).toBe(200);
    expect((await ops.get(`/v1/connectors/${connectorId}/messages`)).statusCode).toBe(200);
    expectProblem(await sales.get(`/v1/connectors/${connectorId}/messages`), 403, 'AUTH_PERMISSION_MISSING');
  });
});

describe('GET /v1/connectors/{id}/messages/{messageId}', () => {
  it('shows the payload whole to an admin, by the platform message id or the log id', async () => {
    const r = await one('o-3');
    expect(r.statusCode).toBe(200);
    const m = r.json<{ id: string; masked: boolean; payload: { payload: { buyer: { mobile: string; nick: string } } } }>();
    expect(m.masked).toBe(false);
    expect(m.payload.payload.buyer).toMatchObject({ mobile: '13912345678', nick: '韩梅梅' });
    expect((await one(m.id)).json()).toMatchObject({ messageId: 'o-3' });
    expectProblem(await one('no-such-message'), 404, 'CONNECTOR_MESSAGE_NOT_FOUND');
  });

  it('masks personal data for a role that masks it', async () => {
    const r = await ops.get(`/v1/connectors/${connectorId}/messages/o-3`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ masked: true, payload: { payload: { buyer: { mobile: '139****5678', nick: '韩**' } } } });
    expect(r.body).not.toContain('13912345678');
  });
});

describe('POST /v1/connectors/{id}/messages/{messageId}/replay', () => {
  it('reprocesses a message harmlessly: the order does not move and no event is written twice', async () => {
    const r = await replay('o-5');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ messageId: 'o-5', status: 'pending', attempts: 0, result: null });
    await h.drain();
    expect((await one('o-5')).json()).toMatchObject({ status: 'processed', result: { records: [{ applied: false, previousStatus: 'paid' }], inbox: 0 } });
    const n = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE event = 'Order Completed' AND properties->>'order_id' = 'L5'`);
    expect(n.rows[0]?.n).toBe(1);
  });

  it('needs connectors.manage', async () => {
    expectProblem(await ops.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/messages/o-5/replay` }), 403, 'AUTH_PERMISSION_MISSING');
    expectProblem(await h.inject({ method: 'POST', url: `/v1/connectors/${connectorId}/messages/o-5/replay`, headers: bearer(readKey) }), 403, 'AUTH_SCOPE_MISSING');
  });
});

describe('a message that keeps failing', () => {
  it('is retried with backoff, then quarantined (also in the quarantine list), and replay gives it another chance', async () => {
    h.setNow(new Date(NOW + 60_000));
    // An order the fake platform's normalizer cannot read (unknown status).
    await push([{ msg_id: 'poison', type: 'order', data: { ...fakeOrder('LX'), status: 'LOST' } }]);
    await h.drain();
    let m = (await one('poison')).json<LogEntry>();
    expect(m).toMatchObject({ status: 'failed', attempts: 1, errorCode: 'MESSAGE_INVALID', nextAttemptAt: new Date(NOW + 90_000).toISOString() });
    // Not due yet: draining again does not touch it.
    await h.drain();
    expect((await one('poison')).json<LogEntry>().attempts).toBe(1);
    h.setNow(new Date(NOW + 91_000));
    await h.drain();
    m = (await one('poison')).json<LogEntry>();
    expect(m).toMatchObject({ status: 'quarantined', attempts: 2, errorCode: 'MESSAGE_INVALID', nextAttemptAt: null });
    const q = await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) });
    const items = q.json<{ data: { kind: string; messageId: string; reason: string; status: string }[] }>().data.filter((i) => i.messageId === 'poison');
    expect(items).toEqual([expect.objectContaining({ kind: 'message', status: 'open' })]);
    expect(items[0]?.reason).toContain('MESSAGE_INVALID');
    const detail = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(detail.json()).toMatchObject({ commerce: { health: 'failing', messages: { quarantined: 1 } } });

    expect((await replay('poison')).json()).toMatchObject({ status: 'pending' });
    const after = await h.inject({ method: 'GET', url: '/v1/quarantine?status=fixed', headers: bearer(h.adminKey) });
    expect(after.json<{ data: { messageId: string }[] }>().data.map((i) => i.messageId)).toContain('poison');
  });
});
