import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '@datong/core';
import { MEITUAN_ERROR_RULES, errorFromMeituan, ruleForMeituanError } from './errors.js';

describe('Meituan error table', () => {
  it('marks each rule transient exactly as the catalog does', () => {
    for (const [code, rule] of MEITUAN_ERROR_RULES) {
      expect(rule.transient, String(code)).toBe((ERROR_CATALOG[rule.code] as { transient?: boolean }).transient === true);
    }
  });

  it.each([
    [700, undefined, 'PLATFORM_UNREACHABLE'],
    [701, '参数错误', 'PLATFORM_ERROR'],
    [703, '签名验证错误', 'CONNECTOR_CONFIG_INVALID'],
    [711, undefined, 'PLATFORM_RATE_LIMITED'],
    [9001, '请求过于频繁，请稍后再试', 'PLATFORM_RATE_LIMITED'],
    [9002, 'QPS limit exceeded', 'PLATFORM_RATE_LIMITED'],
    [808, '操作失败,订单已经确认过了', 'PLATFORM_ERROR'],
  ])('%i %s → %s', (code, msg, expected) => {
    expect(ruleForMeituanError(code, msg).code).toBe(expected);
  });

  it('masks redacted values and caps the message', () => {
    const error = errorFromMeituan('order/getOrderDetail', 801, `secret-123 ${'x'.repeat(500)}`, ['secret-123']);
    expect(error.message).not.toContain('secret-123');
    expect(String(error.meta?.['msg']).length).toBeLessThanOrEqual(200);
  });
});
