import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizeIdentifier, normalizePhone } from './normalize.js';

describe('normalizePhone', () => {
  // Every way Chinese systems write the same mobile number must match one customer.
  it.each([
    '13812345678',
    '138 1234 5678',
    '138-1234-5678',
    '(138) 1234-5678',
    '+86 138 1234 5678',
    '+86-13812345678',
    '008613812345678',
    '0086 138 1234 5678',
    '8613812345678',
    '（138）12345678',
  ])('normalizes %s to +8613812345678', (raw) => {
    expect(normalizePhone(raw)).toBe('+8613812345678');
  });

  it('keeps other countries when they carry their country code', () => {
    expect(normalizePhone('+1 (415) 555-2671')).toBe('+14155552671');
    expect(normalizePhone('+44 20 7946 0958')).toBe('+442079460958');
  });

  it.each(['12345', '1381234567', '138123456789', '23812345678', 'abc', '', '+86 138 1234 567a', '1'.repeat(40)])('rejects %s', (raw) => {
    expect(normalizePhone(raw)).toBeUndefined();
  });
});

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Li.Lei@Example.COM ')).toBe('li.lei@example.com');
  });
  it.each(['no-at-sign', 'a@b', 'a b@example.com', '@example.com', 'a@-example.com'])('rejects %s', (raw) => {
    expect(normalizeEmail(raw)).toBeUndefined();
  });
});

describe('normalizeIdentifier', () => {
  it('requires a collection for openids, WeCom ids and CRM ids', () => {
    expect(normalizeIdentifier('wechat_openid', 'o-1')).toEqual({ ok: false, reason: 'wechat_openid needs a collection (the mini-program or official account appId)' });
    expect(normalizeIdentifier('wechat_openid', 'o-1', 'wx123')).toEqual({ ok: true, identifier: { type: 'wechat_openid', collection: 'wx123', value: 'o-1' } });
  });
  it('ignores a collection for types that have none', () => {
    expect(normalizeIdentifier('wechat_unionid', ' u-1 ', 'users')).toEqual({ ok: true, identifier: { type: 'wechat_unionid', collection: '', value: 'u-1' } });
  });
  it('accepts integer ids and refuses other shapes', () => {
    expect(normalizeIdentifier('user_id', 42)).toMatchObject({ ok: true, identifier: { value: '42' } });
    expect(normalizeIdentifier('user_id', { id: 1 })).toMatchObject({ ok: false });
    expect(normalizeIdentifier('user_id', '   ')).toMatchObject({ ok: false, reason: 'user_id is empty' });
  });
});

describe('normalizePhone, asked again (the parse is remembered)', () => {
  it('gives the same answer the second and third time, for valid and invalid numbers and across spellings', () => {
    const inputs = ['+86 138-1234-5678', '0086 13812345678', '8613812345678', '13812345678', '12345', '+86 100 0000 0000', '+1 202-555-0143', '+12025550143'];
    const first = inputs.map((s) => normalizePhone(s));
    expect(first).toEqual(['+8613812345678', '+8613812345678', '+8613812345678', '+8613812345678', undefined, undefined, '+12025550143', '+12025550143']);
    for (let i = 0; i < 2; i++) expect(inputs.map((s) => normalizePhone(s))).toEqual(first);
  });
});
