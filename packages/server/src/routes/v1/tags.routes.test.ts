import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';

let h: Harness;
let web: { id: string; writeKey: string };
let douyin: { id: string; writeKey: string };
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-10T00:00:00Z');

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(T0));
  web = await makeSource(h, h.adminKey, 'web');
  douyin = await makeSource(h, h.adminKey, 'douyin');
});
afterAll(async () => {
  await h.close();
});

const customerId = async (userId: string): Promise<string> =>
  (await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=user_id&value=${userId}`, headers: bearer(h.adminKey) })).json().id;
const tagsOf = async (userId: string): Promise<{ name: string; source: string }[]> =>
  (await h.inject({ method: 'GET', url: `/v1/customers/${await customerId(userId)}`, headers: bearer(h.adminKey) })).json().tags;
const createRule = async (name: string, tag: string, condition: unknown) =>
  h.inject({ method: 'POST', url: '/v1/tag-rules', headers: bearer(h.adminKey), payload: { name, tag, condition } });
const view = (userId: string, product: string, at: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'track',
    messageId: `view-${userId}-${product}-${at}-${i}`,
    userId,
    event: 'Product Viewed',
    properties: { product_id: product },
    timestamp: new Date(at + i * 1000).toISOString(),
  }));

describe('rule tags', () => {
  it('tags "viewed product X at least 3 times in 7 days" as the third view arrives, and only for X', async () => {
    const r = await createRule('Interested in X', 'interested-x', {
      type: 'event_count',
      event: 'Product Viewed',
      where: { product_id: 'X' },
      withinDays: 7,
      op: 'gte',
      value: 3,
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ tag: 'interested-x', timeDependent: true, enabled: true });
    await send(h, web.writeKey, [...view('viewer', 'X', T0 - DAY, 2), ...view('viewer', 'Y', T0 - DAY, 5)]);
    await h.drain();
    expect(await tagsOf('viewer')).toEqual([]);
    await send(h, web.writeKey, view('viewer', 'X', T0 - 1000, 1));
    await h.drain();
    expect(await tagsOf('viewer')).toEqual([expect.objectContaining({ name: 'interested-x', source: 'rule' })]);
    // The rule's first holder also defines the tag (listed, with its holder).
    const defs = (await h.inject({ method: 'GET', url: '/v1/tags', headers: bearer(h.adminKey) })).json().data as { name: string; customers: number }[];
    expect(defs).toContainEqual(expect.objectContaining({ name: 'interested-x', customers: 1 }));
    // A week later the window has slid past two of the views: the batch recompute removes the tag.
    h.setNow(new Date(T0 + 6.5 * DAY));
    const rec = await h.inject({ method: 'POST', url: `/v1/tag-rules/${r.json().id}/recompute`, headers: bearer(h.adminKey) });
    expect(rec.json()).toMatchObject({ removed: 1 });
    expect(await tagsOf('viewer')).toEqual([]);
    h.setNow(new Date(T0));
  });

  it('tags total spend, order count and days since the last order, in exact money', async () => {
    await createRule('Big spender', 'big-spender', { type: 'total_spend', op: 'gte', value: '1000.00', currency: 'CNY' });
    await createRule('Repeat buyer', 'repeat', { type: 'order_count', op: 'gte', value: 3 });
    const order = (id: string, total: string | number, daysAgo: number, event = 'Order Completed') => ({
      type: 'track',
      messageId: `${event}-${id}`,
      userId: 'buyer',
      event,
      properties: { order_id: id, total, currency: 'CNY' },
      timestamp: new Date(T0 - daysAgo * DAY).toISOString(),
    });
    await send(h, web.writeKey, [order('o1', 333.33, 40), order('o2', '333.33', 39)]);
    await h.drain();
    expect((await tagsOf('buyer')).map((t) => t.name)).toEqual([]);
    await send(h, web.writeKey, [order('o3', 333.34, 35)]);
    await h.drain();
    expect((await tagsOf('buyer')).map((t) => t.name).sort()).toEqual(['big-spender', 'repeat']);
    const c = await h.inject({ method: 'GET', url: `/v1/customers/${await customerId('buyer')}`, headers: bearer(h.adminKey) });
    expect(c.json().spend).toEqual([{ currency: 'CNY', total: '1000.00' }]);
    // A refund takes the spend below the line: the rule tag goes.
    await send(h, web.writeKey, [order('o3', '0.01', 1, 'Order Refunded')]);
    await h.drain();
    expect((await tagsOf('buyer')).map((t) => t.name)).toEqual(['repeat']);
    const lapsed = await createRule('Lapsed', 'lapsed', { type: 'days_since_last_order', op: 'gte', value: 30 });
    expect(lapsed.json().recompute).toMatchObject({ added: 1 });
    expect((await tagsOf('buyer')).map((t) => t.name).sort()).toEqual(['lapsed', 'repeat']);
  });

  it('tags the channel of first touch', async () => {
    await createRule('From Douyin', 'from-douyin', { type: 'first_channel', in: ['douyin'] });
    await send(h, douyin.writeKey, [{ type: 'track', messageId: 'dy-1', userId: 'dy-user', event: 'Live Room Entered', timestamp: new Date(T0 - 5 * DAY).toISOString() }]);
    await send(h, web.writeKey, [{ type: 'page', messageId: 'web-1', userId: 'dy-user', name: 'Home', timestamp: new Date(T0 - DAY).toISOString() }]);
    await send(h, web.writeKey, [
      { type: 'page', messageId: 'web-2', userId: 'web-user', name: 'Home', timestamp: new Date(T0 - 2 * DAY).toISOString(), context: { campaign: { source: 'wechat-moments' } } },
    ]);
    await h.drain();
    expect((await tagsOf('dy-user')).map((t) => t.name)).toContain('from-douyin');
    expect((await tagsOf('web-user')).map((t) => t.name)).not.toContain('from-douyin');
  });

  it('explains an invalid rule with every problem and refuses it', async () => {
    const r = await createRule('bad', 'x', { type: 'event_count', op: 'gte' });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'TAG_RULE_INVALID', problems: ['condition.event: must be a non-empty string', 'condition.value: must be an integer ≥ 0'] });
  });

  it('removes rule tags when the rule is disabled or deleted, and leaves manual tags alone', async () => {
    const rule = await createRule('Viewer', 'viewer', { type: 'event_count', event: 'Product Viewed', op: 'gte', value: 1 });
    const id = await customerId('viewer');
    await h.inject({ method: 'POST', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['vip'] } });
    expect((await tagsOf('viewer')).map((t) => t.name).sort()).toEqual(['viewer', 'vip']);
    const off = await h.inject({ method: 'PATCH', url: `/v1/tag-rules/${rule.json().id}`, headers: bearer(h.adminKey), payload: { enabled: false } });
    expect(off.statusCode).toBe(200);
    expect((await tagsOf('viewer')).map((t) => t.name)).toEqual(['vip']);
    await h.inject({ method: 'PATCH', url: `/v1/tag-rules/${rule.json().id}`, headers: bearer(h.adminKey), payload: { enabled: true } });
    expect((await tagsOf('viewer')).map((t) => t.name).sort()).toEqual(['viewer', 'vip']);
    const del = await h.inject({ method: 'DELETE', url: `/v1/tag-rules/${rule.json().id}`, headers: bearer(h.adminKey) });
    expect(del.statusCode).toBe(204);
    expect((await tagsOf('viewer')).map((t) => t.name)).toEqual(['vip']);
  });
});

describe('manual tags', () => {
  it('adds, lists with counts, and removes tags; names are canonical', async () => {
    await send(h, web.writeKey, [{ type: 'identify', messageId: 'mt-1', userId: 'tagged' }]);
    await h.drain();
    const id = await customerId('tagged');
    const add = await h.inject({ method: 'POST', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['会员', ' 会员 ', 'new'] } });
    expect(add.json()).toEqual({ customerId: id, added: ['会员', 'new'], removed: [] });
    const again = await h.inject({ method: 'POST', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['会员'] } });
    expect(again.json().added).toEqual([]);
    const defs = (await h.inject({ method: 'GET', url: '/v1/tags', headers: bearer(h.adminKey) })).json().data as { name: string; customers: number }[];
    expect(defs.find((d) => d.name === '会员')?.customers).toBe(1);
    const rm = await h.inject({ method: 'DELETE', url: `/v1/customers/${id}/tags/${encodeURIComponent('会员')}`, headers: bearer(h.adminKey) });
    expect(rm.json()).toEqual({ customerId: id, added: [], removed: ['会员'] });
    const rm2 = await h.inject({ method: 'DELETE', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['new'] } });
    expect(rm2.json().removed).toEqual(['new']);
    const bad = await h.inject({ method: 'POST', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['a\u0001b'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('TAG_INVALID');
  });

  it('lets a manual tag lapse at its expiry', async () => {
    await send(h, web.writeKey, [{ type: 'identify', messageId: 'exp-1', userId: 'expiring' }]);
    await h.drain();
    const id = await customerId('expiring');
    const add = await h.inject({
      method: 'POST',
      url: `/v1/customers/${id}/tags`,
      headers: bearer(h.adminKey),
      payload: { tags: ['双11活动'], expiresAt: new Date(T0 + DAY).toISOString() },
    });
    expect(add.json().added).toEqual(['双11活动']);
    expect((await tagsOf('expiring')).map((t) => t.name)).toEqual(['双11活动']);
    const search = async () => (await h.inject({ method: 'GET', url: `/v1/customers?tag=${encodeURIComponent('双11活动')}`, headers: bearer(h.adminKey) })).json().data;
    expect(await search()).toHaveLength(1);
    h.setNow(new Date(T0 + 2 * DAY));
    expect(await tagsOf('expiring')).toEqual([]);
    expect(await search()).toEqual([]);
    h.setNow(new Date(T0));
    const past = await h.inject({ method: 'POST', url: `/v1/customers/${id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['x'], expiresAt: new Date(T0 - DAY).toISOString() } });
    expect(past.statusCode).toBe(400);
  });
});
