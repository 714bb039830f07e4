/*
 * TOP answers in JSON with ids as JSON numbers: trade ids (`tid`, `oid`) and TMC message ids are
 * 19 digits today (e.g. 1172200053212681005), beyond Number.MAX_SAFE_INTEGER. They are parsed with
 * kit/json's parseJsonKeepingBigInts: every integer literal outside the safe range comes back as
 * its exact decimal string; safe integers and all non-integers stay JSON numbers.
 */
export { parseJsonKeepingBigInts, quoteUnsafeIntegers } from '../kit/json.js';

/**
 * An id from a TOP payload as a decimal string: a string of digits as is, a safe non-negative
 * integer number printed. Undefined for anything else (a rounded unsafe number included).
 */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return /^\d{1,30}$/.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n) return value.toString();
  return undefined;
}
