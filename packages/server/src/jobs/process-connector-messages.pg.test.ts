import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOrder, fakeShopConnector, signedPush, type FakeOrder, type FakePushMessage } from '../test-support/fake-commerce.js';
import { bearer, createHarness, type Harness } from '../test-support/harness.js';
import { processConnectorMessages } from './process-connector-messages.js';

// Runs only in the PostgreSQL pass (files named *.pg.test.ts): several workers, each with its
// own connection, process messages of the same orders at once. Row claims (SKIP LOCKED) keep
// a message from being processed twice; per-order advisory locks taken in one global order
// keep two workers from applying the same order at once, without deadlocks.

const NOW = Date.parse('2026-03-01T09:00:00.000Z');
const CREDS = { appKey: 'pg-app', appSecret: 'pg-secret-0123456789', shopId: 'shop-1' };
const ORDERS = 12;

let h: Harness;
let connectorId: string;

beforeAll(async () => {
  if (!process.env['DATONG_TEST_DATABASE_URL']) throw new Error('*.pg.test.ts needs DATONG_TEST_DATABASE_URL (run npm test)');
  h = await createHarness({ commerceConnectors: [fakeShopConnector] });
  h.setNow(new Date(NOW));
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'fakeshop', config: { ...CREDS, apiBase: 'http://127.0.0.1:9' } } });
  connectorId = r.json<{ id: string }>().id;
});
afterAll(async () => {
  await h?.close();
});

describe('processConnectorMessages on PostgreSQL with concurrent workers', () => {
  it('applies every order once, to its furthest state, with one Order Completed each', async () => {
    const states: FakeOrder['status'][] = ['WAIT_PAY', 'PAID', 'SHIPPED', 'SUCCESS'];
    const messages: FakePushMessage[] = [];
    for (let o = 0; o < ORDERS; o++) {
      states.forEach((status, i) => {
        const data = fakeOrder(`C${o}`, { status, update_time: NOW - 600_000 + i * 1000, buyer: { buyer_id: `cb-${o}`, mobile: `1380000${String(o).padStart(4, '0')}` } });
        messages.push({ msg_id: `c${o}-${status}`, type: 'order', data }, { msg_id: `c${o}-${status}-again`, type: 'order', data });
      });
    }
    // Interleave the orders' messages so that every worker's batch touches many orders (deterministic shuffle).
    const shuffled = messages.map((m, i) => ({ m, k: (i * 7919) % messages.length })).sort((a, b) => a.k - b.k).map((x) => x.m);
    for (let i = 0; i < shuffled.length; i += 16) {
      const { payload, headers } = signedPush(CREDS, shuffled.slice(i, i + 16), h.now());
      expect((await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${connectorId}`, headers, payload })).body).toBe('{"code":0,"msg":"success"}');
    }
    const worker = async (): Promise<number> => {
      let claimed = 0;
      for (;;) {
        const r = await processConnectorMessages(h.datong.deps, h.datong.commerce, 7);
        if (r.claimed === 0) return claimed;
        claimed += r.claimed;
      }
    };
    const claimed = await Promise.all([worker(), worker(), worker(), worker()]);
    expect(claimed.reduce((a, b) => a + b, 0)).toBe(ORDERS * 8);
    const statuses = await h.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM connector_messages WHERE connector_id = $1 GROUP BY status', [connectorId]);
    expect(statuses.rows).toEqual([{ status: 'processed', n: ORDERS * 8 }]);
    const orders = await h.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM orders GROUP BY status');
    expect(orders.rows).toEqual([{ status: 'completed', n: ORDERS }]);
    const completed = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE message_id LIKE '%:order-completed'`);
    expect(completed.rows[0]?.n).toBe(ORDERS);
    await h.drain();
    const events = await h.db.query<{ n: number }>(`SELECT count(DISTINCT properties->>'order_id')::int AS n FROM events WHERE event = 'Order Completed'`);
    expect(events.rows[0]?.n).toBe(ORDERS);
  });
});
