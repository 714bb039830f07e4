import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { DEFAULT_TENANT_ID } from '../../tenants.js';

// GET /v1/customers/{id}/timeline filters: channel (events.channel), type, event and source.
let h: Harness;
let id = '';
let web: { id: string; writeKey: string };
const T0 = Date.parse('2026-11-10T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

interface Item {
  id: string;
  type: string;
  event: string | null;
  channel: string | null;
  source: { id: string };
}
interface TimelinePage {
  data: Item[];
  nextCursor: string | null;
}

const timeline = async (query: string): Promise<TimelinePage> => {
  const r = await h.inject({ method: 'GET', url: `/v1/customers/${id}/timeline?${query}`, headers: bearer(h.adminKey) });
  expect(r.statusCode).toBe(200);
  return r.json<TimelinePage>();
};
/** Every page, following nextCursor. */
const all = async (query: string, limit = 2): Promise<Item[]> => {
  const out: Item[] = [];
  let cursor: string | null = null;
  do {
    const page: TimelinePage = await timeline(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
};

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(T0 + 3_600_000));
  web = await makeSource(h, h.adminKey, 'web');
  const mall = await makeSource(h, h.adminKey, 'miniprogram');
  await send(h, web.writeKey, [
    { type: 'identify', messageId: 'w-1', userId: 'u-1', traits: { name: '李雷' }, timestamp: at(0) },
    { type: 'page', messageId: 'w-2', userId: 'u-1', name: 'Home', timestamp: at(1) },
    { type: 'track', messageId: 'w-3', userId: 'u-1', event: 'Product Viewed', timestamp: at(2) },
    // A campaign names the channel of the event, whatever the source.
    { type: 'track', messageId: 'w-4', userId: 'u-1', event: 'Product Viewed', timestamp: at(3), context: { campaign: { source: 'douyin' } } },
  ]);
  // Mall events on a visitor record that the last message merges into u-1: the timeline gathers both.
  await send(h, mall.writeKey, [
    { type: 'track', messageId: 'm-1', anonymousId: 'anon-1', event: 'Product Viewed', timestamp: at(4) },
    { type: 'track', messageId: 'm-2', anonymousId: 'anon-1', event: 'Order Completed', properties: { order_id: 'o-1', total: '10.00' }, timestamp: at(5) },
    { type: 'screen', messageId: 'm-3', anonymousId: 'anon-1', name: '会员中心', timestamp: at(6) },
    { type: 'track', messageId: 'm-4', userId: 'u-1', anonymousId: 'anon-1', event: 'Product Viewed', timestamp: at(7) },
  ]);
  await h.drain();
  id = (await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=u-1', headers: bearer(h.adminKey) })).json().id;
});
afterAll(async () => {
  await h.close();
});

describe('timeline filters', () => {
  it('filters by channel across the merged records, newest first, page by page', async () => {
    const everything = await all('');
    expect(everything).toHaveLength(8);
    const mall = await all('channel=miniprogram');
    expect(mall.map((e) => e.event ?? e.type)).toEqual(['Product Viewed', '会员中心', 'Order Completed', 'Product Viewed']);
    expect(new Set(mall.map((e) => e.channel))).toEqual(new Set(['miniprogram']));
    expect((await all('channel=web')).map((e) => e.event ?? e.type)).toEqual(['Product Viewed', 'Home', 'identify']);
    expect((await all('channel=douyin')).map((e) => e.event)).toEqual(['Product Viewed']);
    expect(await all('channel=youzan')).toEqual([]);
  });

  it('combines channel with type, event and source', async () => {
    expect((await all('channel=miniprogram&type=track')).map((e) => e.event)).toEqual(['Product Viewed', 'Order Completed', 'Product Viewed']);
    expect((await all(`channel=miniprogram&event=${encodeURIComponent('Product Viewed')}`)).length).toBe(2);
    expect((await all(`event=${encodeURIComponent('Product Viewed')}`)).map((e) => e.channel)).toEqual(['miniprogram', 'miniprogram', 'douyin', 'web']);
    // The campaign event came through the web source but belongs to the douyin channel.
    const viaWeb = await all(`sourceId=${web.id}`);
    expect(viaWeb).toHaveLength(4);
    expect((await all(`sourceId=${web.id}&channel=web`)).length).toBe(3);
    expect((await all('type=screen&channel=web')).length).toBe(0);
  });

  it("reads a record's page in the order of an index on the events, sorting none of them", async () => {
    // The timeline's query shape (routes/v1/customers.routes.ts) for one record, past a cursor:
    // a customer with 100,000 events must not sort them all for 50. Seq scans are off so that
    // the few rows here cannot make the planner prefer one; the plan shows whether an index
    // serves this order at all.
    const plan = await h.db.tx(async (q) => {
      await q.query('SET LOCAL enable_seqscan = off');
      const r = await q.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT e.id FROM events e WHERE e.tenant_id = $1 AND e.customer_id = $2 AND (e.occurred_at, e.id) < ($3::timestamptz, $4)
         ORDER BY e.occurred_at DESC, e.id DESC LIMIT 3`,
        [DEFAULT_TENANT_ID, id, at(6), 'evt_z'],
      );
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index (Only )?Scan (Backward )?using events_/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('refuses an over-long channel', async () => {
    const r = await h.inject({ method: 'GET', url: `/v1/customers/${id}/timeline?channel=${'x'.repeat(65)}`, headers: bearer(h.adminKey) });
    expect([r.statusCode, r.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
