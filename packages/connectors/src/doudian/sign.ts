import { createHash, createHmac } from 'node:crypto';
import { DatongError } from '@datong/core';
import { timingSafeEqualStr } from '../kit/crypto.js';

/*
 * Open API request signing (签名算法, https://op.jinritemai.com/docs/guide-docs/10/813, and the
 * official Go SDK's utils.Sign / core.DoudianOpApiClient):
 *
 *   param_pattern = "app_key" + app_key + "method" + method + "param_json" + param_json
 *                 + "timestamp" + timestamp + "v" + v
 *   sign_pattern  = app_secret + param_pattern + app_secret
 *   sign          = hex(HMAC-SHA256(key = app_secret, sign_pattern))     sign_method=hmac-sha256
 *                 = hex(MD5(sign_pattern))                               sign_method=md5 (older)
 *
 * `param_json` is the business parameters marshalled by `marshalParamJson` (json.ts). The
 * timestamp is Unix seconds and must be within ±300 s of the platform's clock ("当前时间-300秒
 * <=入参时间<=当前时间+300秒"); `v` is "2". The request is a POST to `{base}/{method with "." → "/"}`
 * whose query carries app_key, method, v, timestamp, sign, sign_method and access_token (not for
 * token.create/token.refresh), and whose body is the same param_json.
 */

export type DoudianSignMethod = 'hmac-sha256' | 'md5';

/** The replay window of signed API requests, in seconds, as the platform enforces it. */
export const API_TIMESTAMP_WINDOW_SECONDS = 300;

export interface ApiSignInput {
  readonly appKey: string;
  readonly appSecret: string;
  /** Dotted method name, e.g. `order.searchList`. */
  readonly method: string;
  /** The exact param_json string sent as the body. */
  readonly paramJson: string;
  /** Unix seconds, as sent in the query. */
  readonly timestamp: string;
  /** Protocol version; always "2" today. */
  readonly v?: string;
}

/** The string that is signed (secret on both ends). Exposed for known-answer tests. */
export function apiSignPattern(input: ApiSignInput): string {
  const paramPattern = `app_key${input.appKey}method${input.method}param_json${input.paramJson}timestamp${input.timestamp}v${input.v ?? '2'}`;
  return `${input.appSecret}${paramPattern}${input.appSecret}`;
}

/**
 * The `sign` query parameter of an Open API call, lower-case hex.
 *
 * @example
 * signApiRequest({ appKey, appSecret, method: 'order.searchList', paramJson: '{"page":0,"size":100}', timestamp: '1700000000' })
 */
export function signApiRequest(input: ApiSignInput, signMethod: DoudianSignMethod = 'hmac-sha256'): string {
  if (input.appSecret === '') throw new DatongError('CONNECTOR_CONFIG_INVALID', 'Douyin shop App Secret is empty');
  const pattern = apiSignPattern(input);
  return signMethod === 'md5'
    ? createHash('md5').update(pattern, 'utf8').digest('hex')
    : createHmac('sha256', input.appSecret).update(pattern, 'utf8').digest('hex');
}

/** The query parameters of a signed call, in the order the official SDK lists them. */
export interface SignedApiQuery {
  readonly app_key: string;
  readonly method: string;
  readonly timestamp: string;
  readonly sign: string;
  readonly v: string;
  readonly sign_method: DoudianSignMethod;
  readonly access_token?: string;
}

/** The URL path of a method: `order.searchList` → `/order/searchList`. */
export function methodPath(method: string): string {
  return `/${method.replace(/\./g, '/')}`;
}

export interface ApiRequestToCheck {
  /** The query parameters as received. */
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The request body as received (the param_json). */
  readonly body: string;
}

/**
 * Checks a signed Open API request the way the platform does: known app_key, a `sign` that
 * matches (constant-time compare), and a timestamp within ±300 s of `now`. Used by the fake
 * server; pure. Throws CONNECTOR_SIGNATURE_INVALID or CONNECTOR_REPLAY_REJECTED.
 */
export function verifyApiRequest(
  request: ApiRequestToCheck,
  credentials: { readonly appKey: string; readonly appSecret: string },
  now: Date,
): { readonly method: string; readonly paramJson: string } {
  const { query } = request;
  const method = query['method'] ?? '';
  const sign = (query['sign'] ?? '').toLowerCase();
  const timestamp = query['timestamp'] ?? '';
  const signMethod = query['sign_method'] ?? 'md5';
  if (credentials.appSecret === '') throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'no App Secret to verify with');
  if (query['app_key'] !== credentials.appKey) throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'unknown app_key');
  if (signMethod !== 'md5' && signMethod !== 'hmac-sha256') {
    throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'unsupported sign_method');
  }
  if (method === '' || sign === '' || !/^\d{1,12}$/.test(timestamp)) {
    throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'method, sign or timestamp missing');
  }
  const expected = signApiRequest(
    { appKey: credentials.appKey, appSecret: credentials.appSecret, method, paramJson: request.body, timestamp, v: query['v'] ?? '' },
    signMethod,
  );
  if (!timingSafeEqualStr(sign, expected)) throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'sign does not match');
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp));
  if (skew > API_TIMESTAMP_WINDOW_SECONDS) {
    throw new DatongError('CONNECTOR_REPLAY_REJECTED', `timestamp is ${skew} s away from now`);
  }
  return { method, paramJson: request.body };
}
