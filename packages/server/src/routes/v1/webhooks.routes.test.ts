import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { generateWebhookSecret } from '../../webhooks/index.js';
import { expectProblem } from '../../test-support/problems.js';

// Every receiver binds to 127.0.0.1 with an OS-assigned port; no test sends traffic anywhere else.

interface Received {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The standardwebhooks library accepted the signature, or the reason it did not. */
  readonly verified: true | string;
}

interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Status codes to answer, in order; when empty, `fallback`. */
  readonly answers: number[];
  fallback: number;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  /** The signing secret the receiver verifies with, set once the subscription exists. */
  secret: string;
}

const servers: Server[] = [];

async function startReceiver(fallback = 200): Promise<Receiver> {
  const state: Receiver = { url: '', requests: [], answers: [], fallback, connections: 0, secret: '' };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      let verified: true | string = true;
      try {
        new Webhook(state.secret).verify(body, headers);
      } catch (e) {
        verified = e instanceof Error ? e.message : String(e);
      }
      state.requests.push({ headers, body, verified });
      res.writeHead(state.answers.shift() ?? state.fallback, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` });
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});


interface DeliveryOut {
  id: string;
  subscriptionId: string;
  eventType: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  latencyMs: number | null;
  deliveredAt: string | null;
}

describe('webhooks', () => {
  let h: Harness;
  // The server clock, moved by hand so that retries become due exactly when a test says so.
  // The tests move it by about 90 s in all: standardwebhooks refuses a webhook-timestamp more
  // than 5 minutes away from the real time.
  let now = Date.now();
  const advance = (ms: number): void => {
    now += ms;
    h.setNow(new Date(now));
  };

  beforeAll(async () => {
    h = await createHarness();
    h.setNow(new Date(now));
  });
  afterAll(async () => {
    await h.close();
  });

  /** A tenant of its own, so that each test sees only its own subscriptions and deliveries. */
  async function tenant() {
    const t = await h.newTenant();
    const source = await makeSource(h, t.adminKey);
    return { ...t, source };
  }

  async function subscribe(adminKey: string, receiver: Receiver, eventTypes: string[]): Promise<{ id: string; secret: string }> {
    const r = await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(adminKey), payload: { url: receiver.url, eventTypes } });
    expect(r.statusCode).toBe(201);
    const body = r.json<{ id: string; secret: string }>();
    receiver.secret = body.secret;
    return body;
  }

  async function deliveries(adminKey: string, subId: string, status?: string): Promise<DeliveryOut[]> {
    const r = await h.inject({ method: 'GET', url: `/v1/webhooks/${subId}/deliveries${status ? `?status=${status}` : ''}`, headers: bearer(adminKey) });
    expect(r.statusCode).toBe(200);
    return r.json<{ data: DeliveryOut[] }>().data;
  }

  it('answers 201 with a whsec_ secret once, and never shows it again', async () => {
    const t = await tenant();
    const receiver = await startReceiver();
    const r = await h.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(t.adminKey),
      payload: { url: receiver.url, eventTypes: ['customer.created'], description: 'CRM' },
    });
    expect(r.statusCode).toBe(201);
    expect(r.headers['content-type']).toContain('application/json');
    const created = r.json<{ id: string; secret: string }>();
    expect(created).toMatchObject({ url: receiver.url, eventTypes: ['customer.created'], description: 'CRM', enabled: true });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

    const list = await h.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(t.adminKey) });
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toEqual([{ id: created.id, url: receiver.url, eventTypes: ['customer.created'], description: 'CRM', enabled: true, createdAt: expect.any(String) }]);
    const one = await h.inject({ method: 'GET', url: `/v1/webhooks/${created.id}`, headers: bearer(t.adminKey) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).not.toHaveProperty('secret');
    expect(one.body).not.toContain(created.secret.slice('whsec_'.length));
    // Stored encrypted: the database does not hold the secret as written.
    const raw = await h.db.query<{ secret_enc: string }>('SELECT secret_enc FROM webhook_subscriptions WHERE id = $1', [created.id]);
    expect(raw.rows[0]?.secret_enc).not.toContain(created.secret.slice('whsec_'.length));
  });

  it('delivers every event type, signed per Standard Webhooks, as {type, timestamp, data}', async () => {
    const t = await tenant();
    const receiver = await startReceiver();
    const all = ['customer.created', 'customer.updated', 'customer.merged', 'customer.unmerged', 'tag.added', 'tag.removed', 'event.received'];
    await subscribe(t.adminKey, receiver, all);

    // customer.created for two customers, event.received for each message.
    await send(h, t.source.writeKey, [
      { type: 'identify', messageId: 'w-1', userId: 'u-1', traits: { name: 'Li Lei' } },
      { type: 'track', messageId: 'w-2', anonymousId: 'anon-1', event: 'Product Viewed' },
    ]);
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=u-1', headers: bearer(t.adminKey) });
    const customerId = c.json<{ id: string }>().id;
    // customer.updated: a new trait for a known customer.
    await send(h, t.source.writeKey, [{ type: 'identify', messageId: 'w-3', userId: 'u-1', traits: { city: 'Hangzhou' } }]);
    await h.drain();
    // customer.merged: one message names both customers.
    await send(h, t.source.writeKey, [{ type: 'identify', messageId: 'w-4', userId: 'u-1', anonymousId: 'anon-1' }]);
    await h.drain();
    const merged = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=anonymous_id&value=anon-1', headers: bearer(t.adminKey) });
    const rootId = merged.json<{ id: string }>().id;
    // customer.unmerged, tag.added, tag.removed through the API.
    // An empty object: without a body the route answers 400 (reported separately, customers.routes.ts).
    const un = await h.inject({ method: 'POST', url: `/v1/customers/${rootId}/unmerge`, headers: bearer(t.adminKey), payload: {} });
    expect(un.statusCode).toBe(200);
    const tagged = await h.inject({ method: 'POST', url: `/v1/customers/${customerId}/tags`, headers: bearer(t.adminKey), payload: { tags: ['VIP'] } });
    expect(tagged.statusCode).toBe(200);
    const untagged = await h.inject({ method: 'DELETE', url: `/v1/customers/${customerId}/tags`, headers: bearer(t.adminKey), payload: { tags: ['VIP'] } });
    expect(untagged.statusCode).toBe(200);
    expect(untagged.json()).toMatchObject({ removed: ['VIP'] });
    await h.drain();

    expect(receiver.requests.length).toBeGreaterThanOrEqual(all.length);
    for (const req of receiver.requests) {
      expect(req.verified).toBe(true);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['webhook-id']).toMatch(/^msg_/);
      expect(req.headers['webhook-signature']).toMatch(/^v1,/);
    }
    const payloads = receiver.requests.map((r) => JSON.parse(r.body) as { type: string; timestamp: string; data: Record<string, unknown> });
    for (const p of payloads) {
      expect(Object.keys(p).sort()).toEqual(['data', 'timestamp', 'type']);
      expect(new Date(p.timestamp).toISOString()).toBe(p.timestamp);
    }
    expect([...new Set(payloads.map((p) => p.type))].sort()).toEqual([...all].sort());
    const byType = (type: string) => payloads.filter((p) => p.type === type).map((p) => p.data);
    expect(byType('customer.created')).toContainEqual({ customerId });
    expect(byType('customer.updated')).toContainEqual({ customerId });
    expect(byType('customer.merged')).toEqual([expect.objectContaining({ customerId: rootId, identifierType: expect.any(String), mergeId: expect.any(String) })]);
    expect(byType('customer.unmerged')).toEqual([expect.objectContaining({ customerId: rootId, mergeId: byType('customer.merged')[0]?.['mergeId'] })]);
    expect(byType('tag.added')).toEqual([{ customerId, tag: 'VIP', source: 'manual' }]);
    expect(byType('tag.removed')).toEqual([{ customerId, tag: 'VIP', source: 'manual' }]);
    expect(byType('event.received').map((d) => (d['event'] as { messageId: string }).messageId).sort()).toEqual(['w-1', 'w-2', 'w-3', 'w-4']);
    // One message per event and subscription: no webhook-id is used twice.
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sends a subscription only the event types it subscribed to', async () => {
    const t = await tenant();
    const tags = await startReceiver();
    const events = await startReceiver();
    await subscribe(t.adminKey, tags, ['tag.added']);
    await subscribe(t.adminKey, events, ['event.received']);
    await send(h, t.source.writeKey, [{ type: 'track', messageId: 'f-1', userId: 'u-f', event: 'Clicked' }]);
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=u-f', headers: bearer(t.adminKey) });
    await h.inject({ method: 'POST', url: `/v1/customers/${c.json().id}/tags`, headers: bearer(t.adminKey), payload: { tags: ['gold'] } });
    await h.drain();
    expect(tags.requests.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['tag.added']);
    expect(events.requests.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['event.received']);
  });

  it('retries a failed delivery under the same webhook-id with the same body, and logs each attempt', async () => {
    const t = await tenant();
    const receiver = await startReceiver();
    receiver.answers.push(500);
    const sub = await subscribe(t.adminKey, receiver, ['event.received']);
    await send(h, t.source.writeKey, [{ type: 'track', messageId: 'r-1', userId: 'u-r', event: 'Clicked' }]);
    await h.drain();
    expect(receiver.requests).toHaveLength(1);
    const [pending] = await deliveries(t.adminKey, sub.id);
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'HTTP 500', deliveredAt: null });
    // The first step of the schedule (1s), without jitter (the harness draws 0.5), on the server clock.
    expect(pending?.nextAttemptAt).toBe(new Date(now + 1000).toISOString());

    // Not due yet: draining again sends nothing.
    await h.drain();
    expect(receiver.requests).toHaveLength(1);
    advance(1500);
    await h.drain();
    expect(receiver.requests).toHaveLength(2);
    const [first, second] = receiver.requests;
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(second?.body).toBe(first?.body);
    expect(second?.verified).toBe(true);

    const [done] = await deliveries(t.adminKey, sub.id);
    expect(done).toMatchObject({ id: first?.headers['webhook-id'], status: 'succeeded', attempts: 2, lastStatus: 200, lastError: null, nextAttemptAt: null });
    expect(done?.deliveredAt).not.toBeNull();
    const detail = await h.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}/deliveries/${done?.id}`, headers: bearer(t.adminKey) });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({
      id: done?.id,
      status: 'succeeded',
      payload: JSON.parse(first?.body ?? '{}') as unknown,
      attemptsLog: [
        { attempt: 1, statusCode: 500, error: 'HTTP 500', latencyMs: expect.any(Number) },
        { attempt: 2, statusCode: 200, error: null, latencyMs: expect.any(Number) },
      ],
    });
  });

  it('dead-letters a delivery once the schedule is spent, and replays it, one or all, under the same webhook-id', async () => {
    const t = await tenant();
    const receiver = await startReceiver(500);
    const sub = await subscribe(t.adminKey, receiver, ['event.received']);
    await send(h, t.source.writeKey, [
      { type: 'track', messageId: 'd-1', userId: 'u-d', event: 'Clicked' },
      { type: 'track', messageId: 'd-2', userId: 'u-d', event: 'Clicked' },
    ]);
    await h.drain();
    // Schedule 1s,2s,3s: the first attempt and three retries, then dead letter.
    for (const step of [1000, 2000, 3000]) {
      advance(step + 100);
      await h.drain();
    }
    expect(receiver.requests).toHaveLength(8);
    advance(60_000);
    await h.drain();
    expect(receiver.requests).toHaveLength(8);

    const dead = await deliveries(t.adminKey, sub.id, 'dead');
    expect(dead).toHaveLength(2);
    for (const d of dead) {
      expect(d).toMatchObject({ status: 'dead', attempts: 4, lastStatus: 500, lastError: 'HTTP 500', nextAttemptAt: null, deliveredAt: null });
      expect(d.latencyMs).toEqual(expect.any(Number));
    }
    expect(await deliveries(t.adminKey, sub.id, 'pending')).toEqual([]);
    const [one, other] = dead as [DeliveryOut, DeliveryOut];
    const sentIds = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(sentIds.filter((id) => id === one.id)).toHaveLength(4);

    // Replay one: sent at once, under its webhook-id, and logged as attempt 5.
    receiver.fallback = 200;
    const replay = await h.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/deliveries/${one.id}/replay`, headers: bearer(t.adminKey) });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toMatchObject({ id: one.id, status: 'pending', attempts: 4 });
    await h.drain();
    expect(receiver.requests).toHaveLength(9);
    expect(receiver.requests[8]?.headers['webhook-id']).toBe(one.id);
    expect(receiver.requests[8]?.verified).toBe(true);
    const detail = await h.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}/deliveries/${one.id}`, headers: bearer(t.adminKey) });
    expect(detail.json()).toMatchObject({ status: 'succeeded', attempts: 5, lastStatus: 200 });
    expect(detail.json().attemptsLog.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 500],
      [5, 200],
    ]);

    // Replay all: only what is dead (the other one) goes again.
    const all = await h.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/replay`, headers: bearer(t.adminKey) });
    expect(all.statusCode).toBe(202);
    expect(all.json()).toEqual({ replayed: 1 });
    await h.drain();
    expect(receiver.requests).toHaveLength(10);
    expect(receiver.requests[9]?.headers['webhook-id']).toBe(other.id);
    expect(await deliveries(t.adminKey, sub.id, 'dead')).toEqual([]);
    expect((await deliveries(t.adminKey, sub.id, 'succeeded')).map((d) => d.id).sort()).toEqual([one.id, other.id].sort());
  });

  it('restarts the retry schedule after a replay that fails again', async () => {
    // A replay that fails is retried on the schedule from its first step, not dead at once.
    const t = await tenant();
    const receiver = await startReceiver(500);
    const sub = await subscribe(t.adminKey, receiver, ['event.received']);
    await send(h, t.source.writeKey, [{ type: 'track', messageId: 'rr-1', userId: 'u-rr', event: 'Clicked' }]);
    await h.drain();
    for (const step of [1000, 2000, 3000]) {
      advance(step + 100);
      await h.drain();
    }
    const [dead] = await deliveries(t.adminKey, sub.id, 'dead');
    expect(dead?.attempts).toBe(4);
    const replay = await h.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/deliveries/${dead?.id}/replay`, headers: bearer(t.adminKey) });
    expect(replay.statusCode).toBe(202);
    await h.drain();
    const [again] = await deliveries(t.adminKey, sub.id);
    expect(again).toMatchObject({ status: 'pending', attempts: 5 });
    for (const step of [1000, 2000, 3000]) {
      advance(step + 100);
      await h.drain();
    }
    const [deadAgain] = await deliveries(t.adminKey, sub.id);
    expect(deadAgain).toMatchObject({ status: 'dead', attempts: 8 });
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([dead?.id]));
  });

  it('sends nothing to a disabled subscription, not even retries, and resumes once it is enabled', async () => {
    // Disabling is how an operator stops traffic to a receiver; pending retries used to go on.
    const t = await tenant();
    const receiver = await startReceiver();
    receiver.answers.push(500);
    const sub = await subscribe(t.adminKey, receiver, ['event.received']);
    await send(h, t.source.writeKey, [{ type: 'track', messageId: 'x-1', userId: 'u-x', event: 'Clicked' }]);
    await h.drain();
    expect(receiver.requests).toHaveLength(1);
    const off = await h.inject({ method: 'PATCH', url: `/v1/webhooks/${sub.id}`, headers: bearer(t.adminKey), payload: { enabled: false } });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ id: sub.id, enabled: false });
    advance(10_000);
    await h.drain();
    expect(receiver.requests).toHaveLength(1);
    // New events are not queued for it either.
    await send(h, t.source.writeKey, [{ type: 'track', messageId: 'x-2', userId: 'u-x', event: 'Clicked' }]);
    await h.drain();
    expect(await deliveries(t.adminKey, sub.id)).toHaveLength(1);
    expect((await deliveries(t.adminKey, sub.id))[0]).toMatchObject({ status: 'pending', attempts: 1 });

    const on = await h.inject({ method: 'PATCH', url: `/v1/webhooks/${sub.id}`, headers: bearer(t.adminKey), payload: { enabled: true } });
    expect(on.json()).toMatchObject({ enabled: true });
    await h.drain();
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]?.headers['webhook-id']).toBe(receiver.requests[0]?.headers['webhook-id']);
    expect((await deliveries(t.adminKey, sub.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('answers an unknown delivery or subscription with a 404 problem', async () => {
    const t = await tenant();
    const receiver = await startReceiver();
    const sub = await subscribe(t.adminKey, receiver, ['event.received']);
    expectProblem(await h.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}/deliveries/msg_nope`, headers: bearer(t.adminKey) }), 404, 'WEBHOOK_DELIVERY_NOT_FOUND');
    expectProblem(await h.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/deliveries/msg_nope/replay`, headers: bearer(t.adminKey) }), 404, 'WEBHOOK_DELIVERY_NOT_FOUND');
    expectProblem(await h.inject({ method: 'GET', url: '/v1/webhooks/whk_nope/deliveries', headers: bearer(t.adminKey) }), 404, 'WEBHOOK_NOT_FOUND');
    expectProblem(await h.inject({ method: 'POST', url: '/v1/webhooks/whk_nope/replay', headers: bearer(t.adminKey) }), 404, 'WEBHOOK_NOT_FOUND');
    // Another tenant's subscription does not exist for this one.
    const other = await h.newTenant();
    expectProblem(await h.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}`, headers: bearer(other.adminKey) }), 404, 'WEBHOOK_NOT_FOUND');
  });

  it('refuses a key without the admin scope with 403 AUTH_SCOPE_MISSING', async () => {
    const t = await tenant();
    const k = await h.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(t.adminKey), payload: { name: 'reader', scopes: ['read'] } });
    expect(k.statusCode).toBe(201);
    const readKey = k.json<{ key: string }>().key;
    expectProblem(
      await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(readKey), payload: { url: 'http://127.0.0.1:1/x', eventTypes: ['tag.added'] } }),
      403,
      'AUTH_SCOPE_MISSING',
    );
    expectProblem(await h.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(readKey) }), 403, 'AUTH_SCOPE_MISSING');
    expectProblem(await h.inject({ method: 'GET', url: '/v1/webhooks' }), 401, 'AUTH_REQUIRED');
  });

  it('honours Idempotency-Key: the same body replays the response, another body is a 409', async () => {
    const t = await tenant();
    const receiver = await startReceiver();
    const payload = { url: receiver.url, eventTypes: ['tag.added'] };
    const headers = { ...bearer(t.adminKey), 'idempotency-key': 'create-hook-1' };
    const first = await h.inject({ method: 'POST', url: '/v1/webhooks', headers, payload });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await h.inject({ method: 'POST', url: '/v1/webhooks', headers, payload });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const conflict = await h.inject({ method: 'POST', url: '/v1/webhooks', headers, payload: { ...payload, eventTypes: ['tag.removed'] } });
    expectProblem(conflict, 409, 'IDEMPOTENCY_KEY_CONFLICT');
    const list = await h.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(t.adminKey) });
    expect(list.json().data.map((s: { id: string }) => s.id)).toEqual([first.json().id]);
  });

  it('validates the body: an unknown event type is a 400 VALIDATION_FAILED', async () => {
    const t = await tenant();
    const r = await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(t.adminKey), payload: { url: 'http://127.0.0.1:1/x', eventTypes: ['order.shipped'] } });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    const bad = await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(t.adminKey), payload: { url: 'ftp://127.0.0.1/x', eventTypes: ['tag.added'] } });
    expectProblem(bad, 400, 'WEBHOOK_URL_INVALID');
  });
});

describe('webhooks without private networks (SSRF guard)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { DATONG_ALLOW_PRIVATE_NETWORK: '0' } });
    // A fixed clock: a failed attempt's retry is never due while the test drains.
    h.setNow(new Date());
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(['http://127.0.0.1:1/x', 'http://localhost/x', 'http://[::1]:1/x', 'http://169.254.169.254/latest/meta-data'])(
    'refuses %s with 403 WEBHOOK_URL_FORBIDDEN',
    async (url) => {
      const r = await h.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(h.adminKey), payload: { url, eventTypes: ['tag.added'] } });
      expectProblem(r, 403, 'WEBHOOK_URL_FORBIDDEN');
      const list = await h.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(h.adminKey) });
      expect(list.json().data).toEqual([]);
    },
  );

  it('refuses to move an existing subscription to a loopback URL', async () => {
    // Rows written directly stand in for a subscription made while the guard allowed it.
    await h.db.query(
      `INSERT INTO webhook_subscriptions (tenant_id, id, url, event_types, secret_enc, created_at, updated_at)
       VALUES ('ten_default', 'whk_seed', 'https://hooks.example.com/in', ARRAY['tag.added'], 'x', now(), now())`,
    );
    const r = await h.inject({ method: 'PATCH', url: '/v1/webhooks/whk_seed', headers: bearer(h.adminKey), payload: { url: 'http://127.0.0.1:1/x' } });
    expectProblem(r, 403, 'WEBHOOK_URL_FORBIDDEN');
    const one = await h.inject({ method: 'GET', url: '/v1/webhooks/whk_seed', headers: bearer(h.adminKey) });
    expect(one.json().url).toBe('https://hooks.example.com/in');
  });

  it('refuses at delivery time a stored loopback URL, without opening a connection', async () => {
    // The URL was checked when saved; the guard must hold at connect time too (a setting
    // changed since, or a name that now resolves to loopback).
    const receiver = await startReceiver();
    const secret = generateWebhookSecret();
    receiver.secret = secret;
    await h.db.query(
      `INSERT INTO webhook_subscriptions (tenant_id, id, url, event_types, secret_enc, created_at, updated_at)
       VALUES ('ten_default', 'whk_loopback', $1, ARRAY['event.received'], $2, now(), now())`,
      [receiver.url, h.datong.deps.keyring.encrypt(secret)],
    );
    const source = await makeSource(h);
    await send(h, source.writeKey, [{ type: 'track', messageId: 's-1', userId: 'u-s', event: 'Clicked' }]);
    await h.drain();
    const r = await h.inject({ method: 'GET', url: '/v1/webhooks/whk_loopback/deliveries', headers: bearer(h.adminKey) });
    expect(r.statusCode).toBe(200);
    const [d] = r.json<{ data: DeliveryOut[] }>().data;
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null });
    expect(d?.lastError).toMatch(/^WEBHOOK_URL_FORBIDDEN: /);
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toEqual([]);
  });
});
