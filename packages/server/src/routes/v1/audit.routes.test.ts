import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { createUser, loginRequest, signIn, type Browser } from '../../test-support/console-users.js';

let h: Harness;
let customerId = '';
let ops: Browser;
let opsId = '';

interface Entry {
  id: string;
  at: string;
  actor: { type: string; id: string | null; label: string | null };
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
}

const log = async (query = '', key = h.adminKey): Promise<{ data: Entry[]; nextCursor: string | null }> => {
  const r = await h.inject({ method: 'GET', url: `/v1/audit-log${query}`, headers: bearer(key) });
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${r.body}`);
  return r.json();
};

beforeAll(async () => {
  h = await createHarness();
  const src = await makeSource(h);
  await send(h, src.writeKey, [{ type: 'identify', messageId: 'au-1', userId: 'audited', traits: { name: '赵六', phone: '13512345678' } }]);
  await h.drain();
  customerId = (await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=phone&value=13512345678', headers: bearer(h.adminKey) })).json().id;
  opsId = (await createUser(h, 'auditor-ops@example.com', 'ops')).id;
  ops = await signIn(h, 'auditor-ops@example.com');
});
afterAll(async () => {
  await h.close();
});

describe('GET /v1/audit-log', () => {
  it('records reads of personal data by users and API keys, without the values', async () => {
    await ops.get(`/v1/customers/${customerId}`);
    await ops.get(`/v1/customers/${customerId}/timeline`);
    await ops.get('/v1/customers?q=13512345678');
    await ops.get(`/v1/customers/export?format=csv&q=${encodeURIComponent('赵')}`);
    const mine = await log(`?actorId=${opsId}`);
    const actions = mine.data.map((e) => e.action);
    expect(actions.slice(0, 4)).toEqual(['customer.export', 'customer.search', 'customer.timeline', 'customer.read']);
    expect(mine.data[0]).toMatchObject({ actor: { type: 'user', id: opsId, label: 'auditor-ops@example.com' }, resourceType: 'customer', details: { format: 'csv', query: 'text' }, ip: '127.0.0.1' });
    expect(mine.data[1]).toMatchObject({ details: { results: [customerId], query: 'phone' } });
    expect(mine.data[3]).toMatchObject({ resourceId: customerId });
    // The lookup by the API key (in beforeAll) is there too.
    const byKey = await log('?action=customer.lookup&actorType=apiKey');
    expect(byKey.data[0]).toMatchObject({ actor: { type: 'apiKey', label: 'Bootstrap admin (DATONG_ADMIN_KEY)' }, resourceId: customerId, details: { type: 'phone' } });
    const all = JSON.stringify(await log('?limit=200'));
    expect(all).not.toContain('13512345678');
    expect(all).not.toContain('赵');
  });

  it('records every change with the route, the resource and the names of the fields, never their values', async () => {
    const r = await ops.inject({ method: 'POST', url: `/v1/customers/${customerId}/tags`, payload: { tags: ['回访'] } });
    expect(r.statusCode).toBe(200);
    await h.inject({ method: 'PATCH', url: `/v1/customers/${customerId}`, headers: bearer(h.adminKey), payload: { traits: { secretNote: 'owes us 100' } } });
    await h.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(h.adminKey), payload: { name: 'ci', scopes: ['read'] } });
    const tag = (await log(`?resourceType=customer&resourceId=${customerId}&action=${encodeURIComponent('POST /v1/customers/:id/tags')}`)).data;
    expect(tag).toEqual([
      { id: expect.any(String), at: expect.any(String), actor: { type: 'user', id: opsId, label: 'auditor-ops@example.com' }, action: 'POST /v1/customers/:id/tags', resourceType: 'customer', resourceId: customerId, details: { status: 200, fields: ['tags'] }, ip: '127.0.0.1' },
    ]);
    const upd = (await log('?action=customer.update')).data[0];
    expect(upd).toMatchObject({ resourceId: customerId, details: { fields: ['traits'] } });
    expect(JSON.stringify(upd)).not.toContain('owes us');
    // A created resource is named by the id in the answer.
    const key = (await log('?resourceType=api_key')).data[0];
    expect(key).toMatchObject({ action: 'POST /v1/api-keys', resourceId: expect.stringMatching(/^key_/), details: { status: 201, fields: ['name', 'scopes'] } });
    // Failed changes and ingestion are not recorded.
    await ops.inject({ method: 'POST', url: '/v1/customers/cus_missing/tags', payload: { tags: ['x'] } });
    expect((await log('?resourceId=cus_missing')).data).toEqual([]);
    expect((await log('?resourceType=batch')).data).toEqual([]);
  });

  it('records sign-ins and failed sign-ins, without the email tried', async () => {
    await loginRequest(h, 'auditor-ops@example.com', 'wrong password');
    await loginRequest(h, 'no-such-person@example.com', 'whatever');
    const failed = (await log('?action=auth.login_failed')).data;
    expect(failed.map((e) => e.details['reason'])).toEqual(['unknown_email', 'wrong_password']);
    expect(failed[1]).toMatchObject({ actor: { type: 'user', id: opsId }, resourceId: opsId });
    expect(failed[0]).toMatchObject({ actor: { type: 'system', id: null }, resourceId: null });
    expect(JSON.stringify(failed)).not.toContain('no-such-person');
    expect((await log(`?action=auth.login&actorId=${opsId}`)).data.length).toBeGreaterThan(0);
  });

  it('filters by time and pages newest first without gaps or repeats', async () => {
    const t0 = new Date('2032-01-01T00:00:00Z');
    h.setNow(t0);
    const later = await signIn(h, 'auditor-ops@example.com');
    for (let i = 0; i < 7; i++) {
      h.setNow(new Date(t0.getTime() + i * 60_000));
      expect((await later.get(`/v1/customers/${customerId}`)).statusCode).toBe(200);
    }
    h.setNow(new Date());
    const window = `&from=${encodeURIComponent(new Date(t0.getTime() + 60_000).toISOString())}&to=${encodeURIComponent(new Date(t0.getTime() + 6 * 60_000).toISOString())}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await log(`?action=customer.read&limit=2${window}${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((e) => e.at));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1].map((m) => new Date(t0.getTime() + m * 60_000).toISOString()));
    expect((await h.inject({ method: 'GET', url: '/v1/audit-log?from=yesterday', headers: bearer(h.adminKey) })).statusCode).toBe(400);
  });

  it('is readable with audit.read only, and per tenant', async () => {
    // A fresh session: the test above moved the clock years ahead, and sign-ins prune sessions that ended long ago.
    const opsNow = await signIn(h, 'auditor-ops@example.com');
    expect((await opsNow.get('/v1/audit-log')).json().code).toBe('AUTH_PERMISSION_MISSING');
    await createUser(h, 'auditor@example.com', (await h.inject({ method: 'POST', url: '/v1/roles', headers: bearer(h.adminKey), payload: { name: 'auditor', permissions: ['audit.read'], dataScope: 'own', maskPii: true } })).json().id);
    const auditor = await signIn(h, 'auditor@example.com');
    expect((await auditor.get('/v1/audit-log?limit=1')).statusCode).toBe(200);
    const other = await h.newTenant();
    expect((await log('', other.adminKey)).data).toEqual([]);
  });
});
