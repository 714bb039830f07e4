import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { marshalParamJson, parseJsonLossless, stringifyJson } from './json.js';

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** True when JSON.stringify would write an integer literal past 2^53 (which the parser keeps as digits). */
function hasUnsafeIntegerLiteral(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) && !/e/i.test(JSON.stringify(value));
  if (Array.isArray(value)) return value.some(hasUnsafeIntegerLiteral);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnsafeIntegerLiteral);
  return false;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('parseJsonLossless', () => {
  it('keeps integers above 2^53 as their exact digits', () => {
    const parsed = parseJsonLossless('{"p_id":4781320682406083640,"s_ids":[9007199254740993,1],"neg":-9223372036854775808}');
    expect(plain(parsed)).toStrictEqual({ p_id: '4781320682406083640', s_ids: ['9007199254740993', 1], neg: '-9223372036854775808' });
    // What JSON.parse would have done:
    expect(String((JSON.parse('{"p_id":4781320682406083640}') as { p_id: number }).p_id)).toBe('4781320682406084000');
  });

  it('gives safe integers, fractions and exponents as numbers', () => {
    expect(plain(parseJsonLossless('[9007199254740991,-1,0,1.5,2e3,1E+2,-0.25]'))).toStrictEqual([9007199254740991, -1, 0, 1.5, 2000, 100, -0.25]);
  });

  it('decodes strings, literals, whitespace and nesting like JSON.parse', () => {
    const text = ' { "a" : [ true , false , null , "x\\n\\u6c49\\"y" ] , "b" : { } , "c" : [ ] } ';
    expect(plain(parseJsonLossless(text))).toStrictEqual(JSON.parse(text));
  });

  it('treats "__proto__" as an ordinary key', () => {
    const parsed = parseJsonLossless('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toStrictEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects malformed JSON with MESSAGE_INVALID', () => {
    for (const bad of ['', '{', '[1,]', '{"a":1,}', '01', '"abc', '"a\\x"', 'tru', '{"a" 1}', '[1 2]', '1 2', 'NaN', '"\u0001"']) {
      expect(codeOf(() => parseJsonLossless(bad)), bad).toBe('MESSAGE_INVALID');
    }
    expect(codeOf(() => parseJsonLossless('['.repeat(100) + ']'.repeat(100)))).toBe('MESSAGE_INVALID');
  });

  it('agrees with JSON.parse on any JSON without unsafe integers (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => !hasUnsafeIntegerLiteral(v)), (value) => {
        const text = JSON.stringify(value);
        expect(plain(parseJsonLossless(text))).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any 64-bit id written by stringifyJson (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), (id) => {
        const parsed = parseJsonLossless(stringifyJson({ id })) as { id: string | number };
        expect(String(parsed.id)).toBe(id.toString());
      }),
      { numRuns: 300 },
    );
  });
});

describe('marshalParamJson', () => {
  it('sorts keys recursively by byte order and keeps array order', () => {
    expect(marshalParamJson({ b: 1, a: { z: [{ y: 1, x: 2 }, 3], Z: true }, A: null })).toBe('{"A":null,"a":{"Z":true,"z":[{"x":2,"y":1},3]},"b":1}');
  });

  it('escapes only what the SDKs escape', () => {
    expect(marshalParamJson({ s: 'a"b\\c\n\r\t\b\f\u0001/<>&\'汉😀\u2028\u2029' })).toBe(
      '{"s":"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001/<>&\'汉😀\\u2028\\u2029"}',
    );
  });

  it('writes lone surrogates as U+FFFD, leaves undefined out, and writes bigint ids bare', () => {
    expect(marshalParamJson({ s: '\ud800x', u: undefined, id: 4781320682406083640n })).toBe('{"id":4781320682406083640,"s":"\ufffdx"}');
  });

  it('refuses numbers whose JSON form differs between SDKs', () => {
    expect(codeOf(() => marshalParamJson({ amount: 1.5 }))).toBe('INTERNAL');
    expect(codeOf(() => marshalParamJson({ id: Number('4781320682406083640') }))).toBe('INTERNAL');
  });

  it('is compact JSON that JSON.parse reads back to the same value (property)', () => {
    const safe = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), safe, { maxKeys: 5 }), (params) => {
        const text = marshalParamJson(params);
        expect(text).not.toMatch(/^\s|\s$/);
        // Lone surrogates are replaced; compare against the same replacement.
        const expected = JSON.parse(JSON.stringify(params).replace(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/g, '\\ufffd')) as unknown;
        expect(JSON.parse(text)).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
