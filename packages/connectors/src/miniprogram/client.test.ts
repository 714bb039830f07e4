import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { clearMiniprogramTokenCache, createMiniprogramClient } from './client.js';
import { parseMiniprogramConfig, type MiniprogramConfig } from './config.js';
import { startFakeWechatServer, type FakeWechatServer } from './fake-server.js';

const APP_ID = 'wx4f4bc4dec97d474b';
const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SESSION_KEY = 'tiihtNczf5v6AKRyjwEUhQ==';

const servers: FakeWechatServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  clearMiniprogramTokenCache();
});

async function fake(options: { now?: () => number } = {}): Promise<FakeWechatServer> {
  const server = await startFakeWechatServer({ appId: APP_ID, appSecret: APP_SECRET, ...options });
  servers.push(server);
  return server;
}

function configFor(server: { url: string }, overrides: Partial<MiniprogramConfig> = {}): MiniprogramConfig {
  return parseMiniprogramConfig({ appId: APP_ID, appSecret: APP_SECRET, apiBase: server.url, ...overrides });
}

async function rejection(promise: Promise<unknown>): Promise<DatongError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

/** Everything an error could carry to a log line or an API answer. */
function printable(error: DatongError): string {
  return JSON.stringify({ message: error.message, detail: error.detail, meta: error.meta, ext: error.extensions });
}

describe('createMiniprogramClient', () => {
  it('refuses to build a client whose config has no AppSecret', async () => {
    // Fail closed even when a caller skips parseConfig and builds the object by hand.
    const unchecked = { appId: APP_ID, apiBase: 'https://api.weixin.qq.com' } as unknown as MiniprogramConfig;
    const error = await rejection(Promise.resolve().then(() => createMiniprogramClient(unchecked)));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.extensions).toMatchObject({ errors: [{ pointer: '/appSecret' }] });
  });
});

