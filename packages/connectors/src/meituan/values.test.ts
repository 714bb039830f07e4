import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from './json.js';
import { chinaDay, isoFromSeconds, nextChinaDay, previousChinaDay, yuan } from './values.js';

describe('parseJsonLossless', () => {
  it('keeps ids beyond 2^53 and yuan amounts as their exact text', () => {
    const text = '{"data":{"order_id":27061900338318741,"big":9223372036854775807,"total":25.5,"neg":-0.01,"exp":1e-7}}';
    expect(parseJsonLossless(text)).toStrictEqual({
      data: { order_id: '27061900338318741', big: '9223372036854775807', total: '25.5', neg: '-0.01', exp: '1e-7' },
    });
    // What JSON.parse would have done:
    expect(String((JSON.parse(text) as { data: { order_id: number } }).data.order_id)).not.toBe('27061900338318741');
  });

  it('leaves numbers inside strings, escapes and unicode alone', () => {
    expect(parseJsonLossless('["a 1.5 \\" 2", "\\u4e2d10", true, false, null, [1, {"k": 2}]]')).toStrictEqual([
      'a 1.5 " 2',
      '中10',
      true,
      false,
      null,
      ['1', { k: '2' }],
    ]);
  });

  it('rejects what JSON.parse rejects', () => {
    for (const bad of ['', '01', '1.', '-', '.5', '{"a":1,}', '[1 2]', '{a:1}', '"unterminated', 'NaN', '+1', '1 x']) {
      expect(() => parseJsonLossless(bad), bad).toThrow(SyntaxError);
    }
  });

  it('agrees with JSON.parse on everything but the type of numbers', () => {
    const walk = (lossless: unknown, plain: unknown): void => {
      if (typeof plain === 'number') {
        expect(typeof lossless).toBe('string');
        expect(Number(lossless)).toBe(plain);
      } else if (Array.isArray(plain)) {
        expect(Array.isArray(lossless)).toBe(true);
        plain.forEach((x, i) => walk((lossless as unknown[])[i], x));
      } else if (typeof plain === 'object' && plain !== null) {
        expect(Object.keys(lossless as object)).toStrictEqual(Object.keys(plain));
        for (const [k, x] of Object.entries(plain)) walk((lossless as Record<string, unknown>)[k], x);
      } else {
        expect(lossless).toStrictEqual(plain);
      }
    };
    fc.assert(fc.property(fc.json(), (text) => walk(parseJsonLossless(text), JSON.parse(text))));
  });
});

describe('yuan', () => {
  it.each([
    ['25.5', '25.50'],
    ['25', '25.00'],
    ['0', '0.00'],
    ['0.1', '0.10'],
    ['19.99', '19.99'],
    [' 7.5 ', '7.50'],
    ['-3.2', '-3.20'],
    ['99999999999999999.99', '99999999999999999.99'],
  ])('%s → %s', (text, expected) => {
    expect(yuan(text)).toBe(expected);
  });

  it.each(['', 'abc', '1e3', '25.555', '1,5', '¥5', '5.', undefined])('refuses %s', (text) => {
    expect(yuan(text)).toBeUndefined();
  });
});

describe('time', () => {
  it('writes epoch seconds in China time', () => {
    expect(isoFromSeconds('1767240000')).toBe('2026-01-01T12:00:00+08:00');
    expect(isoFromSeconds('1767196799')).toBe('2025-12-31T23:59:59+08:00');
  });

  it.each(['0', '', 'x', '-5', '1.5', '999999999999', undefined])('has no time for %s', (text) => {
    expect(isoFromSeconds(text)).toBeUndefined();
  });

  it('counts days in China time', () => {
    expect(chinaDay(new Date('2025-12-31T16:00:00Z'))).toBe('20260101');
    expect(chinaDay(new Date('2025-12-31T15:59:59Z'))).toBe('20251231');
    expect(nextChinaDay('20251231')).toBe('20260101');
    expect(nextChinaDay('20240228')).toBe('20240229');
    expect(previousChinaDay('20260301')).toBe('20260228');
  });
});
