import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signIn } from '../../test-support/console-users.js';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';
import { expectProblem } from '../../test-support/problems.js';

let h: Harness;
let connectorId: string;

beforeAll(async () => {
  h = await createHarness();
  const r = await h.inject({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'wechat_miniprogram', name: '商城小程序', config: { appId: 'wx00000000000mapping', appSecret: 'mapping-secret-0123456789' } },
  });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
});
afterAll(async () => {
  await h.close();
});


const preview = (payload: unknown, key = h.adminKey) => h.inject({ method: 'POST', url: '/v1/mappings/preview', headers: bearer(key), payload: payload as Record<string, unknown> });

describe('POST /v1/mappings/preview', () => {
  it('evaluates each field against the sample, with Chinese values and nested targets', async () => {
    const r = await preview({
      mapping: {
        userId: 'buyer.mobile',
        'traits.name': 'buyer.nick',
        'traits.city': 'address.province & address.city',
        'properties.total': '$sum(items.(price * qty))',
      },
      sample: { buyer: { mobile: '13812345678', nick: '小明' }, address: { province: '浙江省', city: '杭州市' }, items: [{ price: 10.5, qty: 2 }, { price: 3, qty: 1 }] },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('application/json');
    expect(r.json()).toEqual({
      output: { userId: '13812345678', traits: { name: '小明', city: '浙江省杭州市' }, properties: { total: 24 } },
      errors: [],
    });
  });

  it('answers per-field errors with the JSONata code, message and position, and the other fields', async () => {
    const r = await preview({ mapping: { ok: '"固定值"', syntax: 'buyer.(', type: 'buyer.nick + 1', loop: '($f := function($n){ $f($n + 1) }; $f(0))' }, sample: { buyer: { nick: '小明' } } });
    expect(r.statusCode).toBe(200);
    const body = r.json<{ output: unknown; errors: { field: string; code: string; message: string; position?: number }[] }>();
    expect(body.output).toEqual({ ok: '固定值' });
    expect(body.errors).toEqual([
      { field: 'syntax', code: 'S0203', message: expect.any(String), position: 7, token: '(end)' },
      { field: 'type', code: 'T2001', message: expect.stringContaining('number'), position: 12, token: '+' },
      // A tail-recursive loop never overflows the stack: only the time limit stops it.
      { field: 'loop', code: 'D1012', message: expect.stringContaining('timeout'), position: expect.any(Number), token: 'f' },
    ]);
  });

  it('accepts any JSON as the sample (an array, a string)', async () => {
    expect((await preview({ mapping: { n: '$count($)' }, sample: [1, 2, 3] })).json()).toEqual({ output: { n: 3 }, errors: [] });
    expect((await preview({ mapping: { s: '$uppercase($)' }, sample: 'abc' })).json()).toEqual({ output: { s: 'ABC' }, errors: [] });
  });

  it('refuses a body without a mapping, and expressions longer than 4,000 characters', async () => {
    expectProblem(await preview({ sample: {} }), 400, 'VALIDATION_FAILED');
    expectProblem(await preview({ mapping: { a: 'x'.repeat(4001) }, sample: {} }), 400, 'VALIDATION_FAILED');
  });

  it('needs connectors.manage: an ops console user is refused, a read-scope key too', async () => {
    await createUser(h, 'ops-mapping@example.com', 'ops');
    const ops = await signIn(h, 'ops-mapping@example.com');
    expectProblem(await ops.inject({ method: 'POST', url: '/v1/mappings/preview', payload: { mapping: {}, sample: {} } }), 403, 'AUTH_PERMISSION_MISSING');
    const key = await h.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(h.adminKey), payload: { name: 'ro', scopes: ['read'] } });
    expect(key.statusCode).toBe(201);
    expectProblem(await preview({ mapping: {}, sample: {} }, key.json<{ key: string }>().key), 403, 'AUTH_SCOPE_MISSING');
  });
});

describe('PUT /v1/connectors/{id}/mapping', () => {
  it('stores a mapping that compiles; GET shows it inside the connector', async () => {
    const mapping = { userId: 'buyer.mobile', 'traits.name': 'buyer.nick' };
    const r = await h.inject({ method: 'PUT', url: `/v1/connectors/${connectorId}/mapping`, headers: bearer(h.adminKey), payload: { mapping } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: connectorId, mapping, config: { appId: 'wx00000000000mapping', appSecret: '********' } });
    const one = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(one.json()).toMatchObject({ mapping });
    const list = await h.inject({ method: 'GET', url: '/v1/connectors', headers: bearer(h.adminKey) });
    expect(list.json<{ data: { mapping: unknown }[] }>().data[0]?.mapping).toEqual(mapping);
  });

  it('refuses a mapping whose expression does not compile: 400 MAPPING_INVALID naming the field and JSONata message; nothing changes', async () => {
    const r = await h.inject({
      method: 'PUT',
      url: `/v1/connectors/${connectorId}/mapping`,
      headers: bearer(h.adminKey),
      payload: { mapping: { ok: 'a', 'traits.城市': 'address.(' } },
    });
    expectProblem(r, 400, 'MAPPING_INVALID');
    const body = r.json<{ detail: string; errors: unknown[]; fieldErrors: unknown[] }>();
    expect(body.detail).toBe('Field "traits.城市": Expected ")" before end of expression (at 9)');
    expect(body.errors).toEqual([{ pointer: '/mapping/traits.城市', message: 'Expected ")" before end of expression' }]);
    expect(body.fieldErrors).toEqual([{ field: 'traits.城市', code: 'S0203', message: 'Expected ")" before end of expression', position: 9, token: '(end)' }]);
    const one = await h.inject({ method: 'GET', url: `/v1/connectors/${connectorId}`, headers: bearer(h.adminKey) });
    expect(one.json<{ mapping: Record<string, string> }>().mapping).toEqual({ userId: 'buyer.mobile', 'traits.name': 'buyer.nick' });
  });

  it('refuses clashing target fields', async () => {
    const r = await h.inject({ method: 'PUT', url: `/v1/connectors/${connectorId}/mapping`, headers: bearer(h.adminKey), payload: { mapping: { traits: 'a', 'traits.city': 'b' } } });
    expectProblem(r, 400, 'MAPPING_INVALID');
    expect(r.json<{ fieldErrors: { code: string }[] }>().fieldErrors[0]?.code).toBe('MAPPING_FIELD_CONFLICT');
  });

  it("answers 404 for another tenant's connector", async () => {
    const other = await h.newTenant();
    const r = await h.inject({ method: 'PUT', url: `/v1/connectors/${connectorId}/mapping`, headers: bearer(other.adminKey), payload: { mapping: {} } });
    expectProblem(r, 404, 'CONNECTOR_NOT_FOUND');
  });
});
