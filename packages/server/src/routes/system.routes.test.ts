import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_ID } from '../tenants.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../test-support/harness.js';
import { storeInbox } from '../usecases/ingest.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('operations endpoints', () => {
  it('answers health and readiness', async () => {
    expect((await h.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await h.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('ready');
  });

  it('exposes Prometheus metrics including queue depth and HTTP durations', async () => {
    const src = await makeSource(h);
    // Accepted through the API: processed in the request, so nothing waits in the queue.
    await send(h, src.writeKey, [{ type: 'track', userId: 'm', event: 'E' }]);
    const r = await h.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.body).toMatch(/datong_queue_depth\{queue="inbox"\} 0/);
    expect(r.body).toMatch(/datong_inbox_messages_total\{outcome="processed"\} [1-9]/);
    expect(r.body).toContain('datong_http_request_duration_seconds_bucket');
    // Stored for the workers (as imports and platform messages are): one waits until they run.
    await storeInbox(h.db, h.datong.deps.keyring, DEFAULT_TENANT_ID, src.id, [{ type: 'track', userId: 'm', event: 'Queued', messageId: 'q-1' }], new Date());
    expect((await h.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/datong_queue_depth\{queue="inbox"\} 1/);
    await h.drain();
    expect((await h.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/datong_queue_depth\{queue="inbox"\} 0/);
  });

  it('publishes an OpenAPI 3.1 document covering the public API, with a docs page', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/v1/batch', '/v1/track', '/v1/customers/{id}', '/v1/customers/{id}/timeline', '/v1/customers/lookup', '/v1/tag-rules', '/v1/webhooks', '/v1/miniprogram/{id}/login']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.components.securitySchemes).toHaveProperty('writeKey');
    const docs = await h.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });

  it('answers an unknown route with a problem+json 404', async () => {
    const r = await h.inject({ method: 'GET', url: '/v1/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404, instance: '/v1/nope' });
  });
});

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body, and refuses the key with another body', async () => {
    const headers = { ...bearer(h.adminKey), 'idempotency-key': 'create-source-1' };
    const a = await h.inject({ method: 'POST', url: '/v1/sources', headers, payload: { name: 'Once', type: 'web' } });
    const b = await h.inject({ method: 'POST', url: '/v1/sources', headers, payload: { name: 'Once', type: 'web' } });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json()).toEqual(a.json());
    const list = (await h.inject({ method: 'GET', url: '/v1/sources', headers: bearer(h.adminKey) })).json().data as { name: string }[];
    expect(list.filter((s) => s.name === 'Once')).toHaveLength(1);
    const c = await h.inject({ method: 'POST', url: '/v1/sources', headers, payload: { name: 'Other', type: 'web' } });
    expect(c.statusCode).toBe(409);
    expect(c.json().code).toBe('IDEMPOTENCY_KEY_CONFLICT');
    // Keys are per tenant: another tenant may use the same key.
    const other = await h.newTenant();
    const d = await h.inject({ method: 'POST', url: '/v1/sources', headers: { ...bearer(other.adminKey), 'idempotency-key': 'create-source-1' }, payload: { name: 'Once', type: 'web' } });
    expect(d.statusCode).toBe(201);
    expect(d.json().id).not.toBe(a.json().id);
  });
});

describe('quarantine review', () => {
  it('fixes a bad phone (reprocessed onto the same customer) and discards another', async () => {
    const src = await makeSource(h);
    await send(h, src.writeKey, [
      { type: 'identify', messageId: 'qf-1', userId: 'qf-user', traits: { phone: '1381234567' } },
      { type: 'identify', messageId: 'qf-2', userId: 'qf-other', traits: { email: 'not-an-email' } },
    ]);
    await h.drain();
    const items = (await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) })).json().data as { id: string; messageId: string; payload: { value: unknown } }[];
    const phoneItem = items.find((i) => i.messageId === 'qf-1');
    const emailItem = items.find((i) => i.messageId === 'qf-2');
    expect(phoneItem?.payload.value).toBe('1381234567');
    const fix = await h.inject({ method: 'POST', url: `/v1/quarantine/${phoneItem?.id}/fix`, headers: bearer(h.adminKey), payload: { payload: '13812345670' } });
    expect(fix.statusCode).toBe(200);
    expect(fix.json().status).toBe('fixed');
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=phone&value=13812345670', headers: bearer(h.adminKey) });
    const u = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=qf-user', headers: bearer(h.adminKey) });
    expect(c.json().id).toBe(u.json().id);
    const dis = await h.inject({ method: 'POST', url: `/v1/quarantine/${emailItem?.id}/discard`, headers: bearer(h.adminKey) });
    expect(dis.json().status).toBe('discarded');
    const again = await h.inject({ method: 'POST', url: `/v1/quarantine/${emailItem?.id}/discard`, headers: bearer(h.adminKey) });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('QUARANTINE_ITEM_RESOLVED');
    const open = (await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) })).json().data as { messageId: string }[];
    expect(open.map((i) => i.messageId)).not.toContain('qf-1');
    const discarded = (await h.inject({ method: 'GET', url: '/v1/quarantine?status=discarded', headers: bearer(h.adminKey) })).json().data;
    expect(discarded).toHaveLength(1);
  });

  it('fixes a whole message that could not be processed', async () => {
    const src = await makeSource(h);
    await send(h, src.writeKey, [{ type: 'track', messageId: 'qm-1', userId: 'qm-user' }]);
    await h.drain();
    const item = ((await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) })).json().data as { id: string; messageId: string; kind: string }[]).find(
      (i) => i.messageId === 'qm-1',
    );
    expect(item?.kind).toBe('message');
    await h.inject({ method: 'POST', url: `/v1/quarantine/${item?.id}/fix`, headers: bearer(h.adminKey), payload: { payload: { type: 'track', userId: 'qm-user', event: 'Fixed Event' } } });
    await h.drain();
    const u = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=qm-user', headers: bearer(h.adminKey) });
    const tl = (await h.inject({ method: 'GET', url: `/v1/customers/${u.json().id}/timeline`, headers: bearer(h.adminKey) })).json();
    expect(tl.data.map((e: { event: string }) => e.event)).toEqual(['Fixed Event']);
  });
});
