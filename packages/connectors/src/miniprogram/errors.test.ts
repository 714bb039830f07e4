import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, type ErrorSpec } from '@datong/core';
import { WECHAT_ERRCODE_RULES, errorFromErrcode, ruleForErrcode } from './errors.js';

describe('WECHAT_ERRCODE_RULES', () => {
  it('marks each rule transient exactly when the catalog does', () => {
    // Jobs read DatongError.transient, which comes from the catalog; the table must not disagree.
    for (const [errcode, rule] of WECHAT_ERRCODE_RULES) {
      if (rule.action !== 'fail') continue;
      const spec: ErrorSpec = ERROR_CATALOG[rule.code];
      expect({ errcode, transient: rule.transient }).toEqual({ errcode, transient: spec.transient === true });
    }
  });

  it.each([
    [40029, 'WECHAT_CODE_INVALID'],
    [40163, 'WECHAT_CODE_INVALID'],
    [45011, 'PLATFORM_RATE_LIMITED'],
    [45009, 'PLATFORM_RATE_LIMITED'],
    [-1, 'PLATFORM_UNREACHABLE'],
    [40013, 'CONNECTOR_CONFIG_INVALID'],
    [40125, 'CONNECTOR_CONFIG_INVALID'],
  ] as const)('maps errcode %i to %s', (errcode, code) => {
    expect(errorFromErrcode('jscode2session', errcode, 'x').code).toBe(code);
  });

  it.each([40001, 40014, 42001])('asks for a token refresh on errcode %i from an API that used the token', (errcode) => {
    expect(ruleForErrcode(errcode, 'getuserphonenumber').action).toBe('refresh_token');
  });

  it('treats 40001 from the token endpoint as a wrong AppSecret, not as a stale token', () => {
    // getAccessToken doc: 40001 there means "AppSecret 错误"; refreshing would loop.
    expect(ruleForErrcode(40001, 'stable_token')).toMatchObject({ action: 'fail', code: 'CONNECTOR_CONFIG_INVALID' });
  });

  it('maps an unknown errcode to PLATFORM_ERROR with the errcode and errmsg in the detail', () => {
    const error = errorFromErrcode('jscode2session', 40226, 'code blocked, rid: 1a2b');
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.detail).toContain('40226');
    expect(error.detail).toContain('code blocked, rid: 1a2b');
    expect(error.meta).toMatchObject({ errcode: 40226, api: 'jscode2session' });
  });

  it('masks values the caller asks to redact', () => {
    const error = errorFromErrcode('stable_token', 40125, 'invalid appsecret s3cr3t', ['s3cr3t']);
    expect(JSON.stringify({ m: error.message, meta: error.meta })).not.toContain('s3cr3t');
  });
});
