import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isJsonNumberLiteral,
  isLongIntegerLiteral,
  isUnsafeIntegerLiteral,
  parseJsonKeepingBigInts,
  quoteNumberLiterals,
  quoteUnsafeIntegers,
} from './json.js';

describe('parseJsonKeepingBigInts', () => {
  it('keeps a 19-digit Douyin/Taobao id exact (JSON.parse rounds it)', () => {
    const text = '{"shop_order_id":6919461541452546433,"tid":1172200053212681005,"num":2}';
    expect(String((JSON.parse(text) as { tid: number }).tid)).toBe('1172200053212681000');
    expect(parseJsonKeepingBigInts(text)).toStrictEqual({ shop_order_id: '6919461541452546433', tid: '1172200053212681005', num: 2 });
  });

  it('quotes from 2^53 on, both signs, and keeps ±(2^53−1) as numbers', () => {
    expect(parseJsonKeepingBigInts('[9007199254740991,9007199254740992,-9007199254740991,-9007199254740992]')).toStrictEqual([
      9007199254740991,
      '9007199254740992',
      -9007199254740991,
      '-9007199254740992',
    ]);
  });

  it('throws SyntaxError for text that is not JSON, a malformed long literal included', () => {
    expect(() => parseJsonKeepingBigInts('<html>')).toThrow(SyntaxError);
    expect(() => parseJsonKeepingBigInts('[01172200053212681005]')).toThrow(SyntaxError);
    expect(() => parseJsonKeepingBigInts('{"id":1172200053212681005')).toThrow(SyntaxError);
  });
});

describe('quoteNumberLiterals', () => {
  it('quotes what the rule picks and nothing inside strings', () => {
    const text = '{"s":"1172200053212681005 \\" 1172200053212681005","id":1172200053212681005,"x":[1,2.5]}';
    expect(quoteUnsafeIntegers(text)).toBe('{"s":"1172200053212681005 \\" 1172200053212681005","id":"1172200053212681005","x":[1,2.5]}');
    expect(quoteNumberLiterals(text, isJsonNumberLiteral)).toBe(
      '{"s":"1172200053212681005 \\" 1172200053212681005","id":"1172200053212681005","x":["1","2.5"]}',
    );
  });

  it('returns the very same string when nothing is quoted', () => {
    const text = '{"a":[1,-2,3.5e2],"b":"12345678901234567890"}';
    expect(quoteNumberLiterals(text, isLongIntegerLiteral)).toBe(text);
  });

  it('hands each literal over whole, as written', () => {
    const seen: string[] = [];
    quoteNumberLiterals('[0,-1.5e+3,01,1.,"7",-]', (literal) => {
      seen.push(literal);
      return false;
    });
    expect(seen).toStrictEqual(['0', '-1.5e+3', '01', '1.', '-']);
  });

  it('with isJsonNumberLiteral, gives every number as its exact source text (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), fc.string(), (n, s) => {
        const text = `{"s":${JSON.stringify(s)},"n":[${n.toString()},${n.toString()}.25]}`;
        expect(JSON.parse(quoteNumberLiterals(text, isJsonNumberLiteral))).toStrictEqual({ s, n: [n.toString(), `${n.toString()}.25`] });
      }),
    );
  });
});

describe('the quoting rules', () => {
  it('isJsonNumberLiteral: RFC 8259 numbers only', () => {
    for (const ok of ['0', '-0', '25.5', '-1e3', '1E+2', '27061900338318741']) expect(isJsonNumberLiteral(ok), ok).toBe(true);
    for (const bad of ['01', '1.', '.5', '1e', '-', '+1', '1-2']) expect(isJsonNumberLiteral(bad), bad).toBe(false);
  });

  it('isUnsafeIntegerLiteral: well-formed integers beyond ±(2^53−1)', () => {
    expect(isUnsafeIntegerLiteral('9007199254740992')).toBe(true);
    expect(isUnsafeIntegerLiteral('-9007199254740992')).toBe(true);
    expect(isUnsafeIntegerLiteral('9007199254740991')).toBe(false);
    expect(isUnsafeIntegerLiteral('1234567890123456')).toBe(false);
    expect(isUnsafeIntegerLiteral('12345678901234567.5')).toBe(false);
    expect(isUnsafeIntegerLiteral('012345678901234567890')).toBe(false);
  });

  it('isLongIntegerLiteral: more than 15 digits, no fraction or exponent', () => {
    expect(isLongIntegerLiteral('1234567890123456')).toBe(true);
    expect(isLongIntegerLiteral('-1234567890123456')).toBe(true);
    expect(isLongIntegerLiteral('123456789012345')).toBe(false);
    expect(isLongIntegerLiteral('1234567890123456.5')).toBe(false);
  });
});
