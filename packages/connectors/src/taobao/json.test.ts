import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idString, parseJsonKeepingBigInts, quoteUnsafeIntegers } from './json.js';

describe('parseJsonKeepingBigInts', () => {
  it('keeps a 19-digit TMC message id exact (JSON.parse would round it)', () => {
    const text = '{"id":1172200053212681005,"user_id":1736568971}';
    expect(String((JSON.parse(text) as { id: number }).id)).not.toBe('1172200053212681005');
    expect(parseJsonKeepingBigInts(text)).toStrictEqual({ id: '1172200053212681005', user_id: 1736568971 });
  });

  it('leaves numbers inside strings, decimals and exponents alone', () => {
    const text = '{"content":"{\\"tid\\":1234567890123456789}","payment":"15.70","x":12345678901234567.5,"e":1e30}';
    expect(parseJsonKeepingBigInts(text)).toStrictEqual({
      content: '{"tid":1234567890123456789}',
      payment: '15.70',
      x: Number('12345678901234567.5'),
      e: 1e30,
    });
  });

  it('quotes negative unsafe integers and keeps the boundary values as numbers', () => {
    expect(parseJsonKeepingBigInts('[9007199254740991,9007199254740992,-9007199254740992,-9007199254740991]')).toStrictEqual([
      9007199254740991,
      '9007199254740992',
      '-9007199254740992',
      -9007199254740991,
    ]);
  });

  it('handles escaped quotes and backslashes before a number', () => {
    const text = '{"a":"x\\\\","b":99999999999999999999,"c":"\\"12345678901234567890\\""}';
    expect(parseJsonKeepingBigInts(text)).toStrictEqual({ a: 'x\\', b: '99999999999999999999', c: '"12345678901234567890"' });
  });

  it('throws SyntaxError for text that is not JSON', () => {
    expect(() => parseJsonKeepingBigInts('{"id":')).toThrow(SyntaxError);
    expect(() => parseJsonKeepingBigInts('"unterminated')).toThrow(SyntaxError);
  });

  it('agrees with JSON.parse whenever every integer is safe', () => {
    const safeJson = fc.jsonValue().filter((v) => {
      let ok = true;
      JSON.stringify(v, (_k, x: unknown) => {
        if (typeof x === 'number' && Number.isInteger(x) && !Number.isSafeInteger(x)) ok = false;
        return x;
      });
      return ok;
    });
    fc.assert(
      fc.property(safeJson, (v) => {
        const text = JSON.stringify(v);
        expect(parseJsonKeepingBigInts(text)).toStrictEqual(JSON.parse(text));
      }),
    );
  });

  it('round-trips any big id exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.string(), (id, s) => {
        const text = `{"s":${JSON.stringify(s)},"id":${id.toString()}}`;
        const parsed = parseJsonKeepingBigInts(text) as { id: unknown; s: string };
        expect(idString(parsed.id)).toBe(id.toString());
        expect(parsed.s).toBe(s);
      }),
    );
  });

  it('returns the same text when nothing needs quoting', () => {
    const text = '{"a":[1,2,3],"b":"c"}';
    expect(quoteUnsafeIntegers(text)).toBe(text);
  });
});

describe('idString', () => {
  it('accepts digit strings and safe integers only', () => {
    expect(idString('1172200053212681005')).toBe('1172200053212681005');
    expect(idString(42)).toBe('42');
    expect(idString(2 ** 60)).toBeUndefined();
    expect(idString(-1)).toBeUndefined();
    expect(idString('12a')).toBeUndefined();
    expect(idString(undefined)).toBeUndefined();
  });
});
