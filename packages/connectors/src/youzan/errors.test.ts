import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '@datong/core';
import { YOUZAN_BUSINESS_RULES, YOUZAN_GATEWAY_RULES, YOUZAN_TOKEN_RULES, ruleForYouzanCode, youzanError } from './errors.js';

describe('Youzan error tables', () => {
  it('mark each rule transient exactly when its Datong code is transient', () => {
    for (const table of [YOUZAN_TOKEN_RULES, YOUZAN_GATEWAY_RULES, YOUZAN_BUSINESS_RULES]) {
      for (const [code, rule] of table) {
        if (rule.action !== 'fail') continue;
        expect(rule.transient, `${code} → ${rule.code}`).toBe((ERROR_CATALOG[rule.code] as { transient?: boolean }).transient === true);
      }
    }
  });

  it('classifies throttling, token and configuration errors', () => {
    expect(ruleForYouzanCode('gateway', 4101)).toMatchObject({ action: 'fail', code: 'PLATFORM_RATE_LIMITED' });
    expect(ruleForYouzanCode('business', 500100004)).toMatchObject({ code: 'PLATFORM_RATE_LIMITED' });
    expect(ruleForYouzanCode('business', 123000042)).toMatchObject({ code: 'PLATFORM_RATE_LIMITED' });
    expect(ruleForYouzanCode('business', 1, '请求被限流')).toMatchObject({ code: 'PLATFORM_RATE_LIMITED' });
    expect(ruleForYouzanCode('business', 106000001)).toMatchObject({ code: 'PLATFORM_UNREACHABLE' });
    for (const code of [4201, 4202, 4203]) expect(ruleForYouzanCode('gateway', code).action).toBe('refresh_token');
    expect(ruleForYouzanCode('gateway', 4204)).toMatchObject({ code: 'CONNECTOR_CONFIG_INVALID' });
    expect(ruleForYouzanCode('token', 1103)).toMatchObject({ code: 'CONNECTOR_CONFIG_INVALID' });
    expect(ruleForYouzanCode('gateway', 999_999)).toMatchObject({ code: 'PLATFORM_ERROR' });
  });

  it('tells an IP whitelist refusal (4007) from a malformed request', () => {
    expect(ruleForYouzanCode('gateway', 4007, '源IP地址1.2.3.4非法调用有赞云，请完成IP地址确认后，前往应用中心控制台进行IP白名单配置')).toMatchObject({
      code: 'CONNECTOR_CONFIG_INVALID',
    });
    expect(ruleForYouzanCode('gateway', 4007, '非法的请求姿势，httpMethod:POST, contentType:text/plain')).toMatchObject({ code: 'PLATFORM_ERROR' });
  });

  it('builds errors with the code, message and trace id, masking given values', () => {
    const error = youzanError('youzan.trade.get', 'gateway', 4203, 'Token 不存在 abc123', { traceId: 'yz7-1', redact: ['abc123'] });
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID'); // refused again after a refresh
    expect(error.detail).toContain('4203');
    expect(error.detail).not.toContain('abc123');
    expect(error.meta).toMatchObject({ platform: 'youzan', api: 'youzan.trade.get', layer: 'gateway', youzanCode: 4203, traceId: 'yz7-1' });
  });
});
