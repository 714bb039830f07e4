import { createHash } from 'node:crypto';

/*
 * Meituan's request signature (签名算法), the same for pushes Meituan sends and for API calls
 * Datong makes:
 *
 *   1. take every parameter except `sig` (query and form parameters together, system parameters
 *      app_id and timestamp included), with its value as text: not URL-encoded, Chinese kept as is
 *      ("参数中若包含中文，中文保持原文即可");
 *   2. sort them by name and join as name=value with "&";
 *   3. concatenate: URL without its query string + "?" + that string + app_secret;
 *   4. sig = md5 of the UTF-8 bytes, 32 lower-case hex digits.
 *
 * Example from the 签名算法 page (parameters app_id=0000, app_poi_code=31号测试店,
 * timestamp=1389751221 on https://waimaiopen.meituan.com/api/v1/order/getOrderDaySeq); verify.test.ts
 * checks it with the secret and digest published alongside it in a public SDK test.
 *
 * Parameters with an empty value are signed as `name=` like any other: the official Java SDK's
 * URLFactory.concatParams and the SigCheck of kuangcao/meituanwaimai-sdk keep every key.
 */

export type SignParams = Readonly<Record<string, string>> | Iterable<readonly [string, string]>;

function entriesOf(params: SignParams): [string, string][] {
  const list: [string, string][] = [];
  const iterable: Iterable<readonly [string, string]> =
    Symbol.iterator in params ? (params as Iterable<readonly [string, string]>) : Object.entries(params);
  for (const [name, value] of iterable) {
    if (name === 'sig') continue;
    list.push([name, value]);
  }
  // Code-unit order, as Java's String.compareTo (the SDK's Arrays.sort / TreeMap) sorts.
  list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return list;
}

/** The URL as it is signed: without query string and fragment, otherwise unchanged. */
export function urlForSigning(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

/** The exact string Meituan hashes (contains the secret: never log it). */
export function meituanSignatureBase(url: string, params: SignParams, appSecret: string): string {
  const sorted = entriesOf(params)
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return `${urlForSigning(url)}?${sorted}${appSecret}`;
}

/**
 * The `sig` of a request to or from Meituan: lower-case hex md5.
 *
 * @example
 * meituanSig('https://waimaiopen.meituan.com/api/v1/order/getOrderDetail',
 *   { app_id: '143183', order_id: '27061900338318741', timestamp: '1700000000' }, appSecret);
 */
export function meituanSig(url: string, params: SignParams, appSecret: string): string {
  return createHash('md5').update(meituanSignatureBase(url, params, appSecret), 'utf8').digest('hex');
}
