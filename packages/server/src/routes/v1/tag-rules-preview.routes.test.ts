import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { createUser, signIn, type Browser } from '../../test-support/console-users.js';

// POST /v1/tag-rules/preview: how many customers a rule condition matches now, before saving it.
let h: Harness;
let asOps: Browser;
let asOwnScope: Browser;
let asSales: Browser;
let ownerId = '';
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-10T00:00:00Z');
const ids: Record<'a' | 'b' | 'c' | 'd' | 'e', string> = { a: '', b: '', c: '', d: '', e: '' };

const admin = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
  h.inject({ method, url, headers: bearer(h.adminKey), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
const preview = (condition: unknown) => admin('POST', '/v1/tag-rules/preview', { condition });
const order = (id: string, who: { userId?: string; anonymousId?: string }, total: string, daysAgo: number) => ({
  type: 'track',
  messageId: `order-${id}`,
  ...who,
  event: 'Order Completed',
  properties: { order_id: id, total, currency: 'CNY' },
  timestamp: new Date(T0 - daysAgo * DAY).toISOString(),
});

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(T0));
  const web = await makeSource(h, h.adminKey, 'web');
  const douyin = await makeSource(h, h.adminKey, 'douyin');
  const at = (daysAgo: number) => new Date(T0 - daysAgo * DAY).toISOString();
  await send(h, web.writeKey, [
    // a: two orders; b: one order.
    { type: 'identify', messageId: 'a-1', userId: 'a', traits: { name: '张三', phone: '13812345678' }, timestamp: at(60) },
    order('a-1', { userId: 'a' }, '100.00', 50),
    order('a-2', { userId: 'a' }, '200.00', 10),
    { type: 'identify', messageId: 'b-1', userId: 'b', traits: { name: '李四', phone: '13900002222' }, timestamp: at(40) },
    order('b-1', { userId: 'b' }, '100.00', 5),
    // c: a visitor and a member with one order each, then merged by a message carrying both ids.
    { type: 'identify', messageId: 'c-1', anonymousId: 'anon-c', traits: { phone: '13700003333' }, timestamp: at(30) },
    order('c-1', { anonymousId: 'anon-c' }, '50.00', 30),
    { type: 'identify', messageId: 'c-2', userId: 'c', traits: { name: '王五' }, timestamp: at(20) },
    order('c-2', { userId: 'c' }, '50.00', 20),
    { type: 'track', messageId: 'c-3', userId: 'c', anonymousId: 'anon-c', event: 'Signed Up', timestamp: at(19) },
    // d: never ordered.
    { type: 'identify', messageId: 'd-1', userId: 'd', traits: { name: '赵六' }, timestamp: at(15) },
  ]);
  // e: first seen on Douyin, never ordered.
  await send(h, douyin.writeKey, [{ type: 'track', messageId: 'e-1', userId: 'e', event: 'Live Room Entered', timestamp: at(3) }]);
  await h.drain();
  for (const k of Object.keys(ids) as (keyof typeof ids)[]) ids[k] = (await admin('GET', `/v1/customers/lookup?type=user_id&value=${k}`)).json().id;
  const anon = (await admin('GET', '/v1/customers/lookup?type=anonymous_id&value=anon-c')).json().id;
  expect(anon).toBe(ids.c);

  await createUser(h, 'ops@example.com', 'ops');
  await createUser(h, 'sales@example.com', 'sales');
  // A custom role that may manage tags but sees only its own customers.
  const role = (await admin('POST', '/v1/roles', { name: '渠道运营', permissions: ['customers.read', 'tags.manage'], dataScope: 'own', maskPii: false })).json();
  ownerId = (await createUser(h, 'own@example.com', role.id)).id;
  await admin('PATCH', `/v1/customers/${ids.b}`, { ownerId });
  asOps = await signIn(h, 'ops@example.com');
  asSales = await signIn(h, 'sales@example.com');
  asOwnScope = await signIn(h, 'own@example.com');
});
afterAll(async () => {
  await h.close();
});

const sampleIds = (body: { sample: { id: string }[] }) => body.sample.map((c) => c.id).sort();

