import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { createUser, signIn, type Browser, type TestUser } from '../../test-support/console-users.js';

// Issue 3 (C13): data scopes and masking are enforced by the API, not only by the console.
let h: Harness;
let sales1: TestUser;
let sales2: TestUser;
let lead: TestUser;
let asSales1: Browser;
let asOps: Browser;
let asLead: Browser;
const ids: Record<'zhang' | 'li' | 'nobody' | 'formula', string> = { zhang: '', li: '', nobody: '', formula: '' };

const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  h.inject({ method, url, headers: bearer(h.adminKey), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

beforeAll(async () => {
  h = await createHarness();
  const src = await makeSource(h);
  await send(h, src.writeKey, [
    { type: 'identify', messageId: 'ac-1', userId: 'zhang', traits: { name: '张三', phone: '138 1234 5678', email: 'zhangsan@example.com' } },
    { type: 'track', messageId: 'ac-2', userId: 'zhang', event: 'Order Completed', properties: { order_id: 'o-1', total: '99.00', phone: '13812345678' } },
    { type: 'identify', messageId: 'ac-3', userId: 'li', traits: { name: '李四', phone: '13900002222' } },
    { type: 'identify', messageId: 'ac-4', userId: 'nobody', traits: { name: '王五', phone: '13700003333' } },
    { type: 'identify', messageId: 'ac-5', userId: 'formula', traits: { name: '=HYPERLINK("http://evil.example","点我")', phone: '13600004444' } },
  ]);
  await h.drain();
  for (const k of Object.keys(ids) as (keyof typeof ids)[]) {
    ids[k] = (await admin('GET', `/v1/customers/lookup?type=user_id&value=${k}`)).json().id;
  }
  const team = (await admin('POST', '/v1/teams', { name: '华东销售' })).json();
  sales1 = await createUser(h, 'sales1@example.com', 'sales', { teamId: team.id, name: '销售一' });
  sales2 = await createUser(h, 'sales2@example.com', 'sales', { name: '销售二' });
  const leadRole = (await admin('POST', '/v1/roles', { name: '销售主管', permissions: ['customers.read', 'customers.write'], dataScope: 'team', maskPii: false })).json();
  lead = await createUser(h, 'lead@example.com', leadRole.id, { teamId: team.id });
  await createUser(h, 'ops@example.com', 'ops');
  await admin('PATCH', `/v1/customers/${ids.zhang}`, { ownerId: sales1.id });
  await admin('PATCH', `/v1/customers/${ids.li}`, { ownerId: sales2.id });
  asSales1 = await signIn(h, 'sales1@example.com');
  asOps = await signIn(h, 'ops@example.com');
  asLead = await signIn(h, 'lead@example.com');
});
afterAll(async () => {
  await h.close();
});

const csvOf = (body: string) => body.replace(/^\uFEFF/, '').trim().split('\r\n');

describe('data scope "own" (sales)', () => {
  it("reads the customer they own, whole, and not another owner's (404 in get, lookup, timeline, tags, unmerge)", async () => {
    const mine = await asSales1.get(`/v1/customers/${ids.zhang}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ owner: { id: sales1.id, name: '销售一' }, traits: { name: '张三' } });
    expect(mine.json().identities.find((i: { type: string }) => i.type === 'phone').value).toBe('+8613812345678');
    expect(mine.json().masked).toBeUndefined();

    const notFound = await asSales1.get(`/v1/customers/${ids.li}`);
    expect([notFound.statusCode, notFound.json().code]).toEqual([404, 'CUSTOMER_NOT_FOUND']);
    // Exactly the answer for a customer that does not exist.
    expect((await asSales1.get('/v1/customers/cus_missing')).json().code).toBe('CUSTOMER_NOT_FOUND');
    expect((await asSales1.get(`/v1/customers/${ids.nobody}`)).statusCode).toBe(404);
    expect((await asSales1.get(`/v1/customers/${ids.li}/timeline`)).statusCode).toBe(404);
    const lookup = await asSales1.get('/v1/customers/lookup?type=phone&value=13900002222');
    expect([lookup.statusCode, lookup.json().code]).toEqual([404, 'IDENTITY_NOT_FOUND']);
    expect((await asSales1.get('/v1/customers/lookup?type=phone&value=13812345678')).json().id).toBe(ids.zhang);
    expect((await asSales1.inject({ method: 'POST', url: `/v1/customers/${ids.li}/tags`, payload: { tags: ['poach'] } })).statusCode).toBe(404);
    expect((await asSales1.inject({ method: 'DELETE', url: `/v1/customers/${ids.li}/tags/x` })).statusCode).toBe(404);
    expect((await asSales1.inject({ method: 'POST', url: `/v1/customers/${ids.li}/unmerge`, payload: {} })).statusCode).toBe(404);
    expect((await asSales1.inject({ method: 'PATCH', url: `/v1/customers/${ids.li}`, payload: { name: 'x' } })).statusCode).toBe(404);
    expect((await admin('GET', `/v1/customers/${ids.li}`)).json().tags).toEqual([]);
  });

  it('finds only their customers in search, by any term, with full pages (the scope is a SQL condition)', async () => {
    const all = (await asSales1.get('/v1/customers')).json();
    expect(all.data.map((c: { id: string }) => c.id)).toEqual([ids.zhang]);
    expect((await asSales1.get('/v1/customers?q=13900002222')).json().data).toEqual([]);
    expect((await asSales1.get(`/v1/customers?q=${encodeURIComponent('李')}`)).json().data).toEqual([]);
    expect((await asSales1.get(`/v1/customers?q=${ids.li}`)).json().data).toEqual([]);
    // limit=1 still fills the page with an in-scope customer.
    expect((await asSales1.get('/v1/customers?limit=1')).json().data.map((c: { id: string }) => c.id)).toEqual([ids.zhang]);
  });

  it('exports only their customers', async () => {
    await createUser(h, 'sales-exporter@example.com', (await admin('POST', '/v1/roles', { name: 'sales+export', permissions: ['customers.read', 'customers.export'], dataScope: 'own', maskPii: false })).json().id);
    const u = (await admin('GET', '/v1/users')).json().data.find((x: { email: string }) => x.email === 'sales-exporter@example.com');
    await admin('PATCH', `/v1/customers/${ids.li}`, { ownerId: u.id });
    const b = await signIn(h, 'sales-exporter@example.com');
    const r = await b.get('/v1/customers/export?format=csv');
    expect(r.statusCode).toBe(200);
    const lines = csvOf(r.body);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(ids.li);
    await admin('PATCH', `/v1/customers/${ids.li}`, { ownerId: sales2.id });
  });

  it('sees their team\'s customers with the "team" scope', async () => {
    expect((await asLead.get(`/v1/customers/${ids.zhang}`)).statusCode).toBe(200);
    expect((await asLead.get(`/v1/customers/${ids.li}`)).statusCode).toBe(404);
    expect((await asLead.get('/v1/customers')).json().data.map((c: { id: string }) => c.id)).toEqual([ids.zhang]);
    expect(lead.id).not.toBe(sales1.id);
  });
});

describe('masking (ops)', () => {
  it('masks phone, email and name in get, identities included, and says so', async () => {
    const r = await asOps.get(`/v1/customers/${ids.zhang}`);
    expect(r.statusCode).toBe(200);
    const c = r.json();
    expect(c.masked).toBe(true);
    expect(c.traits).toMatchObject({ name: '张*' });
    const value = (type: string) => c.identities.find((i: { type: string }) => i.type === type).value;
    expect(value('phone')).toBe('138****5678');
    expect(value('email')).toBe('z***@example.com');
    expect(c.identities.find((i: { type: string }) => i.type === 'user_id').value).toBe('zhang');
    expect(r.body).not.toContain('12345678');
    expect(r.body).not.toContain('zhangsan@');
  });

  it('masks search results and the timeline', async () => {
    const s = (await asOps.get('/v1/customers?q=13812345678')).json();
    expect(s.data).toHaveLength(1);
    expect(s.data[0]).toMatchObject({ masked: true, phone: '138****5678', email: 'z***@example.com', traits: { name: '张*' } });
    expect((await asSales1.get('/v1/customers')).json().data[0]).toMatchObject({ phone: '+8613812345678', email: 'zhangsan@example.com' });
    const tl = await asOps.get(`/v1/customers/${ids.zhang}/timeline`);
    expect(tl.body).not.toContain('12345678');
    expect(tl.json().data.every((e: { masked?: boolean }) => e.masked === true)).toBe(true);
  });

  it('masks exports, CSV and XLSX, and defuses formulas', async () => {
    const csv = await asOps.get('/v1/customers/export?format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="customers-\d{8}\.csv"$/);
    const lines = csvOf(csv.body);
    expect(lines[0]).toBe('id,name,phone,email,tags,owner,firstSeenAt,lastSeenAt,createdAt');
    const zhang = lines.find((l) => l.startsWith(ids.zhang));
    expect(zhang).toContain(',张*,138****5678,z***@example.com,');
    expect(csv.body).not.toContain('12345678');

    // A name that a spreadsheet would run as a formula, exported whole by an admin.
    const full = csvOf((await admin('GET', '/v1/customers/export?format=csv')).body);
    const formula = full.find((l) => l.startsWith(ids.formula));
    // So is a phone in E.164 (+86…): Excel would read it as a formula too.
    expect(formula).toContain(`,"'=HYPERLINK(""http://evil.example"",""点我"")",'+8613600004444,`);

    const xlsx = await admin('GET', `/v1/customers/export?format=xlsx&q=${encodeURIComponent('=HYP')}`);
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const rows = wb.worksheets[0]?.getSheetValues().filter(Boolean) as unknown[][];
    expect(rows[0]?.slice(1)).toEqual(['id', 'name', 'phone', 'email', 'tags', 'owner', 'firstSeenAt', 'lastSeenAt', 'createdAt']);
    expect(rows[1]?.slice(1, 4)).toEqual([ids.formula, `'=HYPERLINK("http://evil.example","点我")`, "'+8613600004444"]);

    const opsXlsx = await asOps.get('/v1/customers/export?format=xlsx');
    const wb2 = new ExcelJS.Workbook();
    await wb2.xlsx.load(opsXlsx.rawPayload as unknown as ArrayBuffer);
    const values = JSON.stringify(wb2.worksheets[0]?.getSheetValues());
    expect(values).toContain('138****5678');
    expect(values).not.toContain('13812345678');
  });

  it('reveals one value on request and records the reveal in the audit log', async () => {
    const r = await asOps.inject({ method: 'POST', url: `/v1/customers/${ids.zhang}/reveal`, payload: { field: 'phone' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ value: '+8613812345678' });
    const c = (await asOps.get(`/v1/customers/${ids.zhang}`)).json();
    const phoneId = c.identities.find((i: { type: string }) => i.type === 'phone').id;
    const id = await asOps.inject({ method: 'POST', url: `/v1/customers/${ids.zhang}/reveal`, payload: { field: 'identity', identityId: phoneId } });
    expect(id.json()).toEqual({ value: '+8613812345678' });
    expect((await asOps.inject({ method: 'POST', url: `/v1/customers/${ids.zhang}/reveal`, payload: { field: 'email' } })).json().value).toBe('zhangsan@example.com');
    const log = (await admin('GET', `/v1/audit-log?action=customer.reveal&resourceId=${ids.zhang}`)).json();
    expect(log.data).toHaveLength(3);
    expect(log.data[2]).toMatchObject({ actor: { type: 'user', label: 'ops@example.com' }, action: 'customer.reveal', resourceType: 'customer', details: { field: 'phone' } });
    expect(JSON.stringify(log)).not.toContain('1234');
    // Sales have no reveal permission (they see their customers whole anyway).
    expect((await asSales1.inject({ method: 'POST', url: `/v1/customers/${ids.zhang}/reveal`, payload: { field: 'phone' } })).statusCode).toBe(403);
  });

  it('masks quarantined payloads too (the sync monitor shows them)', async () => {
    const src = await makeSource(h);
    await send(h, src.writeKey, [{ type: 'identify', messageId: 'q-1', userId: 'q-user', traits: { name: '钱七', phone: '+86 138 1234 567' } }]);
    await h.drain();
    const r = await asOps.get('/v1/quarantine');
    expect(r.statusCode).toBe(200);
    const item = r.json().data.find((x: { messageId: string }) => x.messageId === 'q-1');
    expect(item.field).toBe('traits.phone');
    expect(r.body).not.toContain('1381234567');
    expect(r.body).not.toContain('钱七');
    const raw = (await admin('GET', '/v1/quarantine')).body;
    expect(raw.replace(/\D/g, '')).toContain('861381234567');
  });

  it('shows API keys every value whole, as before', async () => {
    const c = (await admin('GET', `/v1/customers/${ids.zhang}`)).json();
    expect(c.identities.find((i: { type: string }) => i.type === 'phone').value).toBe('+8613812345678');
    expect(c.masked).toBeUndefined();
  });
});

describe('PATCH /v1/customers/{id}', () => {
  it('sets the name, merges traits (null removes one), and sets or clears the owner', async () => {
    const r = await admin('PATCH', `/v1/customers/${ids.nobody}`, { name: ' 王五五 ', traits: { level: 'gold', 会员卡: 'A-1' }, ownerId: sales2.id });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ owner: { id: sales2.id, name: '销售二' }, traits: { name: '王五五', level: 'gold', 会员卡: 'A-1' } });
    const cleared = await admin('PATCH', `/v1/customers/${ids.nobody}`, { traits: { level: null }, ownerId: null });
    expect(cleared.json().owner).toBeNull();
    expect(cleared.json().traits.level).toBeUndefined();
  });

  it('validates the body: unknown owner, empty body, blank name, extra fields', async () => {
    expect((await admin('PATCH', `/v1/customers/${ids.nobody}`, { ownerId: 'usr_nobody' })).json().code).toBe('VALIDATION_FAILED');
    expect((await admin('PATCH', `/v1/customers/${ids.nobody}`, {})).statusCode).toBe(400);
    expect((await admin('PATCH', `/v1/customers/${ids.nobody}`, { name: '   ' })).statusCode).toBe(400);
    expect((await admin('PATCH', `/v1/customers/${ids.nobody}`, { tier: 'x' })).statusCode).toBe(400);
    expect((await admin('PATCH', '/v1/customers/cus_missing', { name: 'x' })).statusCode).toBe(404);
  });

  it('lets an own-scope user edit their customer, masked roles get the answer masked', async () => {
    const r = await asSales1.inject({ method: 'PATCH', url: `/v1/customers/${ids.zhang}`, payload: { traits: { note: '周末回访' } } });
    expect(r.statusCode).toBe(200);
    expect(r.json().traits.note).toBe('周末回访');
    const o = await asOps.inject({ method: 'PATCH', url: `/v1/customers/${ids.zhang}`, payload: { traits: { note: '已回访' } } });
    expect(o.json()).toMatchObject({ masked: true, traits: { name: '张*', note: '已回访' } });
  });
});
