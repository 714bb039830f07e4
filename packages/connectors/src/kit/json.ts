/*
 * Lossless JSON for platform answers and pushes (pure, no platform knowledge).
 *
 * Platforms send ids as bare JSON numbers that are often beyond 2^53 (Taobao trade and TMC ids,
 * Youzan order ids, Meituan order ids: 17-19 digits). `JSON.parse` rounds them before any
 * reviver sees them. So the raw text is scanned first, and the number literals a platform wants
 * kept exact are wrapped in quotes; `JSON.parse` then does the rest (grammar, escapes, nesting)
 * and those literals come back as strings holding their exact source text.
 *
 * Which literals are quoted is the caller's choice (`shouldQuote`); the common rules are below.
 * Douyin shop (doudian/json.ts) has its own recursive-descent parser instead, for its
 * null-prototype objects, depth limit and MESSAGE_INVALID errors.
 */

function isNumberChar(c: number): boolean {
  // 0-9 . e E + -
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * Returns `text` with every number literal outside strings for which `shouldQuote(literal)` is
 * true wrapped in double quotes (the same string when none is). A literal is the longest run of
 * `0-9 . e E + -` that starts with `-` or a digit, exactly as it stands in the text, so a
 * malformed one (`01`, `1.`, `1e`) reaches `shouldQuote` whole; the predicates below leave
 * those alone and JSON.parse rejects them afterwards. The scan honours backslash escapes, so
 * digits inside strings are never touched.
 *
 * @example
 * quoteNumberLiterals('{"id":1172200053212681005,"n":3}', isUnsafeIntegerLiteral);
 * // '{"id":"1172200053212681005","n":3}'
 */
export function quoteNumberLiterals(text: string, shouldQuote: (literal: string) => boolean): string {
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
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
      const start = i;
      i += 1;
      while (i < n && isNumberChar(text.charCodeAt(i))) i += 1;
      const literal = text.slice(start, i);
      if (shouldQuote(literal)) {
        out += `${text.slice(copiedUpTo, start)}"${literal}"`;
        copiedUpTo = i;
      }
      continue;
    }
    i += 1;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

/** A JSON number exactly as RFC 8259 §6 writes it. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const JSON_INTEGER = /^-?(?:0|[1-9]\d*)$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** True for any well-formed JSON number literal (`25.5`, `-1e3`, `27061900338318741`). */
export function isJsonNumberLiteral(literal: string): boolean {
  return JSON_NUMBER.test(literal);
}

/** True for an integer literal outside ±(2^53−1), which JSON.parse would round. */
export function isUnsafeIntegerLiteral(literal: string): boolean {
  if (!JSON_INTEGER.test(literal)) return false;
  const digits = literal.startsWith('-') ? literal.length - 1 : literal.length;
  if (digits <= 15) return false;
  const value = BigInt(literal);
  return value > MAX_SAFE || value < -MAX_SAFE;
}

/**
 * True for a literal of only digits (after an optional `-`) with more than 15 of them: a
 * cheaper, wider rule than isUnsafeIntegerLiteral (2^53 has 16 digits; 15 are always safe), so
 * some safe 16-digit integers are quoted too. Fractions and exponents never are.
 */
export function isLongIntegerLiteral(literal: string): boolean {
  return /^-?\d{16,}$/.test(literal);
}

/**
 * The JSON text with every unsafe integer literal (outside strings) turned into a string literal.
 *
 * @example
 * quoteUnsafeIntegers('[9007199254740991,9007199254740992]'); // '[9007199254740991,"9007199254740992"]'
 */
export function quoteUnsafeIntegers(text: string): string {
  return quoteNumberLiterals(text, isUnsafeIntegerLiteral);
}

/**
 * JSON.parse that keeps integers beyond ±(2^53−1) exact, as decimal strings; safe integers and
 * all non-integers stay numbers. Throws SyntaxError for text that is not JSON, like JSON.parse.
 *
 * @example
 * parseJsonKeepingBigInts('{"id":1172200053212681005,"n":3}'); // { id: '1172200053212681005', n: 3 }
 */
export function parseJsonKeepingBigInts(text: string): unknown {
  return JSON.parse(quoteUnsafeIntegers(text)) as unknown;
}
