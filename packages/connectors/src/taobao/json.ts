/*
 * TOP answers in JSON with ids as JSON numbers: trade ids (`tid`, `oid`) and TMC message ids are
 * 19 digits today (e.g. 1172200053212681005), beyond Number.MAX_SAFE_INTEGER. JSON.parse would
 * silently round them, and a reviver sees the rounded number. So the raw text is scanned first
 * and every integer literal outside the safe range is quoted, then JSON.parse runs on the result.
 * Safe integers and all non-integers stay JSON numbers.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function isUnsafeInteger(token: string): boolean {
  const digits = token.startsWith('-') ? token.slice(1) : token;
  if (digits.length <= 15) return false;
  const n = BigInt(token);
  return n > MAX_SAFE || n < -MAX_SAFE;
}

const NUMBER_AT = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** The JSON text with every unsafe integer literal (outside strings) turned into a string literal. */
export function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let i = 0;
  let copiedUpTo = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string literal, honouring backslash escapes.
      i += 1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i += 1;
          break;
        } else i += 1;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER_AT.lastIndex = i;
      const m = NUMBER_AT.exec(text);
      if (m === null) {
        i += 1;
        continue;
      }
      const token = m[0];
      if (m[1] === undefined && m[2] === undefined && isUnsafeInteger(token)) {
        out += `${text.slice(copiedUpTo, i)}"${token}"`;
        copiedUpTo = i + token.length;
      }
      i += token.length;
      continue;
    }
    i += 1;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/**
 * JSON.parse that keeps integers beyond ±(2^53−1) exact, as decimal strings. Throws SyntaxError
 * for text that is not JSON, like JSON.parse.
 *
 * @example
 * parseJsonKeepingBigInts('{"id":1172200053212681005,"n":3}'); // { id: '1172200053212681005', n: 3 }
 */
export function parseJsonKeepingBigInts(text: string): unknown {
  return JSON.parse(quoteUnsafeIntegers(text)) as unknown;
}

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
