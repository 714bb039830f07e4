import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';

let h: Harness;
let source: { id: string; writeKey: string };

beforeAll(async () => {
  h = await createHarness();
  source = await makeSource(h);
});
afterAll(async () => {
  await h.close();
});

describe('Segment-compatible ingest', () => {
  it('answers a batch once it is processed: the customer is there with the 200, no worker needed', async () => {
    const r = await send(h, source.writeKey, [
      { type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { name: 'Li Lei', phone: '138 1234 5678' } },
      { type: 'track', messageId: 'm-2', userId: 'u-1', event: 'Product Viewed', properties: { product_id: 'p-1' } },
    ]);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ success: true, accepted: 2, duplicates: 0 });
    // The raw messages are kept in the inbox, already processed.
    const stored = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE source_id = $1 AND status = 1 AND processed_at IS NOT NULL', [source.id]);
    expect(stored.rows[0]?.n).toBe(2);
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=phone&value=%2B8613812345678', headers: bearer(h.adminKey) });
    expect(c.statusCode).toBe(200);
    const customer = c.json();
    expect(customer.traits).toEqual({ name: 'Li Lei' });
    expect(customer.identities.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).sort()).toEqual(['phone:+8613812345678', 'user_id:u-1']);
    expect(customer.counts.events).toBe(2);
  });

  it('accepts duplicate messageIds and ignores them', async () => {
    const msg = { type: 'track', messageId: 'dup-1', userId: 'u-dup', event: 'Clicked' };
    const first = await send(h, source.writeKey, [msg, msg]);
    expect(first.json()).toEqual({ success: true, accepted: 1, duplicates: 1 });
    const again = await h.inject({ method: 'POST', url: '/v1/track', headers: basic(source.writeKey), payload: msg });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ success: true, accepted: 0, duplicates: 1 });
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=u-dup', headers: bearer(h.adminKey) });
    const tl = await h.inject({ method: 'GET', url: `/v1/customers/${c.json().id}/timeline`, headers: bearer(h.adminKey) });
    expect(tl.json().data).toHaveLength(1);
  });

  it('works unchanged with the official @segment/analytics-node client', async () => {
    const address = await h.datong.app.listen({ host: '127.0.0.1', port: 0 });
    const analytics = new Analytics({ writeKey: source.writeKey, host: address, flushAt: 3, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.identify({ userId: 'seg-user', traits: { email: ' Seg@Example.ORG ', name: 'Han Meimei' } });
    analytics.track({ userId: 'seg-user', event: 'Order Completed', properties: { order_id: 'o-1', total: 99.9, currency: 'CNY' } });
    analytics.page({ userId: 'seg-user', name: 'Home' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=email&value=seg%40example.org', headers: bearer(h.adminKey) });
    expect(c.statusCode).toBe(200);
    expect(c.json().spend).toEqual([{ currency: 'CNY', total: '99.90' }]);
    const tl = await h.inject({ method: 'GET', url: `/v1/customers/${c.json().id}/timeline`, headers: bearer(h.adminKey) });
    expect(tl.json().data.map((e: { type: string; event: string | null }) => `${e.type}:${e.event}`).sort()).toEqual([
      'identify:null',
      'page:Home',
      'track:Order Completed',
    ]);
  });

  it('answers a missing or wrong write key with a problem+json 401', async () => {
    const none = await h.inject({ method: 'POST', url: '/v1/batch', payload: { batch: [] } });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.json().code).toBe('AUTH_REQUIRED');
    const wrong = await send(h, 'dtw_not-a-key', []);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'AUTH_WRITE_KEY_INVALID', status: 401, type: '/docs/errors#AUTH_WRITE_KEY_INVALID' });
  });

  it('refuses an event over 32 KB and a batch over 500 KB, naming the limit', async () => {
    const big = { type: 'track', userId: 'u', event: 'Big', properties: { blob: 'x'.repeat(33 * 1024) } };
    const r = await send(h, source.writeKey, [big]);
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'EVENT_TOO_LARGE', index: 0, limit: 32768 });
    const many = Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: 'u', event: 'Big', properties: { i, blob: 'x'.repeat(30 * 1024) } }));
    const r2 = await send(h, source.writeKey, many);
    expect(r2.statusCode).toBe(413);
    expect(r2.json().code).toBe('BODY_TOO_LARGE');
    const single = await h.inject({ method: 'POST', url: '/v1/track', headers: basic(source.writeKey), payload: big });
    expect(single.statusCode).toBe(413);
  });

  it('counts an event in UTF-8 bytes: 11,000 Chinese characters are over 32 KB, 10,000 are not', async () => {
    // 3 bytes each in UTF-8: 30,000 and 33,000 bytes (with the envelope, each side of 32,768), though 11,000 characters are far fewer than 32,768.
    const event = (n: number, id: string) => ({ type: 'track', messageId: id, userId: 'u-utf8', event: 'Note', properties: { text: '中'.repeat(n) } });
    const over = await send(h, source.writeKey, [event(11_000, 'utf8-over')]);
    expect(over.statusCode).toBe(413);
    expect(over.json()).toMatchObject({ code: 'EVENT_TOO_LARGE', index: 0, limit: 32768 });
    expect(over.json().bytes).toBeGreaterThan(32768);
    const under = await send(h, source.writeKey, [event(10_000, 'utf8-under')]);
    expect(under.statusCode).toBe(200);
  });

  it('answers malformed JSON and a wrong shape with stable codes', async () => {
    const bad = await h.inject({ method: 'POST', url: '/v1/batch', headers: { ...basic(source.writeKey), 'content-type': 'application/json' }, payload: '{"batch": [' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MALFORMED_JSON');
    const shape = await h.inject({ method: 'POST', url: '/v1/batch', headers: basic(source.writeKey), payload: { batch: 'nope' } });
    expect(shape.statusCode).toBe(400);
    expect(shape.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ pointer: '#/body/batch' }] });
  });

  it('quarantines an unprocessable message whole and a bad value alone, losing nothing', async () => {
    await send(h, source.writeKey, [
      { type: 'track', messageId: 'q-1', userId: 'u-q', properties: {} },
      { type: 'identify', messageId: 'q-2', userId: 'u-q', traits: { phone: '12345', email: 'ok@example.com' } },
    ]);
    await h.drain();
    const q = await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) });
    const items = q.json().data as { kind: string; messageId: string; reason: string; field: string | null }[];
    expect(items.find((i) => i.messageId === 'q-1')).toMatchObject({ kind: 'message', reason: 'track needs an event name' });
    expect(items.find((i) => i.messageId === 'q-2')).toMatchObject({ kind: 'value', field: 'traits.phone', reason: 'phone is not a valid phone number' });
    // The rest of q-2 was processed: the email is linked.
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=email&value=ok%40example.com', headers: bearer(h.adminKey) });
    expect(c.statusCode).toBe(200);
  });
});
