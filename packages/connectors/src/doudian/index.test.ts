import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { buildDoudianPush } from './fake-server.js';
import { doudian } from './index.js';
import { DOUDIAN_CODE_RULES, errorFromCode, ruleForCode } from './errors.js';

const APP_KEY = '7001234567890123456';
const APP_SECRET = 'index-test-secret';
const RAW_CONFIG = { appKey: APP_KEY, appSecret: APP_SECRET, shopId: '4463798' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('doudian connector definition', () => {
  it('is the doudian platform with the documented success reply', () => {
    expect(doudian.platform).toBe('doudian');
    expect(doudian.successReply).toStrictEqual({ status: 200, contentType: 'application/json', body: '{"code":0,"msg":"success"}' });
    expect(Object.isFrozen(doudian)).toBe(true);
  });

  it('marks appSecret as the secret in its schema', () => {
    const properties = (doudian.configSchema as unknown as { properties: Record<string, { secret?: boolean }> }).properties;
    expect(properties['appSecret']?.secret).toBe(true);
    expect(properties['appKey']?.secret).toBeUndefined();
  });

  it('goes from a signed push to canonical records', () => {
    const config = doudian.parseConfig(RAW_CONFIG);
    const push = buildDoudianPush({ appKey: APP_KEY, appSecret: APP_SECRET }, [
      { tag: 103, data: { p_id: 4781320682406083640n, s_ids: [4781320682406083641n], shop_id: 4463798, complete_time: 1715142800, order_status: 5 } },
    ]);
    const result = doudian.verify(
      { method: 'POST', url: '/v1/hooks/doudian/con_1', headers: push.headers, rawBody: push.body },
      config,
      { now: new Date(), publicUrl: 'https://datong.example/v1/hooks/doudian/con_1' },
    );
    if (result.kind !== 'messages') return expect.unreachable('expected messages');
    const records = result.messages.flatMap((m) => doudian.normalize(m, { config, connectorId: 'con_1' }));
    expect(records).toMatchObject([{ kind: 'order', order: { orderId: '4781320682406083640', status: 'completed', statusAt: '2024-05-08T12:33:20+08:00' } }]);
  });
});

describe('parseConfig', () => {
  it('applies the default API base and strips a trailing slash', () => {
    expect(doudian.parseConfig(RAW_CONFIG).apiBase).toBe('https://openapi-fxg.jinritemai.com');
    expect(doudian.parseConfig({ ...RAW_CONFIG, apiBase: 'http://127.0.0.1:8080/' }).apiBase).toBe('http://127.0.0.1:8080');
  });

  it('lists every problem at once without echoing values', () => {
    let error: DatongError | undefined;
    try {
      doudian.parseConfig({ appKey: '123', shopId: 'shop-1', apiBase: 'ftp://x', extra: 1 });
    } catch (e) {
      error = e as DatongError;
    }
    expect(error?.code).toBe('CONNECTOR_CONFIG_INVALID');
    const pointers = (error?.extensions?.['errors'] as { pointer: string }[]).map((p) => p.pointer).sort();
    expect(pointers).toEqual(expect.arrayContaining(['/apiBase', '/appKey', '/appSecret', '/shopId']));
    expect(pointers).toHaveLength(5); // and the unknown property
    expect(JSON.stringify(error?.extensions)).not.toContain('shop-1');
  });

  it('refuses an empty secret and a non-object', () => {
    expect(codeOf(() => doudian.parseConfig({ ...RAW_CONFIG, appSecret: '' }))).toBe('CONNECTOR_CONFIG_INVALID');
    expect(codeOf(() => doudian.parseConfig(null))).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('error table', () => {
  it('maps throttling to PLATFORM_RATE_LIMITED and outages to PLATFORM_UNREACHABLE, both transient', () => {
    expect(DOUDIAN_CODE_RULES.get(60000)).toMatchObject({ code: 'PLATFORM_RATE_LIMITED', transient: true });
    expect(DOUDIAN_CODE_RULES.get(20000)).toMatchObject({ code: 'PLATFORM_UNREACHABLE', transient: true });
    expect(errorFromCode('order.searchList', { code: 60000 }).transient).toBe(true);
  });

  it('asks for a new token on token sub_codes, and names config problems', () => {
    expect(ruleForCode(40003, 'isv.access-token-expired').action).toBe('refresh_token');
    expect(ruleForCode(40003, 'isv.signature-invalid')).toMatchObject({ code: 'CONNECTOR_CONFIG_INVALID' });
    expect(ruleForCode(50001, 'dop.token-generate-failed: app-secret-invalid')).toMatchObject({ code: 'CONNECTOR_CONFIG_INVALID' });
    expect(ruleForCode(12345, undefined)).toMatchObject({ code: 'PLATFORM_ERROR' });
  });

  it('masks redacted values in the detail', () => {
    const error = errorFromCode('token.create', { code: 40003, msg: 'bad', subMsg: 'secret s3cr3t leaked' }, ['s3cr3t']);
    expect(error.detail).not.toContain('s3cr3t');
    expect(error.meta).toMatchObject({ platform: 'doudian', api: 'token.create', platformCode: 40003 });
  });
});
