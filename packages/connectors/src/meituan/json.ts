/**
 * Lossless JSON for Meituan. Meituan's order ids are 17-19 digit integers ("数据库中请用bigint(20)
 * 存储此字段") and its amounts are yuan written as JSON numbers (25.5). `JSON.parse` turns both
 * into doubles, which loses digits of ids and invites float arithmetic on money; a reviver runs
 * too late (it only sees the double). So a pre-pass wraps every number token outside strings in
 * quotes, and `JSON.parse` then does the rest (grammar, escapes, nesting).
 *
 * Result: every JSON number comes back as a string holding its exact source text
 * (`27061900338318741`, `25.5`, `-1e3`); strings, booleans, null, arrays and objects are as usual.
 * Callers that need a number parse the text themselves (amounts through core's toMinorUnits).
 */
export type LosslessJson = string | boolean | null | readonly LosslessJson[] | { readonly [key: string]: LosslessJson };

// A JSON number exactly as RFC 8259 §6 writes it.
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function quoteNumbers(text: string): string {
  let out = '';
  let i = 0;
  let copiedTo = 0;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      // Skip a string literal verbatim, honouring backslash escapes.
      i += 1;
      while (i < text.length) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i += 2;
        else if (c === 0x22) {
          i += 1;
          break;
        } else i += 1;
      }
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (match !== null) {
        out += text.slice(copiedTo, i) + '"' + match[0] + '"';
        i += match[0].length;
        copiedTo = i;
        continue;
      }
      // Not a valid number: leave it for JSON.parse to reject.
    }
    i += 1;
  }
  return out + text.slice(copiedTo);
}

/**
 * Parses JSON text keeping every number as its source text. Throws SyntaxError on text that is
 * not JSON, exactly as `JSON.parse` would.
 *
 * @example
 * parseJsonLossless('{"order_id":27061900338318741,"total":25.5}');
 * // { order_id: '27061900338318741', total: '25.5' }
 */
export function parseJsonLossless(text: string): LosslessJson {
  return JSON.parse(quoteNumbers(text)) as LosslessJson;
}

export function isJsonObject(value: LosslessJson | undefined): value is { readonly [key: string]: LosslessJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
