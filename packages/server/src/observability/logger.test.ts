import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, createHarness, makeSource, send, type Harness } from '../test-support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('logs', () => {
  it('never contain API keys, write keys, phones or emails, even at debug level and on errors', async () => {
    const src = await makeSource(h);
    await send(h, src.writeKey, [{ type: 'identify', messageId: 'log-1', userId: 'log-user', traits: { phone: '13912345678', email: 'leak@example.com' } }]);
    await send(h, src.writeKey, [{ type: 'identify', messageId: 'log-2', userId: 'log-user', traits: { phone: 'bad-13912345678' } }]);
    await h.drain();
    await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=phone&value=13912345678', headers: bearer(h.adminKey) });
    await h.inject({ method: 'POST', url: '/v1/batch', headers: basic('dtw_wrong'), payload: { batch: [] } });
    const all = h.logs.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [h.adminKey, src.writeKey, '13912345678', 'leak@example.com']) expect(all).not.toContain(secret);
  });
});
