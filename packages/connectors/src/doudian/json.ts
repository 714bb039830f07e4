import { DatongError } from '@datong/core';

/*
 * JSON helpers for Douyin shop (抖店) traffic.
 *
 * 1. `parseJsonLossless`: Douyin's ids (p_id, s_ids, shop_id, order ids, aftersale_id,
 *    author_id, room_id…) are 19-digit integers, above 2^53, and the platform sends many of them
 *    as bare JSON numbers. `JSON.parse` rounds them before any reviver sees them, so this is a
 *    small recursive-descent parser of our own: every integer literal that is not a safe
 *    integer comes back as its exact decimal string; everything else is what JSON.parse gives.
 *
 * 2. `marshalParamJson`: the `param_json` of an Open API call, serialized exactly as the
 *    official SDKs do before signing (签名算法, https://op.jinritemai.com/docs/guide-docs/10/813):
 *    object keys sorted recursively, no whitespace, and no escaping of HTML characters, `/`,
 *    CJK or emoji ("附加符号、中日韩、Emoji都不转义"). The Go SDK (encoding/json with
 *    SetEscapeHTML(false) over a map) and the PHP demo (rec_ksort + JSON_UNESCAPED_SLASHES |
 *    JSON_UNESCAPED_UNICODE) both still escape U+2028/U+2029, so this does too.
 *
 * 3. `stringifyJson`: plain compact JSON in insertion order that writes `bigint` values as bare
 *    integer literals, so the fake server and fixtures can emit ids the way the platform does.
 */

const MAX_DEPTH = 64;

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): unknown {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(reason: string): never {
    throw new DatongError('MESSAGE_INVALID', `invalid JSON at offset ${this.pos}: ${reason}`);
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      // JSON whitespace: space, tab, line feed, carriage return.
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos += 1;
      else return;
    }
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T>(word: string, result: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return result;
    }
    return this.fail(`expected ${word}`);
  }

  private object(depth: number): Record<string, unknown> {
    this.pos += 1; // {
    // A null-prototype object: a key named "__proto__" stays an ordinary property.
    const result = Object.create(null) as Record<string, unknown>;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a property name');
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos += 1;
      this.skipWhitespace();
      result[key] = this.value(depth + 1);
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === '}') return result;
      if (next !== ',') this.fail('expected "," or "}"');
    }
  }

  private array(depth: number): unknown[] {
    this.pos += 1; // [
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      result.push(this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === ']') return result;
      if (next !== ',') this.fail('expected "," or "]"');
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos += 1; // opening quote
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) break; // closing quote
      if (c < 0x20) this.fail('control character in string');
      this.pos += c === 0x5c ? 2 : 1; // a backslash skips the escaped character
    }
    this.pos += 1;
    // The token is well delimited; JSON.parse decodes its escapes exactly (and rejects bad ones).
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail('invalid escape in string');
    }
  }

  private number(): number | string {
    const match = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (match === null) return this.fail('invalid number');
    const token = match[0];
    this.pos += token.length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    const value = Number(token);
    // Integers past 2^53 keep their exact digits; the normalizer treats them as ids.
    if (isInteger && !Number.isSafeInteger(value)) return token;
    return value;
  }
}

/**
 * Parses JSON text; integer literals outside the safe range come back as decimal strings.
 * Throws MESSAGE_INVALID on malformed input. Objects have a null prototype.
 *
 * @example
 * parseJsonLossless('{"p_id":4781320682406083640}') // { p_id: '4781320682406083640' }
 */
export function parseJsonLossless(text: string): unknown {
  return new Parser(text).parse();
}

const HEX = '0123456789abcdef';

function escapeString(value: string, forParamJson: boolean): string {
  let out = '"';
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else if (code === 0x08) out += '\\b';
    else if (code === 0x0c) out += '\\f';
    else if (code < 0x20) out += `\\u00${HEX[code >> 4] ?? '0'}${HEX[code & 0xf] ?? '0'}`;
    else if (forParamJson && (code === 0x2028 || code === 0x2029)) out += `\\u${code.toString(16)}`;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += value[i] ?? '';
        out += value[i + 1] ?? '';
        i += 1;
      } else {
        // A lone surrogate has no UTF-8 form: the Go SDK writes U+FFFD for invalid UTF-8.
        out += '\ufffd';
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) out += '\ufffd';
    else out += value[i] ?? '';
  }
  return `${out}"`;
}

/** Byte-wise comparison of the UTF-8 forms, the order Go's encoding/json gives map keys. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function write(value: unknown, sortKeys: boolean, forParamJson: boolean, depth: number): string | undefined {
  if (depth > MAX_DEPTH) throw new DatongError('INTERNAL', `JSON nesting deeper than ${MAX_DEPTH}`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return escapeString(value, forParamJson);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new DatongError('INTERNAL', 'JSON cannot hold a non-finite number');
      // Decimal fractions are formatted differently by Go, PHP and JavaScript; the business
      // parameters this connector sends are integers and strings, so refuse anything else.
      if (forParamJson && !Number.isSafeInteger(value)) {
        throw new DatongError('INTERNAL', 'param_json numbers must be safe integers (send larger ids as strings)');
      }
      return JSON.stringify(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => write(item, sortKeys, forParamJson, depth + 1) ?? 'null').join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (sortKeys) entries.sort(([a], [b]) => compareUtf8(a, b));
  const parts: string[] = [];
  for (const [key, item] of entries) {
    const encoded = write(item, sortKeys, forParamJson, depth + 1);
    if (encoded !== undefined) parts.push(`${escapeString(key, forParamJson)}:${encoded}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The `param_json` string of an Open API call: keys sorted recursively (byte order), compact,
 * `/`, `<`, `>`, `&`, `'`, CJK and emoji written as is. `undefined` properties are left out.
 *
 * @example
 * marshalParamJson({ size: 100, page: 0, order_by: 'update_time' })
 * // '{"order_by":"update_time","page":0,"size":100}'
 */
export function marshalParamJson(params: Readonly<Record<string, unknown>>): string {
  return write(params, true, true, 0) ?? '{}';
}

/** Compact JSON in insertion order; `bigint` values are written as bare integers. */
export function stringifyJson(value: unknown): string {
  const encoded = write(value, false, false, 0);
  if (encoded === undefined) throw new DatongError('INTERNAL', 'value has no JSON form');
  return encoded;
}
