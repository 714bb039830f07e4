/*
 * Text codecs for Youzan payloads (pure, no I/O):
 *
 * - JSON whose integers may exceed 2^53: long integer literals are quoted before JSON.parse,
 *   so ids reach the code as the exact decimal strings the platform sent.
 * - The `msg` field of push messages: "经过UrlEncode(UTF-8)编码,需要解码" (Youzan message docs,
 *   e.g. https://doc.youzanyun.com/detail/MSG/300). Recorded pushes use Java's URLEncoder
 *   (space as `+`, `%XX` for the rest) and older ones `%20`; form-decoding handles both,
 *   because both encoders turn a literal `+` into `%2B`.
 */

import { isLongIntegerLiteral, quoteNumberLiterals } from '../kit/json.js';

/**
 * Returns `text` with every integer literal of more than 15 digits (outside strings) wrapped in
 * quotes (kit/json's isLongIntegerLiteral). Fractions and exponents are left alone (no platform
 * id has them); digits inside strings are never touched. Malformed JSON stays malformed:
 * JSON.parse reports it afterwards.
 */
export function quoteLongIntegers(text: string): string {
  return quoteNumberLiterals(text, isLongIntegerLiteral);
}

/**
 * JSON.parse that never rounds a long integer: such literals come back as decimal strings.
 * Throws SyntaxError like JSON.parse for malformed input.
 *
 * @example
 * parseJsonExact('{"oid":2793339624048295999,"num":1}'); // { oid: '2793339624048295999', num: 1 }
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(quoteLongIntegers(text)) as unknown;
}

/**
 * Decodes application/x-www-form-urlencoded text: `+` is a space, `%XX` are UTF-8 bytes.
 * Throws URIError on a malformed escape.
 */
export function formDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

/**
 * Encodes like Java's `URLEncoder.encode(s, "UTF-8")`, which is how Youzan encodes `msg`:
 * letters, digits and `.-*_` stay, a space becomes `+`, every other UTF-8 byte `%XX` (upper case).
 * Used by the fake server and the simulator to build pushes byte for byte like the platform.
 */
export function javaUrlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_]/.test(ch)) out += ch;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
