import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '@datong/core';
import { errorFromTopError, retryAfterSeconds, ruleForTopError, TOP_ERROR_CODE_RULES } from './errors.js';

describe('TOP error rules', () => {
  it('mirror the catalog on transient', () => {
    for (const rule of TOP_ERROR_CODE_RULES.values()) {
      expect(rule.transient, rule.meaning).toBe((ERROR_CATALOG[rule.code] as { transient?: boolean }).transient === true);
    }
  });

  it.each([
    [{ code: 7, sub_code: 'accesscontrol.limited-by-api-access-count' }, 'PLATFORM_RATE_LIMITED'],
    [{ code: 7, sub_code: 'accesscontrol.limited-by-app-access-count' }, 'PLATFORM_RATE_LIMITED'],
    [{ code: 15, sub_code: 'isp.call-limited' }, 'PLATFORM_RATE_LIMITED'],
    [{ code: 15, sub_code: 'isp.top-remote-connection-timeout' }, 'PLATFORM_UNREACHABLE'],
    [{ code: 10, sub_code: 'isp.service-unavailable' }, 'PLATFORM_UNREACHABLE'],
    [{ code: 15, sub_code: 'isv.trade-not-exist' }, 'PLATFORM_ERROR'],
    [{ code: 25 }, 'CONNECTOR_CONFIG_INVALID'],
    [{ code: 27, sub_code: 'invalid-sessionkey' }, 'CONNECTOR_CONFIG_INVALID'],
    [{ code: 15, sub_code: 'sessionkey-not-generated-by-server' }, 'CONNECTOR_CONFIG_INVALID'],
    [{ code: 11 }, 'CONNECTOR_CONFIG_INVALID'],
    [{ code: 41, sub_code: 'isv.invalid-parameter' }, 'PLATFORM_ERROR'],
    [{ code: 9999 }, 'PLATFORM_ERROR'],
  ] as const)('%j → %s', (body, code) => {
    expect(ruleForTopError(body).code).toBe(code);
  });

  it('reads the ban length from sub_msg', () => {
    expect(retryAfterSeconds('This ban will last for 12 more seconds')).toBe(12);
    expect(retryAfterSeconds('This ban will last for 1 more second')).toBe(1);
    expect(retryAfterSeconds('something else')).toBeUndefined();
  });

  it('masks secrets and keeps the request id for support', () => {
    const error = errorFromTopError('taobao.trade.fullinfo.get', { code: 41, msg: 'bad session sess-123', sub_msg: 'x', request_id: 'r1' }, ['sess-123']);
    expect(error.detail).not.toContain('sess-123');
    expect(error.meta).toMatchObject({ platform: 'taobao', api: 'taobao.trade.fullinfo.get', topCode: 41, requestId: 'r1' });
  });
});
