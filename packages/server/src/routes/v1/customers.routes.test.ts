import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';

let h: Harness;
let web: { id: string; writeKey: string };
let shop: { id: string; writeKey: string };

beforeAll(async () => {
  h = await createHarness();
  web = await makeSource(h, h.adminKey, 'web');
  shop = await makeSource(h, h.adminKey, 'youzan');
});
afterAll(async () => {
  await h.close();
});

const get = async (url: string, key = h.adminKey) => h.inject({ method: 'GET', url, headers: bearer(key) });
const lookup = async (type: string, value: string, collection?: string) =>
  get(`/v1/customers/lookup?type=${type}&value=${encodeURIComponent(value)}${collection ? `&collection=${collection}` : ''}`);

describe('OneID over HTTP', () => {
  it('merges the mall visitor and the shop buyer that one message links, and unmerge restores both with their own events', async () => {
    await send(h, web.writeKey, [
      { type: 'track', messageId: 'mg-1', anonymousId: 'dev-1', event: 'Product Viewed', properties: { product_id: 'p1' }, timestamp: '2026-11-01T10:00:00Z' },
    ]);
    await send(h, shop.writeKey, [
      { type: 'identify', messageId: 'mg-2', userId: 'buyer-1', traits: { phone: '139 0000 1111', name: 'Wang' }, timestamp: '2026-11-02T10:00:00Z' },
      { type: 'track', messageId: 'mg-3', userId: 'buyer-1', event: 'Order Completed', properties: { order_id: 'o1', total: '88.00' }, timestamp: '2026-11-02T11:00:00Z' },
    ]);
    await h.drain();
    const visitor = (await lookup('anonymous_id', 'dev-1')).json();
    const buyer = (await lookup('phone', '13900001111')).json();
    expect(visitor.id).not.toBe(buyer.id);

    // The visitor logs in on the mall: the message carries both the device and the phone.
    await send(h, web.writeKey, [{ type: 'identify', messageId: 'mg-4', anonymousId: 'dev-1', traits: { phone: '+86 139-0000-1111' }, timestamp: '2026-11-03T10:00:00Z' }]);
    await h.drain();
    const merged = (await lookup('anonymous_id', 'dev-1')).json();
    expect(merged.id).toBe(buyer.id);
    expect(merged.mergedCustomerIds).toEqual([visitor.id]);
    expect(merged.merges).toHaveLength(1);
    expect(merged.merges[0]).toMatchObject({ fromCustomerId: visitor.id, intoCustomerId: buyer.id, identifierType: 'anonymous_id', messageId: 'mg-4', unmergedAt: null });
    expect(merged.counts).toEqual({ events: 4, orders: 1, mergedCustomers: 1 });
    // The old id still answers, with the customer it was merged into.
    expect((await get(`/v1/customers/${visitor.id}`)).json().id).toBe(buyer.id);
    const tl = (await get(`/v1/customers/${buyer.id}/timeline`)).json();
    expect(tl.data.map((e: { messageId: string }) => e.messageId)).toEqual(['mg-4', 'mg-3', 'mg-2', 'mg-1']);

    const un = await h.inject({ method: 'POST', url: `/v1/customers/${buyer.id}/unmerge`, headers: bearer(h.adminKey), payload: {} });
    expect(un.statusCode).toBe(200);
    expect(un.json()).toMatchObject({ customerId: buyer.id, restoredCustomerId: visitor.id, movedCustomerIds: [visitor.id] });
    const a = (await get(`/v1/customers/${visitor.id}`)).json();
    const b = (await get(`/v1/customers/${buyer.id}`)).json();
    expect(a.id).toBe(visitor.id);
    expect(a.identities.map((i: { type: string }) => i.type)).toEqual(['anonymous_id']);
    expect(b.identities.map((i: { type: string }) => i.type).sort()).toEqual(['phone', 'user_id']);
    const ta = (await get(`/v1/customers/${visitor.id}/timeline`)).json().data.map((e: { messageId: string }) => e.messageId);
    const tb = (await get(`/v1/customers/${buyer.id}/timeline`)).json().data.map((e: { messageId: string }) => e.messageId);
    // The linking message stays with the customer it was attributed to; every event is on exactly one customer.
    expect([...ta, ...tb].sort()).toEqual(['mg-1', 'mg-2', 'mg-3', 'mg-4']);
    expect(ta).toContain('mg-1');
    expect(tb).toEqual(expect.arrayContaining(['mg-2', 'mg-3']));
    expect(b.traits).toEqual({ name: 'Wang' });
    expect(b.merges[0].unmergedAt).not.toBeNull();
    // Nothing left to undo.
    const again = await h.inject({ method: 'POST', url: `/v1/customers/${visitor.id}/unmerge`, headers: bearer(h.adminKey), payload: {} });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('MERGE_NOT_FOUND');
  });

  it('applies a chain of merges inside one batch, then unmerges them one at a time', async () => {
    await send(h, web.writeKey, [
      { type: 'track', messageId: 'ch-0a', anonymousId: 'ch-a1', event: 'E', traits: {} },
      { type: 'identify', messageId: 'ch-0b', anonymousId: 'ch-a2', traits: { city: 'Hangzhou' } },
      { type: 'track', messageId: 'ch-0c', anonymousId: 'ch-a3', event: 'E' },
    ]);
    await h.drain();
    const ids = async () => Promise.all(['ch-a1', 'ch-a2', 'ch-a3'].map(async (a) => (await lookup('anonymous_id', a)).json().id as string));
    const before = await ids();
    expect(new Set(before).size).toBe(3);
    await send(h, web.writeKey, [
      { type: 'identify', messageId: 'ch-1', anonymousId: 'ch-a1', userId: 'ch-user', traits: { name: 'Chain' } },
      { type: 'identify', messageId: 'ch-2', anonymousId: 'ch-a2', userId: 'ch-user' },
      { type: 'alias', messageId: 'ch-3', previousId: 'ch-a3', userId: 'ch-user' },
    ]);
    await h.drain();
    const after = await ids();
    expect(new Set(after).size).toBe(1);
    const c = (await get(`/v1/customers/${after[0]}`)).json();
    expect(c.merges).toHaveLength(2);
    expect(c.traits).toEqual({ name: 'Chain', city: 'Hangzhou' });
    expect(c.counts.events).toBe(6);
    await h.inject({ method: 'POST', url: `/v1/customers/${c.id}/unmerge`, headers: bearer(h.adminKey), payload: {} });
    await h.inject({ method: 'POST', url: `/v1/customers/${c.id}/unmerge`, headers: bearer(h.adminKey), payload: {} });
    expect(new Set(await ids()).size).toBe(3);
    expect((await get(`/v1/customers/${before[1]}`)).json().traits).toEqual({ city: 'Hangzhou' });
  });

  it('does not merge two people who share a family email (merge protection) and records the conflict', async () => {
    await send(h, web.writeKey, [
      { type: 'identify', messageId: 'fam-1', userId: 'mom', traits: { phone: '13700000001', email: 'family@example.com' } },
      { type: 'identify', messageId: 'fam-2', userId: 'kid', traits: { phone: '13700000002', email: 'family@example.com' } },
    ]);
    await h.drain();
    const mom = (await lookup('phone', '13700000001')).json();
    const kid = (await lookup('phone', '13700000002')).json();
    expect(mom.id).not.toBe(kid.id);
    expect((await lookup('email', 'family@example.com')).json().id).toBe(mom.id);
    const c = await h.db.query<{ reason: string; customer_id: string; identifier_type: string }>(
      "SELECT reason, customer_id, identifier_type FROM identity_conflicts WHERE message_id = 'fam-2'",
    );
    expect(c.rows).toEqual([{ reason: 'limit_exceeded', customer_id: mom.id, identifier_type: 'user_id' }]);
  });

  it('ignores a blocked junk phone for matching, notes it, and processes the rest of the message', async () => {
    await send(h, web.writeKey, [
      { type: 'identify', messageId: 'junk-1', userId: 'j1', traits: { phone: '13800000000' } },
      { type: 'identify', messageId: 'junk-2', userId: 'j2', traits: { phone: '138 0000 0000' } },
    ]);
    await h.drain();
    const j1 = (await lookup('user_id', 'j1')).json();
    const j2 = (await lookup('user_id', 'j2')).json();
    expect(j1.id).not.toBe(j2.id);
    expect(j1.identities.map((i: { type: string }) => i.type)).toEqual(['user_id']);
    expect((await lookup('phone', '13800000000')).statusCode).toBe(404);
    const n = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM identity_conflicts WHERE reason = 'blocked_value' AND message_id IN ('junk-1', 'junk-2')");
    expect(n.rows[0]?.n).toBe(2);
  });

  it('links context.externalIds (openid per appId, unionid) and looks them up', async () => {
    await send(h, web.writeKey, [
      {
        type: 'track',
        messageId: 'ext-1',
        anonymousId: 'dev-ext',
        event: 'Signed In',
        context: {
          externalIds: [
            { id: 'oOPENID1', type: 'wechat_openid', collection: 'wxapp1', encoding: 'none' },
            { id: 'UNION1', type: 'wechat_unionid', collection: 'users', encoding: 'none' },
            { id: 'x', type: 'not_a_type', collection: 'users' },
          ],
        },
      },
    ]);
    await h.drain();
    const byOpenid = await lookup('wechat_openid', 'oOPENID1', 'wxapp1');
    expect(byOpenid.statusCode).toBe(200);
    expect((await lookup('wechat_unionid', 'UNION1')).json().id).toBe(byOpenid.json().id);
    // Same openid in another app is another identifier.
    expect((await lookup('wechat_openid', 'oOPENID1', 'wxapp2')).statusCode).toBe(404);
    const q = (await get('/v1/quarantine')).json().data as { messageId: string; field: string }[];
    expect(q.find((x) => x.messageId === 'ext-1')?.field).toBe('context.externalIds[2]');
  });

  it('answers lookups with stable problem codes', async () => {
    const none = await lookup('phone', '13611112222');
    expect(none.statusCode).toBe(404);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.json().code).toBe('IDENTITY_NOT_FOUND');
    expect((await lookup('shoe_size', '42')).json().code).toBe('IDENTITY_TYPE_UNKNOWN');
    expect((await lookup('phone', 'not-a-phone')).json().code).toBe('IDENTITY_VALUE_INVALID');
    expect((await get('/v1/customers/cus_nope')).json().code).toBe('CUSTOMER_NOT_FOUND');
  });
});

