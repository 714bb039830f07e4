import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';
import { expectProblem } from '../../test-support/problems.js';

const SECRET = 'template-secret-9f8e7d6c5b4a';
const APP_ID = 'wx0000000000template';

let h: Harness;
let connectorId: string;
const mapping = { userId: 'buyer.mobile', 'traits.name': 'buyer.nick & "（会员）"' };

beforeAll(async () => {
  h = await createHarness();
  const r = await h.inject({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'wechat_miniprogram', name: '旗舰店小程序', config: { appId: APP_ID, appSecret: SECRET } },
  });
  expect(r.statusCode).toBe(201);
  connectorId = r.json<{ id: string }>().id;
  const m = await h.inject({ method: 'PUT', url: `/v1/connectors/${connectorId}/mapping`, headers: bearer(h.adminKey), payload: { mapping } });
  expect(m.statusCode).toBe(200);
});
afterAll(async () => {
  await h.close();
});


interface Template {
  format: string;
  version: number;
  platform: string;
  name: string;
  config: Record<string, unknown>;
  secrets: string[];
  mapping: Record<string, string>;
}

async function exportTemplate(key = h.adminKey, id = connectorId): Promise<LightMyRequestResponse> {
  return h.inject({ method: 'GET', url: `/v1/connectors/${id}/template`, headers: bearer(key) });
}

const importTemplate = (payload: Record<string, unknown>, headers: Record<string, string> = {}, key = h.adminKey) =>
  h.inject({ method: 'POST', url: '/v1/connectors/import', headers: { ...bearer(key), ...headers }, payload });

describe('GET /v1/connectors/{id}/template', () => {
  it('answers a JSON attachment with platform, name, config and mapping, and no secret anywhere', async () => {
    const r = await exportTemplate();
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('application/json');
    expect(r.headers['content-disposition']).toBe(
      `attachment; filename="${connectorId}.datong-connector.json"; filename*=UTF-8''${encodeURIComponent('旗舰店小程序.datong-connector.json')}`,
    );
    expect(r.json()).toEqual({
      format: 'datong.connector-template',
      version: 1,
      platform: 'wechat_miniprogram',
      name: '旗舰店小程序',
      config: { appId: APP_ID, apiBase: 'https://api.weixin.qq.com' },
      secrets: ['appSecret'],
      mapping,
      exportedAt: expect.any(String),
    });
    // Neither the secret nor its mask: the template says only which secrets to supply.
    expect(r.body).not.toContain(SECRET);
    expect(r.body).not.toContain('********');
    expect(JSON.stringify(r.headers)).not.toContain(SECRET);
  });

  it("answers 404 for another tenant's connector", async () => {
    const other = await h.newTenant();
    expectProblem(await exportTemplate(other.adminKey), 404, 'CONNECTOR_NOT_FOUND');
  });
});

