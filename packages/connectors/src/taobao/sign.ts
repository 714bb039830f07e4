import { createHash, createHmac } from 'node:crypto';
import { DatongError } from '@datong/core';
import type { TopSignMethod } from './config.js';

/*
 * TOP request signing, as open.taobao.com "API调用方法详解" (docId 101617, section 签名算法)
 * describes it, and as the official TOP SDKs (TaobaoUtils.signTopRequest / TopUtils.SignTopRequest)
 * implement it:
 *
 * 1. Take every request parameter, system and business, except `sign` (and file/byte[] ones,
 *    which Datong never sends); parameters whose value is empty take no part (the SDKs skip
 *    `areNotEmpty(key, value)` failures).
 * 2. Sort them by name in ASCII order: bar, foo, foo_bar, foobar.
 * 3. Concatenate name and value: bar2foo1foo_bar3foobar4.
 * 4. Digest the UTF-8 bytes: md5 → md5(secret + str + secret); hmac → HMAC-MD5 keyed with the
 *    secret; hmac-sha256 → HMAC-SHA256 keyed with the secret.
 * 5. Upper-case hex (32 characters for md5/hmac, 64 for hmac-sha256).
 */

/** The string that is digested: sorted `name + value` pairs, without `sign` and empty values. */
export function topSignBaseString(params: Readonly<Record<string, string | undefined>>): string {
  const names = Object.keys(params)
    .filter((name) => name !== '' && name !== 'sign')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = '';
  for (const name of names) {
    const value = params[name];
    if (value === undefined || value === '') continue;
    out += name + value;
  }
  return out;
}

/**
 * The `sign` of a TOP request. Throws CONNECTOR_CONFIG_INVALID when the secret is empty: an
 * unsigned (or secret-less) request is never sent.
 *
 * @example
 * signTopRequest({ method: 'taobao.item.seller.get', app_key: '12345678', … }, 'helloworld', 'md5');
 * // '66987CB115214E59E6EC978214934FB8' (the doc's worked example)
 */
export function signTopRequest(
  params: Readonly<Record<string, string | undefined>>,
  secret: string,
  method: TopSignMethod,
): string {
  if (typeof secret !== 'string' || secret === '') {
    throw new DatongError('CONNECTOR_CONFIG_INVALID', 'Taobao appSecret is missing: TOP requests cannot be signed');
  }
  const base = topSignBaseString(params);
  switch (method) {
    case 'md5':
      return createHash('md5').update(secret + base + secret, 'utf8').digest('hex').toUpperCase();
    case 'hmac':
      return createHmac('md5', Buffer.from(secret, 'utf8')).update(base, 'utf8').digest('hex').toUpperCase();
    case 'hmac-sha256':
      return createHmac('sha256', Buffer.from(secret, 'utf8')).update(base, 'utf8').digest('hex').toUpperCase();
    default: {
      const unknown: never = method;
      throw new DatongError('CONNECTOR_CONFIG_INVALID', `Unknown TOP sign_method ${String(unknown)}`);
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * Times. TOP writes every time as `yyyy-MM-dd HH:mm:ss` in GMT+8 (公共参数 timestamp: "时区为
 * GMT+8，例如：2016-01-01 12:00:00"), in requests and in answers alike.
 * ------------------------------------------------------------------------------------------- */

const GMT8_MS = 8 * 60 * 60 * 1000;
const TOP_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `date` as TOP writes it: `yyyy-MM-dd HH:mm:ss` in GMT+8 (milliseconds dropped). */
export function formatTopTime(date: Date): string {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new DatongError('INTERNAL', 'formatTopTime: invalid date');
  const d = new Date(t + GMT8_MS);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** Parses a TOP time (GMT+8) into epoch milliseconds; undefined when it is not one (or not a real date). */
export function parseTopTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TOP_TIME.exec(value);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  // Reject 2024-02-31 and the like: Date.UTC would roll them over.
  const check = new Date(utc);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
  return utc - GMT8_MS;
}

/**
 * A TOP time as ISO 8601 with its own +08:00 offset ("2024-03-01 12:00:00" →
 * "2024-03-01T12:00:00+08:00"): the platform's clock, unchanged. Undefined when not a TOP time.
 */
export function topTimeToIso(value: unknown): string | undefined {
  if (parseTopTime(value) === undefined) return undefined;
  return `${(value as string).replace(' ', 'T')}+08:00`;
}
