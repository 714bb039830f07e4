import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMinorUnits, toMinorUnits } from './money.js';

describe('money', () => {
  it('round-trips any amount in minor units through its decimal string', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.constantFrom('CNY', 'JPY', 'KWD', 'USD'), (minor, cur) => {
        expect(toMinorUnits(formatMinorUnits(minor, cur), cur)).toBe(minor);
      }),
    );
  });
  it('reads JSON numbers exactly through their shortest decimal form', () => {
    expect(toMinorUnits(19.99, 'CNY')).toBe(1999n);
    expect(toMinorUnits(0.1 + 0.2, 'CNY')).toBeUndefined();
    expect(toMinorUnits('0.30', 'CNY')).toBe(30n);
    expect(toMinorUnits(1000, 'JPY')).toBe(1000n);
    expect(toMinorUnits('10.5', 'JPY')).toBeUndefined();
  });
  it('never accepts non-amounts', () => {
    for (const v of ['1e3', 'NaN', '', ' ', '1,000.00', null, {}, Infinity]) expect(toMinorUnits(v, 'CNY')).toBeUndefined();
  });
});
