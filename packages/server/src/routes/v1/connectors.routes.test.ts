import { createCipheriv } from 'node:crypto';
import { startFakeWechatServer, type FakeWechatServer } from '@datong/connectors';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { expectProblem } from '../../test-support/problems.js';

// The fake WeChat servers bind to 127.0.0.1 with an OS-assigned port.

const APP_A = { appId: 'wx0000000000aaaaaa', appSecret: 'app-secret-a-0123456789' };
const APP_B = { appId: 'wx0000000000bbbbbb', appSecret: 'app-secret-b-0123456789' };

let h: Harness;
let fakeA: FakeWechatServer;
let fakeB: FakeWechatServer;
let connectorA: string;
let connectorB: string;
/** Every response body of this file, to show that no session_key ever leaves the server. */
const bodies: string[] = [];

async function call(opts: InjectOptions): Promise<LightMyRequestResponse> {
  const r = await h.inject(opts);
  bodies.push(r.body);
  return r;
}


/** Session keys are 16 random bytes in base64; fixed ones keep the tampering test deterministic. */
const sessionKey = (n: number): string => Buffer.alloc(16, n).toString('base64');
const IV = Buffer.alloc(16, 0x2a);

/** Open data as wx.getPhoneNumber's old encryptedData flow returns it: AES-128-CBC, PKCS#7. */
function encryptOpenData(key: string, data: unknown): { encryptedData: string; iv: string } {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(key, 'base64'), IV);
  const encryptedData = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]).toString('base64');
  return { encryptedData, iv: IV.toString('base64') };
}

const phoneData = (appid: string, phone = '13812345678') => ({
  phoneNumber: phone,
  purePhoneNumber: phone,
  countryCode: '86',
  watermark: { appid, timestamp: 1_700_000_000 },
});

async function login(connectorId: string, fake: FakeWechatServer, code: string, session: { openid: string; sessionKey: string; unionid?: string }) {
  fake.addCode(code, session);
  const r = await call({ method: 'POST', url: `/v1/miniprogram/${connectorId}/login`, payload: { code } });
  expect(r.statusCode).toBe(200);
  return r.json<{ token: string; customerId: string; expiresIn: number }>();
}

async function lookup(query: string): Promise<LightMyRequestResponse> {
  return call({ method: 'GET', url: `/v1/customers/lookup?${query}`, headers: bearer(h.adminKey) });
}

beforeAll(async () => {
  h = await createHarness();
  fakeA = await startFakeWechatServer(APP_A);
  fakeB = await startFakeWechatServer(APP_B);
  const a = await call({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'wechat_miniprogram', config: { ...APP_A, apiBase: fakeA.url } },
  });
  const b = await call({
    method: 'POST',
    url: '/v1/connectors',
    headers: bearer(h.adminKey),
    payload: { platform: 'wechat_miniprogram', name: 'Mall B', config: { ...APP_B, apiBase: fakeB.url } },
  });
  connectorA = a.json<{ id: string }>().id;
  connectorB = b.json<{ id: string }>().id;
});
afterAll(async () => {
  await fakeA.close();
  await fakeB.close();
  await h.close();
});

