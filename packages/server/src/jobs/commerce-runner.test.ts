import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOrder, fakeShopConnector, signedPush, startFakeShopApi, type FakeShopApi } from '../test-support/fake-commerce.js';
import { bearer, createHarness, type Harness } from '../test-support/harness.js';
import { Runner } from './runner.js';

// The runner's own loops (not the harness's drain) take a platform push all the way to the
// customer's timeline: the message-log loop and the inbox loop wake each other with kick().

let h: Harness;
let api: FakeShopApi;
let runner: Runner;
const CREDS = { appKey: 'run-app', appSecret: 'run-secret-0123456789', shopId: 'shop-1' };

beforeAll(async () => {
  h = await createHarness({ commerceConnectors: [fakeShopConnector] });
  api = await startFakeShopApi({ appKey: CREDS.appKey });
  runner = new Runner(h.datong.deps, {
    batchSize: 500,
    pollMs: 50,
    delivery: { schedule: [1000], random: () => 0.5 },
    webhookConcurrency: 1,
    tagRecomputeMs: 3_600_000,
    inboxRetentionDays: 7,
    commerce: h.datong.commerce,
  });
  runner.start();
});
afterAll(async () => {
  await runner?.stop();
  await h?.close();
  await api?.close();
});

describe('runner with e-commerce connectors', () => {
  it('processes a pushed order into an Order Completed event without a manual drain', async () => {
    const c = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'fakeshop', config: { ...CREDS, apiBase: api.url } } });
    const id = c.json<{ id: string }>().id;
    const { payload, headers } = signedPush(CREDS, [{ msg_id: 'run-1', type: 'order', data: fakeOrder('RUN1', { update_time: Date.now() - 1000, buyer: { buyer_id: 'run-buyer' } }) }], new Date());
    expect((await h.inject({ method: 'POST', url: `/v1/hooks/fakeshop/${id}`, headers, payload })).body).toBe('{"code":0,"msg":"success"}');
    // Waits for the background loops; bounded so a broken wiring fails instead of hanging.
    let n = 0;
    for (let i = 0; i < 600 && n === 0; i++) {
      const r = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE event = 'Order Completed' AND properties->>'order_id' = 'RUN1'`);
      n = Number(r.rows[0]?.n ?? 0);
      if (n === 0) await sleep(50);
    }
    expect(n).toBe(1);
  });
});
