import { Decimal } from 'decimal.js';

/** ISO 4217 minor-unit exponents for currencies that are not 2. */
const EXPONENTS: Readonly<Record<string, number>> = {
  JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, UGX: 0, XAF: 0, XOF: 0, XPF: 0, PYG: 0, RWF: 0, KMF: 0, GNF: 0, DJF: 0, VUV: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
};

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

const CURRENCY = /^[A-Z]{3}$/;

export function isCurrencyCode(v: unknown): v is string {
  return typeof v === 'string' && CURRENCY.test(v);
}

/**
 * Converts an amount given as a decimal string or a JSON number into integer minor units,
 * exactly (a JSON number is read through its shortest decimal form, so 19.99 is 1999).
 * Undefined when it is not a finite amount or has more decimals than the currency allows.
 */
export function toMinorUnits(amount: unknown, currency: string): bigint | undefined {
  let d: Decimal;
  try {
    if (typeof amount === 'number') {
      if (!Number.isFinite(amount)) return undefined;
      d = new Decimal(String(amount));
    } else if (typeof amount === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(amount)) {
      d = new Decimal(amount.trim());
    } else return undefined;
  } catch {
    return undefined;
  }
  const scaled = d.times(new Decimal(10).pow(currencyExponent(currency)));
  if (!scaled.isInteger()) return undefined;
  return BigInt(scaled.toFixed(0));
}

/** Formats integer minor units as a decimal string, e.g. 1999n CNY → "19.99". */
export function formatMinorUnits(minor: bigint, currency: string): string {
  const exp = currencyExponent(currency);
  return new Decimal(minor.toString()).dividedBy(new Decimal(10).pow(exp)).toFixed(exp);
}