describe('POST /v1/connectors', () => {
  it('answers 201 with the AppSecret masked, and never returns it', async () => {
    const r = await call({ method: 'GET', url: `/v1/connectors/${connectorA}`, headers: bearer(h.adminKey) });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      id: connectorA,
      platform: 'wechat_miniprogram',
      name: `WeChat mini-program ${APP_A.appId}`,
      config: { appId: APP_A.appId, appSecret: '********', apiBase: fakeA.url },
      enabled: true,
      sourceId: expect.any(String),
    });
    const created = await call({
      method: 'POST',
      url: '/v1/connectors',
      headers: bearer(h.adminKey),
      payload: { platform: 'wechat_miniprogram', name: 'Spare', config: { appId: 'wx_spare', appSecret: 'spare-secret-xyz' } },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().config).toEqual({ appId: 'wx_spare', appSecret: '********', apiBase: 'https://api.weixin.qq.com' });
    const list = await call({ method: 'GET', url: '/v1/connectors', headers: bearer(h.adminKey) });
    expect(list.body).not.toContain('spare-secret-xyz');
    expect(list.body).not.toContain(APP_A.appSecret);
    // Stored encrypted.
    const raw = await h.db.query<{ config_enc: string }>('SELECT config_enc FROM connectors');
    for (const row of raw.rows) expect(row.config_enc).not.toContain('secret');
  });

  it('refuses a config without appSecret with 400 CONNECTOR_CONFIG_INVALID, naming the field only', async () => {
    const r = await call({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'wechat_miniprogram', config: { appId: 'wx_x' } } });
    expectProblem(r, 400, 'CONNECTOR_CONFIG_INVALID');
    expect(r.json().errors).toEqual([{ pointer: '/appSecret', message: expect.any(String) }]);
  });

  it('refuses an unknown platform with 400 CONNECTOR_PLATFORM_UNKNOWN', async () => {
    const r = await call({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'douyin_miniapp', config: { appId: 'x', appSecret: 'y' } } });
    expectProblem(r, 400, 'CONNECTOR_PLATFORM_UNKNOWN');
  });

  it('refuses a key without the admin scope', async () => {
    const k = await call({ method: 'POST', url: '/v1/api-keys', headers: bearer(h.adminKey), payload: { name: 'writer', scopes: ['write'] } });
    const r = await call({ method: 'POST', url: '/v1/connectors', headers: bearer(k.json().key), payload: { platform: 'wechat_miniprogram', config: APP_A } });
    expectProblem(r, 403, 'AUTH_SCOPE_MISSING');
  });
});

describe('POST /v1/miniprogram/{id}/login', () => {
  it('links openid (collection = appId) and unionid to one customer and answers a token, with no API key', async () => {
    const key = sessionKey(1);
    const r = await login(connectorA, fakeA, 'code-login-1', { openid: 'o-login-1', sessionKey: key, unionid: 'u-login-1' });
    expect(r).toEqual({ token: expect.stringMatching(/^dct_/), customerId: expect.stringMatching(/^cus_/), expiresIn: expect.any(Number) });
    const c = await call({ method: 'GET', url: `/v1/customers/${r.customerId}`, headers: bearer(h.adminKey) });
    expect(c.json().identities.map((i: { type: string; collection: string | null; value: string }) => [i.type, i.collection, i.value]).sort()).toEqual([
      ['wechat_openid', APP_A.appId, 'o-login-1'],
      ['wechat_unionid', null, 'u-login-1'],
    ]);
    const byOpenid = await lookup(`type=wechat_openid&value=o-login-1&collection=${APP_A.appId}`);
    expect(byOpenid.json().id).toBe(r.customerId);
    // The same openid under another app is another identifier.
    expectProblem(await lookup(`type=wechat_openid&value=o-login-1&collection=${APP_B.appId}`), 404, 'IDENTITY_NOT_FOUND');

    // A second login of the same user is the same customer.
    const again = await login(connectorA, fakeA, 'code-login-2', { openid: 'o-login-1', sessionKey: sessionKey(2), unionid: 'u-login-1' });
    expect(again.customerId).toBe(r.customerId);

    // The session_key is stored encrypted and never answered.
    const stored = await h.db.query<{ session_key_enc: string }>('SELECT session_key_enc FROM wechat_sessions WHERE openid = $1', ['o-login-1']);
    expect(stored.rows).toHaveLength(1);
    const raw = stored.rows[0]?.session_key_enc ?? '';
    for (const k of [key, sessionKey(2)]) {
      expect(raw).not.toContain(k);
      expect(raw).not.toContain(Buffer.from(k, 'base64').toString('hex'));
    }
  });

  it('answers a code WeChat rejects with 400 WECHAT_CODE_INVALID, and a used code likewise', async () => {
    expectProblem(await call({ method: 'POST', url: `/v1/miniprogram/${connectorA}/login`, payload: { code: 'never-issued' } }), 400, 'WECHAT_CODE_INVALID');
    await login(connectorA, fakeA, 'code-once', { openid: 'o-once', sessionKey: sessionKey(3) });
    expectProblem(await call({ method: 'POST', url: `/v1/miniprogram/${connectorA}/login`, payload: { code: 'code-once' } }), 400, 'WECHAT_CODE_INVALID');
  });

  it('answers an unknown connector with 404 CONNECTOR_NOT_FOUND', async () => {
    expectProblem(await call({ method: 'POST', url: '/v1/miniprogram/con_nope/login', payload: { code: 'x' } }), 404, 'CONNECTOR_NOT_FOUND');
  });
});