describe('customer 360 reads', () => {
  it('pages the timeline newest first with a cursor, without gaps or repeats', async () => {
    const base = Date.parse('2026-10-01T00:00:00Z');
    const batch = Array.from({ length: 120 }, (_, i) => ({
      type: 'track',
      messageId: `tl-${i}`,
      userId: 'timeline-user',
      event: i % 2 ? 'Product Viewed' : 'Page Scrolled',
      timestamp: new Date(base + Math.floor(i / 3) * 60_000).toISOString(),
    }));
    await send(h, web.writeKey, batch);
    await h.drain();
    const id = (await lookup('user_id', 'timeline-user')).json().id as string;
    const seen: string[] = [];
    let cursor: string | null = null;
    let last = Number.POSITIVE_INFINITY;
    do {
      const r = await get(`/v1/customers/${id}/timeline?limit=25${cursor ? `&cursor=${cursor}` : ''}`);
      const page = r.json() as { data: { messageId: string; occurredAt: string; source: { id: string } }[]; nextCursor: string | null };
      for (const e of page.data) {
        expect(Date.parse(e.occurredAt)).toBeLessThanOrEqual(last);
        last = Date.parse(e.occurredAt);
        seen.push(e.messageId);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    const filtered = (await get(`/v1/customers/${id}/timeline?event=Product%20Viewed&limit=200`)).json();
    expect(filtered.data).toHaveLength(60);
    expect(filtered.data[0]).toMatchObject({ type: 'track', event: 'Product Viewed', source: { id: web.id, type: 'web' }, channel: 'web' });
    expect((await get(`/v1/customers/${id}/timeline?cursor=garbage`)).json().code).toBe('VALIDATION_FAILED');
  });

  it('searches by name, phone in any format, tag, and pages results', async () => {
    await send(h, web.writeKey, [
      { type: 'identify', messageId: 's-1', userId: 's1', traits: { name: 'Zhang San', phone: '13500001234' } },
      { type: 'identify', messageId: 's-2', userId: 's2', traits: { name: 'Zhang Si' } },
      { type: 'identify', messageId: 's-3', userId: 's3', traits: { name: 'Li Si', email: 'lisi@example.com' } },
    ]);
    await h.drain();
    const byName = (await get('/v1/customers?q=zhang')).json();
    expect(byName.data.map((c: { traits: { name: string } }) => c.traits.name).sort()).toEqual(['Zhang San', 'Zhang Si']);
    const byPhone = (await get(`/v1/customers?q=${encodeURIComponent('+86 135-0000-1234')}`)).json();
    expect(byPhone.data.map((c: { traits: { name: string } }) => c.traits.name)).toEqual(['Zhang San']);
    expect((await get('/v1/customers?q=LISI@example.com')).json().data).toHaveLength(1);
    expect((await get('/v1/customers?q=s3')).json().data).toHaveLength(1);
    const si = (await lookup('user_id', 's2')).json();
    await h.inject({ method: 'POST', url: `/v1/customers/${si.id}/tags`, headers: bearer(h.adminKey), payload: { tags: ['  高价值  客户 '] } });
    const tagged = (await get(`/v1/customers?tag=${encodeURIComponent('高价值 客户')}`)).json();
    expect(tagged.data).toEqual([expect.objectContaining({ id: si.id, tags: ['高价值 客户'] })]);
    const p1 = (await get('/v1/customers?limit=2')).json();
    const p2 = (await get(`/v1/customers?limit=2&cursor=${p1.nextCursor}`)).json();
    expect(p1.data).toHaveLength(2);
    expect(p2.data[0].id).not.toBe(p1.data[1].id);
  });
});

describe('first and last seen', () => {
  it('keeps first seen exact and last seen to the minute', async () => {
    const at = (s: number) => new Date(Date.parse('2026-09-01T08:00:00Z') + s * 1000).toISOString();
    await send(h, web.writeKey, [{ type: 'track', messageId: 'seen-1', userId: 'seen-user', event: 'A', timestamp: at(0) }]);
    await h.drain();
    await send(h, web.writeKey, [{ type: 'track', messageId: 'seen-2', userId: 'seen-user', event: 'B', timestamp: at(20) }]);
    await h.drain();
    let c = (await lookup('user_id', 'seen-user')).json();
    // 20 s later: within the minute, the row is not rewritten.
    expect([c.firstSeenAt, c.lastSeenAt]).toEqual([at(0), at(0)]);
    await send(h, web.writeKey, [
      { type: 'track', messageId: 'seen-3', userId: 'seen-user', event: 'C', timestamp: at(300) },
      { type: 'track', messageId: 'seen-4', userId: 'seen-user', event: 'Late', timestamp: at(-3600) },
    ]);
    await h.drain();
    c = (await lookup('user_id', 'seen-user')).json();
    expect([c.firstSeenAt, c.lastSeenAt]).toEqual([at(-3600), at(300)]);
  });

  it('changes a profile only when a message changes it: the same traits again leave updatedAt alone', async () => {
    const t0 = Date.parse('2026-09-02T08:00:00Z');
    const identify = (n: number, traits: Record<string, unknown>) => ({ type: 'identify', messageId: `same-${n}`, userId: 'same-traits', traits, timestamp: new Date(t0).toISOString() });
    try {
      h.setNow(new Date(t0));
      await send(h, web.writeKey, [identify(1, { name: '王芳', city: '上海' })]);
      await h.drain();
      const first = (await lookup('user_id', 'same-traits')).json();
      expect(first.updatedAt).toBe(new Date(t0).toISOString());
      h.setNow(new Date(t0 + 60_000));
      await send(h, web.writeKey, [identify(2, { name: '王芳', city: '上海' })]);
      await h.drain();
      expect((await lookup('user_id', 'same-traits')).json().updatedAt).toBe(first.updatedAt);
      h.setNow(new Date(t0 + 120_000));
      await send(h, web.writeKey, [identify(3, { city: '杭州' })]);
      await h.drain();
      const moved = (await lookup('user_id', 'same-traits')).json();
      expect(moved.traits).toMatchObject({ name: '王芳', city: '杭州' });
      expect(moved.updatedAt).toBe(new Date(t0 + 120_000).toISOString());
    } finally {
      h.setNow(null);
    }
  });
});

describe('security of customer data', () => {
  it('keeps tenants apart: another tenant cannot read, find or tag this customer', async () => {
    await send(h, web.writeKey, [{ type: 'identify', messageId: 'iso-1', userId: 'iso-user', traits: { phone: '13300001111', name: 'Private' } }]);
    await h.drain();
    const mine = (await lookup('user_id', 'iso-user')).json();
    const other = await h.newTenant();
    expect((await get(`/v1/customers/${mine.id}`, other.adminKey)).statusCode).toBe(404);
    expect((await get(`/v1/customers/${mine.id}/timeline`, other.adminKey)).statusCode).toBe(404);
    expect((await get('/v1/customers/lookup?type=user_id&value=iso-user', other.adminKey)).statusCode).toBe(404);
    expect((await get('/v1/customers?q=Private', other.adminKey)).json().data).toEqual([]);
    const tag = await h.inject({ method: 'POST', url: `/v1/customers/${mine.id}/tags`, headers: bearer(other.adminKey), payload: { tags: ['x'] } });
    expect(tag.statusCode).toBe(404);
  });

  it('stores phones and emails only encrypted, found through a keyed blind index', async () => {
    await send(h, web.writeKey, [{ type: 'identify', messageId: 'pii-1', userId: 'pii-user', traits: { phone: '13312345678', email: 'secret.person@example.com' } }]);
    await h.drain();
    const dump = await h.db.query<{ t: string }>(
      `SELECT row_to_json(i)::text AS t FROM customer_identities i
       UNION ALL SELECT row_to_json(e)::text FROM events e
       UNION ALL SELECT row_to_json(x)::text FROM inbox x
       UNION ALL SELECT row_to_json(c)::text FROM customers c`,
    );
    const all = dump.rows.map((r) => r.t).join('\n');
    expect(all).not.toContain('13312345678');
    expect(all).not.toContain('secret.person');
    expect((await lookup('email', 'Secret.Person@example.com')).statusCode).toBe(200);
  });

  it('refuses requests without a key, with a wrong key, and with too small a scope', async () => {
    const none = await h.inject({ method: 'GET', url: '/v1/customers' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('AUTH_REQUIRED');
    expect((await get('/v1/customers', 'dtk_wrong')).json().code).toBe('AUTH_API_KEY_INVALID');
    const created = await h.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(h.adminKey), payload: { name: 'reader', scopes: ['read'] } });
    expect(created.statusCode).toBe(201);
    const reader = created.json().key as string;
    expect((await get('/v1/customers', reader)).statusCode).toBe(200);
    const write = await h.inject({ method: 'POST', url: '/v1/customers/cus_x/tags', headers: bearer(reader), payload: { tags: ['a'] } });
    expect(write.statusCode).toBe(403);
    expect(write.json().code).toBe('AUTH_SCOPE_MISSING');
    // The key is stored hashed only, and revoking it takes effect.
    const raw = await h.db.query<{ t: string }>('SELECT row_to_json(k)::text AS t FROM api_keys k');
    expect(raw.rows.map((r) => r.t).join()).not.toContain(reader);
    await h.inject({ method: 'DELETE', url: `/v1/api-keys/${created.json().id}`, headers: bearer(h.adminKey) });
    expect((await get('/v1/customers', reader)).statusCode).toBe(401);
  });

  it('applies tenant identity rules: a custom limit and blocked value', async () => {
    const bad = await h.inject({ method: 'PUT', url: '/v1/identity-rules', headers: bearer(h.adminKey), payload: { limits: { phone: 0 } } });
    expect(bad.statusCode).toBe(400);
    const t = await h.newTenant();
    const src = await makeSource(h, t.adminKey);
    const put = await h.inject({
      method: 'PUT',
      url: '/v1/identity-rules',
      headers: bearer(t.adminKey),
      payload: { limits: { phone: 2 }, blocked: [{ type: 'email', value: 'shared@shop.example' }] },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().limits).toEqual({ phone: 2 });
    await send(h, src.writeKey, [
      { type: 'identify', messageId: 'r-1', anonymousId: 'a', traits: { phone: '13100000001', email: 'shared@shop.example' } },
      { type: 'identify', messageId: 'r-2', anonymousId: 'a', traits: { phone: '13100000002' } },
      { type: 'identify', messageId: 'r-3', anonymousId: 'b', traits: { email: 'shared@shop.example' } },
    ]);
    await h.drain();
    const one = (await get('/v1/customers/lookup?type=phone&value=13100000001', t.adminKey)).json();
    expect((await get('/v1/customers/lookup?type=phone&value=13100000002', t.adminKey)).json().id).toBe(one.id);
    expect((await get('/v1/customers/lookup?type=anonymous_id&value=b', t.adminKey)).json().id).not.toBe(one.id);
  });
});