describe('code2Session', () => {
  it('exchanges a login code for openid and session_key', async () => {
    const server = await fake();
    server.addCode('code-1', { openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', sessionKey: SESSION_KEY });
    const session = await createMiniprogramClient(configFor(server)).code2Session('code-1');
    expect(session).toStrictEqual({ openid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', sessionKey: SESSION_KEY });
  });

  it('returns the unionid when WeChat sends one', async () => {
    const server = await fake();
    server.addCode('code-2', { openid: 'o-2', sessionKey: SESSION_KEY, unionid: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA' });
    const session = await createMiniprogramClient(configFor(server)).code2Session('code-2');
    expect(session).toStrictEqual({ openid: 'o-2', sessionKey: SESSION_KEY, unionid: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA' });
  });

  it('rejects an unknown code with WECHAT_CODE_INVALID', async () => {
    const server = await fake();
    const error = await rejection(createMiniprogramClient(configFor(server)).code2Session('never-issued'));
    expect(error.code).toBe('WECHAT_CODE_INVALID');
    expect(error.transient).toBe(false);
    expect(error.meta).toMatchObject({ errcode: 40029, api: 'jscode2session' });
  });

  it('rejects a code used twice, because WeChat codes are single-use', async () => {
    const server = await fake();
    server.addCode('code-3', { openid: 'o-3', sessionKey: SESSION_KEY });
    const client = createMiniprogramClient(configFor(server));
    await client.code2Session('code-3');
    expect((await rejection(client.code2Session('code-3'))).code).toBe('WECHAT_CODE_INVALID');
  });

  it('rejects an empty or oversized code without calling WeChat', async () => {
    const server = await fake();
    const client = createMiniprogramClient(configFor(server));
    server.setFailNext(-1);
    expect((await rejection(client.code2Session(' '))).code).toBe('WECHAT_CODE_INVALID');
    expect((await rejection(client.code2Session('x'.repeat(513)))).code).toBe('WECHAT_CODE_INVALID');
    // The queued failure is still there, so no request reached the server.
    expect((await rejection(client.code2Session('code-x'))).code).toBe('PLATFORM_UNREACHABLE');
  });

  it('maps a wrong AppSecret to CONNECTOR_CONFIG_INVALID and keeps the secret out of the error', async () => {
    const server = await fake();
    server.addCode('code-4', { openid: 'o-4', sessionKey: SESSION_KEY });
    const wrongSecret = 'ffffffffffffffffffffffffffffffff';
    const error = await rejection(
      createMiniprogramClient(configFor(server, { appSecret: wrongSecret })).code2Session('code-4'),
    );
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ errcode: 40125 });
    expect(printable(error)).not.toContain(wrongSecret);
  });

  it.each([
    [45011, 'PLATFORM_RATE_LIMITED'],
    [-1, 'PLATFORM_UNREACHABLE'],
  ] as const)('maps errcode %i to a transient %s', async (errcode, code) => {
    const server = await fake();
    server.setFailNext(errcode);
    const error = await rejection(createMiniprogramClient(configFor(server)).code2Session('code-5'));
    expect(error.code).toBe(code);
    expect(error.transient).toBe(true);
  });

  it('answers PLATFORM_UNREACHABLE when nothing listens at apiBase', async () => {
    const server = await fake();
    const config = configFor(server);
    await servers.pop()?.close();
    const error = await rejection(createMiniprogramClient(config).code2Session('code-6'));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);
    // The request URL carries the secret in its query string (code2Session is a GET).
    expect(printable(error)).not.toContain(APP_SECRET);
  });
});

describe('getAccessToken', () => {
  it('fetches the token once and serves later calls from the cache', async () => {
    const server = await fake();
    const client = createMiniprogramClient(configFor(server));
    const first = await client.getAccessToken();
    expect(await client.getAccessToken()).toBe(first);
    // A second client of the same app in the same process shares the cache.
    expect(await createMiniprogramClient(configFor(server)).getAccessToken()).toBe(first);
    expect(server.tokenFetches).toBe(1);
  });

  it('shares one in-flight fetch between concurrent callers', async () => {
    const server = await fake();
    const client = createMiniprogramClient(configFor(server));
    const tokens = await Promise.all(Array.from({ length: 8 }, () => client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(server.tokenFetches).toBe(1);
  });

  it('fetches a new token 5 minutes before expires_in runs out', async () => {
    let clock = Date.UTC(2025, 0, 1);
    const now = (): number => clock;
    const server = await fake({ now });
    const client = createMiniprogramClient(configFor(server), { now });
    const first = await client.getAccessToken();

    clock += (7200 - 301) * 1000;
    expect(await client.getAccessToken()).toBe(first);
    expect(server.tokenFetches).toBe(1);

    clock += 2 * 1000;
    await client.getAccessToken();
    expect(server.tokenFetches).toBe(2);
  });

  it('does not cache a failed fetch', async () => {
    const server = await fake();
    const client = createMiniprogramClient(configFor(server));
    server.setFailNext(-1);
    expect((await rejection(client.getAccessToken())).code).toBe('PLATFORM_UNREACHABLE');
    expect(await client.getAccessToken()).toMatch(/^fake_/);
    expect(server.tokenFetches).toBe(2);
  });

  it('answers PLATFORM_UNREACHABLE when nothing listens at apiBase', async () => {
    const server = await fake();
    const config = configFor(server);
    await servers.pop()?.close();
    expect((await rejection(createMiniprogramClient(config).getAccessToken())).code).toBe('PLATFORM_UNREACHABLE');
  });
});

describe('getPhoneNumber', () => {
  it('exchanges a phone code for the phone number, with countryCode as a string', async () => {
    const server = await fake();
    // The doc example sends countryCode as the number 86; callers always get a string.
    server.addPhoneCode('phone-1', { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: 86 });
    const phone = await createMiniprogramClient(configFor(server)).getPhoneNumber('phone-1');
    expect(phone).toStrictEqual({ phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
  });

  it('reuses the cached token across phone calls', async () => {
    const server = await fake();
    server.addPhoneCode('phone-2', { phoneNumber: '+852 5123 4567', purePhoneNumber: '51234567', countryCode: '852' });
    server.addPhoneCode('phone-3', { phoneNumber: '13900139000', purePhoneNumber: '13900139000', countryCode: '86' });
    const client = createMiniprogramClient(configFor(server));
    await client.getAccessToken();
    await client.getPhoneNumber('phone-2');
    await client.getPhoneNumber('phone-3');
    expect(server.tokenFetches).toBe(1);
  });

  it('rejects an unknown or used phone code with WECHAT_CODE_INVALID', async () => {
    const server = await fake();
    server.addPhoneCode('phone-4', { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
    const client = createMiniprogramClient(configFor(server));
    await client.getPhoneNumber('phone-4');
    expect((await rejection(client.getPhoneNumber('phone-4'))).code).toBe('WECHAT_CODE_INVALID');
    expect((await rejection(client.getPhoneNumber('never-issued'))).code).toBe('WECHAT_CODE_INVALID');
  });

  it('refetches the token and retries once after errcode 40001', async () => {
    const server = await fake();
    server.addPhoneCode('phone-5', { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
    const client = createMiniprogramClient(configFor(server));
    await client.getAccessToken();
    server.setFailNext(40001, { path: '/wxa/business/getuserphonenumber' });
    expect((await client.getPhoneNumber('phone-5')).purePhoneNumber).toBe('13800138000');
    expect(server.tokenFetches).toBe(2);
  });

  it('recovers when the cached token was revoked on the platform side', async () => {
    // A force refresh by another system invalidates our cached token; WeChat then says 40001.
    const server = await fake();
    server.addPhoneCode('phone-6', { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
    const client = createMiniprogramClient(configFor(server));
    const before = await client.getAccessToken();
    server.revokeTokens();
    expect((await client.getPhoneNumber('phone-6')).phoneNumber).toBe('13800138000');
    expect(await client.getAccessToken()).not.toBe(before);
    expect(server.tokenFetches).toBe(2);
  });

  it('retries only once when WeChat keeps rejecting the token', async () => {
    const server = await fake();
    server.addPhoneCode('phone-7', { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' });
    const client = createMiniprogramClient(configFor(server));
    server.setFailNext(42001, { path: '/wxa/business/getuserphonenumber' });
    server.setFailNext(42001, { path: '/wxa/business/getuserphonenumber' });
    const error = await rejection(client.getPhoneNumber('phone-7'));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.meta).toMatchObject({ errcode: 42001 });
    expect(server.tokenFetches).toBe(2);
    // The code was not consumed by the rejected calls.
    expect((await client.getPhoneNumber('phone-7')).countryCode).toBe('86');
  });
});

describe('testConnection', () => {
  it('resolves when the AppID and AppSecret are accepted', async () => {
    const server = await fake();
    await expect(createMiniprogramClient(configFor(server)).testConnection()).resolves.toBeUndefined();
    expect(server.tokenFetches).toBe(1);
  });

  it('maps a wrong AppSecret to CONNECTOR_CONFIG_INVALID', async () => {
    const server = await fake();
    const wrongSecret = '00000000000000000000000000000000';
    const error = await rejection(createMiniprogramClient(configFor(server, { appSecret: wrongSecret })).testConnection());
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ errcode: 40125, api: 'stable_token' });
    expect(printable(error)).not.toContain(wrongSecret);
  });

  it('maps a wrong AppID to CONNECTOR_CONFIG_INVALID', async () => {
    const server = await fake();
    const error = await rejection(createMiniprogramClient(configFor(server, { appId: 'wx0000000000000000' })).testConnection());
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.meta).toMatchObject({ errcode: 40013 });
  });

  it('checks the credentials with WeChat even when a token is cached', async () => {
    const server = await fake();
    const client = createMiniprogramClient(configFor(server));
    await client.getAccessToken();
    await client.testConnection();
    expect(server.tokenFetches).toBe(2);
  });

  it('answers PLATFORM_UNREACHABLE when nothing listens at apiBase', async () => {
    const server = await fake();
    const config = configFor(server);
    await servers.pop()?.close();
    expect((await rejection(createMiniprogramClient(config).testConnection())).code).toBe('PLATFORM_UNREACHABLE');
  });
});