describe('POST /v1/miniprogram/{id}/decrypt', () => {
  it('merges the mini-program customer with the CRM customer who has the same phone', async () => {
    // The key scenario of the issue: a customer known only from the CRM (user id and phone,
    // written with spaces and the country code) logs into the mall and shares the phone.
    const crm = await makeSource(h, h.adminKey, 'crm');
    const sent = await send(h, crm.writeKey, [{ type: 'identify', messageId: 'crm-m-1', userId: 'crm-1', traits: { phone: '+86 138 1234 5678', name: 'Wang Fang' } }]);
    expect(sent.statusCode).toBe(200);
    await h.drain();
    const before = await lookup('type=phone&value=13812345678');
    expect(before.statusCode).toBe(200);
    const crmCustomer = before.json<{ id: string }>().id;

    const key = sessionKey(4);
    const session = await login(connectorA, fakeA, 'code-merge', { openid: 'o-merge', sessionKey: key, unionid: 'u-merge' });
    expect(session.customerId).not.toBe(crmCustomer);

    const r = await call({
      method: 'POST',
      url: `/v1/miniprogram/${connectorA}/decrypt`,
      headers: bearer(session.token),
      payload: encryptOpenData(key, phoneData(APP_A.appId)),
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ customerId: expect.any(String), data: { phoneNumber: '13812345678', purePhoneNumber: '13812345678', countryCode: '86' } });

    const byOpenid = await lookup(`type=wechat_openid&value=o-merge&collection=${APP_A.appId}`);
    const byPhone = await lookup('type=phone&value=%2B8613812345678');
    const byUser = await lookup('type=user_id&value=crm-1');
    expect(byOpenid.statusCode).toBe(200);
    expect(byOpenid.json().id).toBe(byPhone.json().id);
    expect(byUser.json().id).toBe(byPhone.json().id);
    expect(r.json().customerId).toBe(byPhone.json().id);
    const customer = byPhone.json<{
      traits: Record<string, unknown>;
      identities: { type: string; value: string }[];
      merges: { fromCustomerId: string; intoCustomerId: string; identifierType: string; unmergedAt: string | null }[];
    }>();
    expect(customer.traits).toMatchObject({ name: 'Wang Fang' });
    expect(customer.identities.map((i) => `${i.type}:${i.value}`).sort()).toEqual(['phone:+8613812345678', 'user_id:crm-1', 'wechat_openid:o-merge', 'wechat_unionid:u-merge']);
    expect(customer.merges).toHaveLength(1);
    // The phone ranks above the openid, so the CRM customer stays the root; the merge records
    // the message's identifier that reached the customer merged away (the openid).
    expect(customer.merges[0]).toMatchObject({ fromCustomerId: session.customerId, intoCustomerId: crmCustomer, identifierType: 'wechat_openid', unmergedAt: null });
    expect(byPhone.json().id).toBe(crmCustomer);

    // The mall's token keeps working for the merged customer.
    const me = await call({ method: 'GET', url: `/v1/miniprogram/${connectorA}/me`, headers: bearer(session.token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().customerId).toBe(byPhone.json().id);
  });

  it('refuses data whose watermark names another app with 403 WECHAT_WATERMARK_MISMATCH, linking nothing', async () => {
    const key = sessionKey(5);
    const session = await login(connectorA, fakeA, 'code-wm', { openid: 'o-wm', sessionKey: key });
    const r = await call({
      method: 'POST',
      url: `/v1/miniprogram/${connectorA}/decrypt`,
      headers: bearer(session.token),
      payload: encryptOpenData(key, phoneData(APP_B.appId, '13912345678')),
    });
    expectProblem(r, 403, 'WECHAT_WATERMARK_MISMATCH');
    expectProblem(await lookup('type=phone&value=13912345678'), 404, 'IDENTITY_NOT_FOUND');
  });

  it('refuses tampered data with 400 WECHAT_DECRYPT_FAILED', async () => {
    const key = sessionKey(6);
    const session = await login(connectorA, fakeA, 'code-tamper', { openid: 'o-tamper', sessionKey: key });
    const good = encryptOpenData(key, phoneData(APP_A.appId, '13712345678'));
    // AES-CBC has no integrity check: a changed byte in the last block breaks the padding.
    const bytes = Buffer.from(good.encryptedData, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    const tampered = { ...good, encryptedData: bytes.toString('base64') };
    const url = `/v1/miniprogram/${connectorA}/decrypt`;
    expectProblem(await call({ method: 'POST', url, headers: bearer(session.token), payload: tampered }), 400, 'WECHAT_DECRYPT_FAILED');
    // Encrypted with another user's session key.
    const otherKey = encryptOpenData(sessionKey(99), phoneData(APP_A.appId, '13712345678'));
    expectProblem(await call({ method: 'POST', url, headers: bearer(session.token), payload: otherKey }), 400, 'WECHAT_DECRYPT_FAILED');
    const truncated = { ...good, encryptedData: bytes.subarray(0, bytes.length - 3).toString('base64') };
    expectProblem(await call({ method: 'POST', url, headers: bearer(session.token), payload: truncated }), 400, 'WECHAT_DECRYPT_FAILED');
    expectProblem(await lookup('type=phone&value=13712345678'), 404, 'IDENTITY_NOT_FOUND');
  });

  it('answers a missing or invalid customer token with 401', async () => {
    const url = `/v1/miniprogram/${connectorA}/decrypt`;
    const payload = encryptOpenData(sessionKey(7), phoneData(APP_A.appId));
    expectProblem(await call({ method: 'POST', url, payload }), 401, 'AUTH_REQUIRED');
    expectProblem(await call({ method: 'POST', url, headers: bearer('dct_not.valid'), payload }), 401, 'AUTH_CUSTOMER_TOKEN_INVALID');
    // An API key is not a customer token.
    expectProblem(await call({ method: 'POST', url, headers: bearer(h.adminKey), payload }), 401, 'AUTH_CUSTOMER_TOKEN_INVALID');
    // A token with its signature changed.
    const session = await login(connectorA, fakeA, 'code-sig', { openid: 'o-sig', sessionKey: sessionKey(7) });
    const forged = `${session.token.slice(0, -2)}${session.token.endsWith('AA') ? 'BB' : 'AA'}`;
    expectProblem(await call({ method: 'POST', url, headers: bearer(forged), payload }), 401, 'AUTH_CUSTOMER_TOKEN_INVALID');
  });
});

describe('POST /v1/miniprogram/{id}/phone', () => {
  it('links the phone from a getPhoneNumber code, fetching the access token once and caching it', async () => {
    const session = await login(connectorB, fakeB, 'code-phone', { openid: 'o-phone', sessionKey: sessionKey(8) });
    expect(fakeB.tokenFetches).toBe(0);
    fakeB.addPhoneCode('phone-code-1', { phoneNumber: '13612345678', purePhoneNumber: '13612345678', countryCode: '86' });
    const r = await call({ method: 'POST', url: `/v1/miniprogram/${connectorB}/phone`, headers: bearer(session.token), payload: { code: 'phone-code-1' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ customerId: session.customerId, phoneNumber: '13612345678' });
    const byPhone = await lookup('type=phone&value=13612345678');
    expect(byPhone.json().id).toBe(session.customerId);

    fakeB.addPhoneCode('phone-code-2', { phoneNumber: '13612345678', purePhoneNumber: '13612345678', countryCode: 86 });
    const second = await call({ method: 'POST', url: `/v1/miniprogram/${connectorB}/phone`, headers: bearer(session.token), payload: { code: 'phone-code-2' } });
    expect(second.statusCode).toBe(200);
    expect(fakeB.tokenFetches).toBe(1);

    // A used code is refused.
    const reused = await call({ method: 'POST', url: `/v1/miniprogram/${connectorB}/phone`, headers: bearer(session.token), payload: { code: 'phone-code-1' } });
    expectProblem(reused, 400, 'WECHAT_CODE_INVALID');
  });

  it('refuses a token issued for another connector with 401', async () => {
    const session = await login(connectorA, fakeA, 'code-cross', { openid: 'o-cross', sessionKey: sessionKey(9) });
    fakeB.addPhoneCode('phone-code-cross', { phoneNumber: '13512345678', purePhoneNumber: '13512345678', countryCode: '86' });
    const r = await call({ method: 'POST', url: `/v1/miniprogram/${connectorB}/phone`, headers: bearer(session.token), payload: { code: 'phone-code-cross' } });
    expectProblem(r, 401, 'AUTH_CUSTOMER_TOKEN_INVALID');
    expectProblem(await call({ method: 'GET', url: `/v1/miniprogram/${connectorB}/me`, headers: bearer(session.token) }), 401, 'AUTH_CUSTOMER_TOKEN_INVALID');
    expectProblem(
      await call({ method: 'POST', url: `/v1/miniprogram/${connectorB}/decrypt`, headers: bearer(session.token), payload: encryptOpenData(sessionKey(9), phoneData(APP_B.appId)) }),
      401,
      'AUTH_CUSTOMER_TOKEN_INVALID',
    );
    expectProblem(await lookup('type=phone&value=13512345678'), 404, 'IDENTITY_NOT_FOUND');
  });
});

describe('GET /v1/miniprogram/{id}/me', () => {
  it('shows the tags and benefits the CRM gives the customer, on the next call', async () => {
    const benefit = await call({ method: 'POST', url: '/v1/benefits', headers: bearer(h.adminKey), payload: { name: 'VIP lounge', tags: ['VIP'], match: 'any' } });
    expect(benefit.statusCode).toBe(201);
    const visible = await call({ method: 'PATCH', url: '/v1/tags/VIP', headers: bearer(h.adminKey), payload: { visible: true } });
    expect(visible.statusCode).toBe(200);
    expect(visible.json()).toMatchObject({ name: 'VIP', visible: true });

    const session = await login(connectorA, fakeA, 'code-me', { openid: 'o-me', sessionKey: sessionKey(10) });
    const url = `/v1/miniprogram/${connectorA}/me`;
    const before = await call({ method: 'GET', url, headers: bearer(session.token) });
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({ customerId: session.customerId, tags: [], tier: null, benefits: [] });

    // The CRM → mall direction: an operator tags the customer, the mall sees it.
    const tagged = await call({ method: 'POST', url: `/v1/customers/${session.customerId}/tags`, headers: bearer(h.adminKey), payload: { tags: ['VIP'] } });
    expect(tagged.statusCode).toBe(200);
    const after = await call({ method: 'GET', url, headers: bearer(session.token) });
    expect(after.json()).toEqual({
      customerId: session.customerId,
      tags: ['VIP'],
      tier: null,
      benefits: [{ id: benefit.json().id, name: 'VIP lounge', description: null }],
    });
  });

  it('keeps a tag that is not visible out of the list, while it still matches benefits', async () => {
    const benefit = await call({ method: 'POST', url: '/v1/benefits', headers: bearer(h.adminKey), payload: { name: 'Staff price', description: '10% off', tags: ['staff'], match: 'any' } });
    const session = await login(connectorA, fakeA, 'code-hidden', { openid: 'o-hidden', sessionKey: sessionKey(11) });
    await call({ method: 'POST', url: `/v1/customers/${session.customerId}/tags`, headers: bearer(h.adminKey), payload: { tags: ['staff'] } });
    const me = await call({ method: 'GET', url: `/v1/miniprogram/${connectorA}/me`, headers: bearer(session.token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      customerId: session.customerId,
      tags: [],
      tier: null,
      benefits: [{ id: benefit.json().id, name: 'Staff price', description: '10% off' }],
    });
  });
  it('judges tag expiry and benefit windows on the server clock, at one instant', async () => {
    // /me read tag expiry from the database clock and benefit windows from the server clock,
    // so the two could disagree about the same instant; both now use the server clock.
    const session = await login(connectorA, fakeA, 'code-clock', { openid: 'o-clock', sessionKey: sessionKey(12) });
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const benefit = await call({ method: 'POST', url: '/v1/benefits', headers: bearer(h.adminKey), payload: { name: 'Spring sale', tags: ['spring'], startsAt: at(1_800_000) } });
    expect(benefit.statusCode).toBe(201);
    await call({ method: 'PATCH', url: '/v1/tags/spring', headers: bearer(h.adminKey), payload: { visible: true } });
    // A platform tag with an expiry (manual tags get one through POST …/tags {expiresAt}).
    await h.db.query("INSERT INTO customer_tags (tenant_id, customer_id, tag, source, added_at, expires_at) VALUES ('ten_default', $1, 'spring', 'platform', $2, $3)", [
      session.customerId,
      at(0),
      at(3_600_000),
    ]);
    const url = `/v1/miniprogram/${connectorA}/me`;
    const me = async (ms: number) => {
      h.setNow(new Date(t0 + ms));
      const r = await call({ method: 'GET', url, headers: bearer(session.token) });
      expect(r.statusCode).toBe(200);
      const body = r.json<{ tags: string[]; benefits: { name: string }[] }>();
      return { tags: body.tags, benefits: body.benefits.map((b) => b.name) };
    };
    try {
      expect(await me(0)).toEqual({ tags: ['spring'], benefits: [] });
      // (Within the customer token's 2-hour lifetime, which is also judged on the server clock.)
      expect(await me(45 * 60_000)).toEqual({ tags: ['spring'], benefits: ['Spring sale'] });
      expect(await me(90 * 60_000)).toEqual({ tags: [], benefits: [] });
    } finally {
      h.setNow(new Date());
    }
  });

  it('refuses a customer token once its lifetime has passed on the server clock', async () => {
    const session = await login(connectorA, fakeA, 'code-expiry', { openid: 'o-expiry', sessionKey: sessionKey(14) });
    try {
      h.setNow(new Date(Date.now() + 7_200_000 + 60_000));
      const r = await call({ method: 'GET', url: `/v1/miniprogram/${connectorA}/me`, headers: bearer(session.token) });
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('AUTH_CUSTOMER_TOKEN_INVALID');
    } finally {
      h.setNow(new Date());
    }
  });

  it('stops serving a disabled connector, to new logins and old tokens alike', async () => {
    const c = await call({
      method: 'POST',
      url: '/v1/connectors',
      headers: bearer(h.adminKey),
      payload: { platform: 'wechat_miniprogram', name: 'Retired', config: { ...APP_A, apiBase: fakeA.url } },
    });
    const id = c.json<{ id: string }>().id;
    const session = await login(id, fakeA, 'code-retired', { openid: 'o-retired', sessionKey: sessionKey(13) });
    const del = await call({ method: 'DELETE', url: `/v1/connectors/${id}`, headers: bearer(h.adminKey) });
    expect(del.statusCode).toBe(204);
    fakeA.addCode('code-retired-2', { openid: 'o-retired', sessionKey: sessionKey(13) });
    expectProblem(await call({ method: 'POST', url: `/v1/miniprogram/${id}/login`, payload: { code: 'code-retired-2' } }), 404, 'CONNECTOR_NOT_FOUND');
    expectProblem(await call({ method: 'GET', url: `/v1/miniprogram/${id}/me`, headers: bearer(session.token) }), 404, 'CONNECTOR_NOT_FOUND');
    const shown = await call({ method: 'GET', url: `/v1/connectors/${id}`, headers: bearer(h.adminKey) });
    expect(shown.json()).toMatchObject({ id, enabled: false });
  });
});

describe('session keys', () => {
  it('never appear in a response or a log line', () => {
    // Runs last in this file: it checks everything the tests above received.
    expect(bodies.length).toBeGreaterThan(20);
    const text = `${bodies.join('\n')}\n${h.logs.join('')}`;
    for (let n = 1; n <= 13; n++) expect(text).not.toContain(sessionKey(n));
    expect(text).not.toContain(APP_A.appSecret);
    expect(text).not.toContain(APP_B.appSecret);
  });
});
