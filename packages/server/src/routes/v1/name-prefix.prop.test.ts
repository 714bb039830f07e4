import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixUpperBound } from './customers.routes.js';

/** Code point order, which is the byte order of UTF-8 and of PostgreSQL's text_pattern_ops. */
const cmp = (a: string, b: string): number => {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
};

const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'z', '李', '\u{10FFFF}', '\uD7FF', '\uE000'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 6 });

describe('name prefix search range', () => {
  it('holds exactly the strings that start with the prefix: [prefix, upper)', () => {
    fc.assert(
      fc.property(text, text, (prefix, other) => {
        const upper = prefixUpperBound(prefix);
        const inRange = cmp(other, prefix) >= 0 && (upper === null || cmp(other, upper) < 0);
        expect(inRange).toBe(other.startsWith(prefix));
        expect(upper === null || cmp(prefix + other, upper) < 0).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('steps over the surrogate range and past U+10FFFF', () => {
    expect(prefixUpperBound('li')).toBe('lj');
    expect(prefixUpperBound('\uD7FF')).toBe('\uE000');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\u{10FFFF}')).toBeNull();
  });
});