describe('POST /v1/tag-rules/preview', () => {
  it('counts the customers a condition matches now, a merged customer once with the events of all its records', async () => {
    const any = await preview({ type: 'order_count', op: 'gte', value: 1 });
    expect(any.statusCode).toBe(200);
    expect(any.json()).toMatchObject({ count: 3, total: 5 });
    expect(sampleIds(any.json())).toEqual([ids.a, ids.b, ids.c].sort());

    // c's two orders sit on two merged records: together they make two.
    const repeat = (await preview({ type: 'order_count', op: 'gte', value: 2 })).json();
    expect([repeat.count, sampleIds(repeat)]).toEqual([2, [ids.a, ids.c].sort()]);
    const spend = (await preview({ type: 'total_spend', op: 'gte', value: '100.00' })).json();
    expect([spend.count, sampleIds(spend)]).toEqual([3, [ids.a, ids.b, ids.c].sort()]);
    const recent = (await preview({ type: 'order_count', withinDays: 7, op: 'gte', value: 1 })).json();
    expect([recent.count, sampleIds(recent)]).toEqual([1, [ids.b]]);
    const lapsed = (await preview({ type: 'days_since_last_order', op: 'gte', value: 15 })).json();
    expect([lapsed.count, sampleIds(lapsed)]).toEqual([1, [ids.c]]);
    const fromDouyin = (await preview({ type: 'first_channel', in: ['douyin'] })).json();
    expect([fromDouyin.count, sampleIds(fromDouyin)]).toEqual([1, [ids.e]]);
  });

  it('counts the customers without any matching event when the condition holds for them (never ordered)', async () => {
    const never = (await preview({ type: 'order_count', op: 'eq', value: 0 })).json();
    expect([never.count, sampleIds(never)]).toEqual([2, [ids.d, ids.e].sort()]);
    const either = (await preview({ any: [{ type: 'order_count', op: 'eq', value: 0 }, { type: 'total_spend', op: 'gte', value: '300.00' }] })).json();
    expect([either.count, sampleIds(either)]).toEqual([3, [ids.a, ids.d, ids.e].sort()]);
    const both = (await preview({ all: [{ type: 'order_count', op: 'gte', value: 1 }, { type: 'event_count', event: 'Signed Up', op: 'gte', value: 1 }] })).json();
    expect([both.count, sampleIds(both)]).toEqual([1, [ids.c]]);
    const none = (await preview({ type: 'event_count', event: 'Nothing Like This', op: 'gte', value: 1 })).json();
    expect(none).toEqual({ count: 0, total: 5, sample: [] });
  });

  it('agrees with the rule tag the same condition gives once saved', async () => {
    const condition = { any: [{ type: 'order_count', op: 'gte', value: 2 }, { type: 'first_channel', in: ['douyin'] }] };
    const p = (await preview(condition)).json();
    const saved = await admin('POST', '/v1/tag-rules', { name: 'Preview check', tag: 'preview-check', condition });
    expect(saved.json().recompute.added).toBe(p.count);
    const tagged = (await admin('GET', '/v1/customers?tag=preview-check')).json().data.map((c: { id: string }) => c.id).sort();
    expect(tagged).toEqual(sampleIds(p));
  });

  it('refuses an invalid condition with the same problems as creating the rule', async () => {
    const bad = { type: 'event_count', op: 'gte' };
    const r = await preview(bad);
    expect(r.statusCode).toBe(400);
    const created = await admin('POST', '/v1/tag-rules', { name: 'bad', tag: 'x', condition: bad });
    expect(r.json()).toMatchObject({ code: 'TAG_RULE_INVALID', problems: ['condition.event: must be a non-empty string', 'condition.value: must be an integer ≥ 0'] });
    expect(r.json().detail).toBe(created.json().detail);
    expect((await preview({ all: [] })).json()).toMatchObject({ code: 'TAG_RULE_INVALID', problems: ['condition.all: must be a non-empty array'] });
    expect((await admin('POST', '/v1/tag-rules/preview', {})).statusCode).toBe(400);
  });

  it("masks the sample like the customers list, limits it to the caller's scope (not the count), and needs tags.manage", async () => {
    const masked = await asOps.inject({ method: 'POST', url: '/v1/tag-rules/preview', payload: { condition: { type: 'order_count', op: 'gte', value: 1 } } });
    expect(masked.statusCode).toBe(200);
    const a = masked.json().sample.find((c: { id: string }) => c.id === ids.a);
    expect(a).toMatchObject({ masked: true, phone: '138****5678' });
    expect(a.traits.name).not.toBe('张三');

    const own = (await asOwnScope.inject({ method: 'POST', url: '/v1/tag-rules/preview', payload: { condition: { type: 'order_count', op: 'gte', value: 1 } } })).json();
    expect(own.count).toBe(3);
    expect(own.sample.map((c: { id: string }) => c.id)).toEqual([ids.b]);
    expect(own.sample[0]).toMatchObject({ owner: { id: ownerId }, phone: '+8613900002222' });

    const forbidden = await asSales.inject({ method: 'POST', url: '/v1/tag-rules/preview', payload: { condition: { type: 'order_count', op: 'gte', value: 1 } } });
    expect([forbidden.statusCode, forbidden.json().code]).toEqual([403, 'AUTH_PERMISSION_MISSING']);
  });

  it('stores nothing, and records the read of the sample in the audit log', async () => {
    const before = (await admin('GET', '/v1/tag-rules')).json().data.length;
    // A moment after the other tests' previews, so this one is the newest entry.
    h.setNow(new Date(T0 + 60_000));
    await preview({ type: 'order_count', op: 'gte', value: 1 });
    h.setNow(new Date(T0));
    expect((await admin('GET', '/v1/tag-rules')).json().data.length).toBe(before);
    const audit = (await admin('GET', '/v1/audit-log?action=tag_rule.preview')).json().data;
    expect(audit[0]).toMatchObject({ action: 'tag_rule.preview', details: { count: 3 } });
    expect([...audit[0].details.results].sort()).toEqual([ids.a, ids.b, ids.c].sort());
  });
});
