import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../test-support/harness.js';
import { Runner } from './runner.js';

let h: Harness;
let source: { id: string; writeKey: string };

beforeAll(async () => {
  h = await createHarness();
  source = await makeSource(h);
});
afterAll(async () => {
  await h.close();
});

const reltuples = async (table: string): Promise<number> =>
  Number((await h.db.query<{ n: number }>('SELECT reltuples::float8 AS n FROM pg_class WHERE relname = $1', [table])).rows[0]?.n);

describe('maintenance step', () => {
  it('analyzes the growing tables once enough messages were processed, and the statements succeed on this database', async () => {
    await send(
      h,
      source.writeKey,
      Array.from({ length: 30 }, (_, i) => ({ type: 'identify', messageId: `m-${i}`, userId: `u-${i}`, traits: { name: `N${i}` } })),
    );
    await h.drain();
    const runner = new Runner(h.datong.deps, {
      batchSize: 500,
      pollMs: 100,
      delivery: { schedule: [1000], random: () => 0.5 },
      webhookConcurrency: 1,
      tagRecomputeMs: 60_000,
      inboxRetentionDays: 7,
    });
    expect(await runner.maintain()).toEqual([]);
    runner.noteProcessed(499);
    const below = await runner.maintain();
    expect(below.some((s) => s.includes('customers'))).toBe(false);
    runner.noteProcessed(1);
    const ran = await runner.maintain();
    // Executed one statement per call: a failure here (e.g. VACUUM in a transaction block) throws.
    expect(ran.some((s) => s.includes('customer_identities'))).toBe(true);
    expect(ran).toContain('ANALYZE events');
    // The quick sample's setting does not outlive the step (on PGlite's one connection, or a pooled one).
    for (let i = 0; i < 3; i++) expect((await h.db.query<{ t: string }>('SELECT current_setting($1) AS t', ['default_statistics_target'])).rows[0]?.t).toBe('100');
    // Statistics now exist: reltuples is -1 for a never-analyzed table.
    expect(await reltuples('customers')).toBeGreaterThanOrEqual(30);
    expect(await reltuples('events')).toBeGreaterThanOrEqual(30);
    // The next threshold doubles.
    runner.noteProcessed(500);
    expect((await runner.maintain()).some((s) => s.includes('customers'))).toBe(false);
    runner.noteProcessed(500);
    expect((await runner.maintain()).some((s) => s.includes('customers'))).toBe(true);
  });
});

describe('tenant configuration cache of the inbox worker', () => {
  it('sees a new tag rule, a changed identity rule and a new source on the very next batch', async () => {
    const send1 = async (id: string, props: Record<string, unknown>, userId: string) =>
      send(h, source.writeKey, [{ type: 'track', messageId: id, userId, event: 'Order Completed', properties: props }]);
    await send1('o-1', { total: '5000', currency: 'CNY' }, 'buyer-1');
    await h.drain();
    // A rule created after the worker has cached the tenant's configuration applies to the next batch.
    const r = await h.inject({
      method: 'POST',
      url: '/v1/tag-rules',
      headers: bearer(h.adminKey),
      payload: { name: 'Big', tag: 'big-spender', condition: { type: 'total_spend', op: 'gte', value: '1000', currency: 'CNY' } },
    });
    expect(r.statusCode).toBe(201);
    await send1('o-2', { total: '1', currency: 'CNY' }, 'buyer-1');
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=buyer-1', headers: bearer(h.adminKey) });
    expect(c.json().tags.map((t: { name: string }) => t.name)).toContain('big-spender');

    // Blocking a value takes effect on the next batch too.
    const put = await h.inject({ method: 'PUT', url: '/v1/identity-rules', headers: bearer(h.adminKey), payload: { blocked: [{ type: 'user_id', value: 'buyer-2' }] } });
    expect(put.statusCode).toBe(200);
    await send1('o-3', { total: '2', currency: 'CNY' }, 'buyer-2');
    await h.drain();
    const blocked = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=buyer-2', headers: bearer(h.adminKey) });
    expect(blocked.statusCode).toBe(404);

    // A source created after caching gives its events their channel.
    const mp = await makeSource(h, h.adminKey, 'miniprogram');
    await send(h, mp.writeKey, [{ type: 'track', messageId: 'mp-1', userId: 'buyer-1', event: 'Product Viewed' }]);
    await h.drain();
    const row = await h.db.query<{ channel: string }>("SELECT channel FROM events WHERE message_id = 'mp-1'");
    expect(row.rows[0]?.channel).toBe('miniprogram');
  });
});