describe('POST /v1/connectors/import', () => {
  it('round-trips: the imported connector has the config, the mapping and the secret given on import', async () => {
    const template = (await exportTemplate()).json<Template>();
    const other = await h.newTenant();
    const r = await importTemplate({ template, secrets: { appSecret: 'another-secret-for-tenant-b' } }, {}, other.adminKey);
    expect(r.statusCode).toBe(201);
    const created = r.json<{ id: string; sourceId: string; config: Record<string, unknown>; mapping: unknown }>();
    expect(created).toMatchObject({
      platform: 'wechat_miniprogram',
      name: '旗舰店小程序',
      enabled: true,
      config: { appId: APP_ID, apiBase: 'https://api.weixin.qq.com', appSecret: '********' },
      mapping,
    });
    expect(created.id).not.toBe(connectorId);
    expect(r.body).not.toContain('another-secret-for-tenant-b');
    // Stored encrypted, and with the secret given, not the original tenant's.
    const row = await h.db.query<{ config_enc: string; tenant_id: string }>('SELECT config_enc, tenant_id FROM connectors WHERE id = $1', [created.id]);
    expect(row.rows[0]?.tenant_id).toBe(other.tenantId);
    expect(row.rows[0]?.config_enc).not.toContain('another-secret-for-tenant-b');
    expect(JSON.parse(h.datong.deps.keyring.decrypt(row.rows[0]?.config_enc ?? ''))).toEqual({ appId: APP_ID, appSecret: 'another-secret-for-tenant-b', apiBase: 'https://api.weixin.qq.com' });
    // It has a source of its own, like a connector added by hand.
    const sources = await h.inject({ method: 'GET', url: '/v1/sources', headers: bearer(other.adminKey) });
    expect(sources.json<{ data: { id: string; type: string }[] }>().data).toEqual([expect.objectContaining({ id: created.sourceId, type: 'miniprogram' })]);
    // Exporting the copy gives the same template again.
    const again = (await exportTemplate(other.adminKey, created.id)).json<Template & { exportedAt?: string }>();
    const { exportedAt: _a, ...a } = again;
    const { exportedAt: _b, ...b } = template as Template & { exportedAt?: string };
    expect(a).toEqual(b);
  });

  it('takes a new name, and honours Idempotency-Key (one connector for two identical requests)', async () => {
    const template = (await exportTemplate()).json<Template>();
    const t = await h.newTenant();
    const body = { template, secrets: { appSecret: SECRET }, name: '副本' };
    const first = await importTemplate(body, { 'idempotency-key': 'import-1' }, t.adminKey);
    const second = await importTemplate(body, { 'idempotency-key': 'import-1' }, t.adminKey);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    expect(first.json()).toMatchObject({ name: '副本' });
    const list = await h.inject({ method: 'GET', url: '/v1/connectors', headers: bearer(t.adminKey) });
    expect(list.json<{ data: unknown[] }>().data).toHaveLength(1);
  });

  it('refuses a template that carries a secret, an unknown secret, a missing secret and a mapping that does not compile', async () => {
    const template = (await exportTemplate()).json<Template>();
    const t = await h.newTenant();
    const withSecret = await importTemplate({ template: { ...template, config: { ...template.config, appSecret: SECRET } }, secrets: {} }, {}, t.adminKey);
    expectProblem(withSecret, 400, 'CONNECTOR_TEMPLATE_INVALID');
    expect(withSecret.body).not.toContain(SECRET);
    expectProblem(await importTemplate({ template, secrets: { appSecret: SECRET, token: 'x' } }, {}, t.adminKey), 400, 'CONNECTOR_TEMPLATE_INVALID');
    const missing = await importTemplate({ template }, {}, t.adminKey);
    expectProblem(missing, 400, 'CONNECTOR_CONFIG_INVALID');
    expect(missing.json<{ errors: { pointer: string }[] }>().errors).toEqual([{ pointer: '/appSecret', message: expect.any(String) }]);
    const badMapping = await importTemplate({ template: { ...template, mapping: { x: '$$$(' } }, secrets: { appSecret: SECRET } }, {}, t.adminKey);
    expectProblem(badMapping, 400, 'MAPPING_INVALID');
    expect(badMapping.json<{ errors: { pointer: string }[] }>().errors[0]?.pointer).toBe('/template/mapping/x');
    expectProblem(await importTemplate({ template: { ...template, platform: 'tmall' }, secrets: {} }, {}, t.adminKey), 400, 'CONNECTOR_PLATFORM_UNKNOWN');
    expectProblem(await importTemplate({ template: { ...template, format: 'something-else' }, secrets: {} }, {}, t.adminKey), 400, 'VALIDATION_FAILED');
    // Nothing was created by the refused imports.
    const list = await h.inject({ method: 'GET', url: '/v1/connectors', headers: bearer(t.adminKey) });
    expect(list.json<{ data: unknown[] }>().data).toEqual([]);
  });

  it('never writes the secret to the log or the audit log', async () => {
    const template = (await exportTemplate()).json<Template>();
    const t = await h.newTenant();
    expect((await importTemplate({ template, secrets: { appSecret: 'log-probe-secret-123456' } }, {}, t.adminKey)).statusCode).toBe(201);
    expect(h.logs.join('\n')).not.toContain('log-probe-secret-123456');
    const audit = await h.db.query<{ action: string; details: unknown }>('SELECT action, details FROM audit_log WHERE tenant_id = $1', [t.tenantId]);
    expect(audit.rows.map((a) => a.action)).toContain('POST /v1/connectors/import');
    expect(JSON.stringify(audit.rows)).not.toContain('log-probe-secret-123456');
  });
});
