import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formDecode, javaUrlEncode, parseJsonExact, quoteLongIntegers } from './codec.js';

describe('parseJsonExact', () => {
  it('keeps integers beyond 2^53 as their exact digits', () => {
    expect(parseJsonExact('{"oid":2793339624048295999,"n":-12345678901234567890,"small":42}')).toStrictEqual({
      oid: '2793339624048295999',
      n: '-12345678901234567890',
      small: 42,
    });
    // JSON.parse alone rounds it:
    expect(String((JSON.parse('{"oid":2793339624048295999}') as { oid: number }).oid)).not.toBe('2793339624048295999');
  });

  it('leaves 15-digit integers, fractions, exponents and strings alone', () => {
    expect(parseJsonExact('[999999999999999,1.2345678901234567,1e21,"12345678901234567890"]')).toStrictEqual([
      999999999999999, 1.2345678901234567, 1e21, '12345678901234567890',
    ]);
  });

  it('does not touch digits inside strings, escaped quotes included', () => {
    const text = '{"a":"x\\"12345678901234567890\\"","b":[12345678901234567890]}';
    expect(parseJsonExact(text)).toStrictEqual({ a: 'x"12345678901234567890"', b: ['12345678901234567890'] });
  });

  it('throws on malformed JSON like JSON.parse', () => {
    expect(() => parseJsonExact('{"a":')).toThrow(SyntaxError);
  });

  it('is the identity on JSON without long integers (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        if (/\d{16,}/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, ''))) return;
        expect(quoteLongIntegers(text)).toBe(text);
      }),
    );
  });

  it('round-trips any bigint id exactly (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), fc.string(), (n, s) => {
        const parsed = parseJsonExact(`{"s":${JSON.stringify(s)},"id":${n.toString()}}`) as { s: string; id: unknown };
        expect(parsed.s).toBe(s);
        expect(String(parsed.id)).toBe(n.toString());
      }),
    );
  });
});

describe('msg encoding', () => {
  it('encodes like Java URLEncoder (space as +, upper-case escapes, .-*_ kept)', () => {
    expect(javaUrlEncode('{"t":"2021-03-12 09:53:18","n":"开业啦"}')).toBe(
      '%7B%22t%22%3A%222021-03-12+09%3A53%3A18%22%2C%22n%22%3A%22%E5%BC%80%E4%B8%9A%E5%95%A6%22%7D',
    );
    expect(javaUrlEncode('a.b-c*d_e+f~g')).toBe('a.b-c*d_e%2Bf%7Eg');
  });

  it('form-decodes what it encodes, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(formDecode(javaUrlEncode(s))).toBe(s);
      }),
    );
  });
});
