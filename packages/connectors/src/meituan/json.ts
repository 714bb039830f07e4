import { isJsonNumberLiteral, quoteNumberLiterals } from '../kit/json.js';

/**
 * Lossless JSON for Meituan. Meituan's order ids are 17-19 digit integers ("数据库中请用bigint(20)
 * 存储此字段") and its amounts are yuan written as JSON numbers (25.5). `JSON.parse` turns both
 * into doubles, which loses digits of ids and invites float arithmetic on money; a reviver runs
 * too late (it only sees the double). So kit/json's pre-pass wraps every number literal outside
 * strings in quotes, and `JSON.parse` then does the rest (grammar, escapes, nesting).
 *
 * Result: every JSON number comes back as a string holding its exact source text
 * (`27061900338318741`, `25.5`, `-1e3`); strings, booleans, null, arrays and objects are as usual.
 * Callers that need a number parse the text themselves (amounts through core's toMinorUnits).
 */
export type LosslessJson = string | boolean | null | readonly LosslessJson[] | { readonly [key: string]: LosslessJson };

/**
 * Parses JSON text keeping every number as its source text. Throws SyntaxError on text that is
 * not JSON, exactly as `JSON.parse` would.
 *
 * @example
 * parseJsonLossless('{"order_id":27061900338318741,"total":25.5}');
 * // { order_id: '27061900338318741', total: '25.5' }
 */
export function parseJsonLossless(text: string): LosslessJson {
  return JSON.parse(quoteNumberLiterals(text, isJsonNumberLiteral)) as LosslessJson;
}

export function isJsonObject(value: LosslessJson | undefined): value is { readonly [key: string]: LosslessJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
