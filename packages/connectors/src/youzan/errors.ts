import { DatongError, type ErrorCode } from '@datong/core';

/*
 * Youzan error codes → Datong codes. Youzan answers errors with HTTP 200 in three shapes:
 *   /auth/token     {"success":false,"code":1103,"data":null,"message":"Client 不存在"}
 *   /api gateway    {"gw_err_resp":{"err_code":4201,"err_msg":"非法的请求凭证","trace_id":"…"}}
 *   /api business   {"success":false,"code":106000001,"message":"…","data":null}
 * Sources: 全局错误码 (https://doc.youzanyun.com/resource/doc/3027), 获取 token 错误码
 * (https://doc.youzanyun.com/resource/doc/3031), 限流说明 (https://doc.youzanyun.com/resource/develop-guide/27027/41693),
 * and the error tables of youzan.trades.sold.get / youzan.trade.get. Codes not listed become
 * PLATFORM_ERROR with the code and message in the detail.
 */

/** The Youzan calls this connector makes (also the names passed to `deps.rateLimit`). */
export type YouzanApi = 'auth.token' | 'youzan.trades.sold.get' | 'youzan.trade.get';

/** Which of Youzan's three error shapes a code came from. */
export type YouzanErrorLayer = 'token' | 'gateway' | 'business';

export type YouzanErrorRule =
  | {
      readonly action: 'fail';
      readonly code: ErrorCode;
      /** Mirrors the catalog entry of `code`; kept here so the table reads as a whole. */
      readonly transient: boolean;
      readonly meaning: string;
    }
  | {
      /** The access_token was refused: fetch the current one and retry once. */
      readonly action: 'refresh_token';
      readonly meaning: string;
    };

const fail = (code: ErrorCode, transient: boolean, meaning: string): YouzanErrorRule => ({ action: 'fail', code, transient, meaning });
const refresh = (meaning: string): YouzanErrorRule => ({ action: 'refresh_token', meaning });

/** POST /auth/token (authorize_type=silent). */
export const YOUZAN_TOKEN_RULES: ReadonlyMap<number, YouzanErrorRule> = new Map([
  [1000, fail('CONNECTOR_CONFIG_INVALID', false, 'app info wrong: client_secret is not right')],
  [1004, fail('CONNECTOR_CONFIG_INVALID', false, 'the shop’s authorization of the app has expired')],
  [1005, fail('CONNECTOR_CONFIG_INVALID', false, 'invalid authorization code')],
  [1103, fail('CONNECTOR_CONFIG_INVALID', false, 'client_id unknown, or the shop (grant_id) has not authorized the app')],
  [1105, fail('CONNECTOR_CONFIG_INVALID', false, 'app type not supported (not a self-built app)')],
]);

/** gw_err_resp.err_code of /api/{name}/{version}. */
export const YOUZAN_GATEWAY_RULES: ReadonlyMap<number, YouzanErrorRule> = new Map([
  [4001, fail('PLATFORM_ERROR', false, 'illegal request path')],
  [4004, fail('PLATFORM_ERROR', false, 'illegal content')],
  [4005, fail('PLATFORM_ERROR', false, 'unknown API name or version')],
  [4007, fail('PLATFORM_ERROR', false, 'illegal request (method, content type, or caller IP not whitelisted)')],
  [4008, fail('PLATFORM_ERROR', false, 'API does not support rich text')],
  [4009, fail('PLATFORM_ERROR', false, 'openid does not exist')],
  [4010, fail('PLATFORM_ERROR', false, 'parameter type mismatch')],
  [4101, fail('PLATFORM_RATE_LIMITED', true, 'requests too frequent (throttled)')],
  [4201, refresh('illegal access token (missing, or authorization ended)')],
  [4202, refresh('access token expired')],
  [4203, refresh('access token does not exist')],
  [4204, fail('CONNECTOR_CONFIG_INVALID', false, 'no permission for this API (capability package not granted)')],
  [5001, fail('PLATFORM_ERROR', false, 'system error (often a wrongly typed parameter)')],
  [5002, fail('PLATFORM_ERROR', false, 'business error')],
  [5003, fail('PLATFORM_ERROR', false, 'plugin execution error')],
]);

/** `code` of business answers. */
export const YOUZAN_BUSINESS_RULES: ReadonlyMap<number, YouzanErrorRule> = new Map([
  [500100004, fail('PLATFORM_RATE_LIMITED', true, 'request throttled')],
  [123000042, fail('PLATFORM_RATE_LIMITED', true, 'request throttled')],
  [141500203, fail('PLATFORM_RATE_LIMITED', true, 'api rate limiting')],
  [106000001, fail('PLATFORM_UNREACHABLE', true, 'order search timed out, retry')],
  [106100118, fail('PLATFORM_UNREACHABLE', true, 'order search timed out, retry')],
  [106000003, fail('PLATFORM_ERROR', false, 'end time later than 7 days from now')],
  [5000, fail('PLATFORM_ERROR', false, 'request refused (e.g. trade not found, page size over 100)')],
  [106000004, fail('PLATFORM_ERROR', false, 'illegal order number')],
  [106100110, fail('PLATFORM_ERROR', false, 'illegal order number')],
]);

const DEFAULT_RULE = fail('PLATFORM_ERROR', false, 'Youzan answered with an error');

/** Codes meaning "this order does not exist (for this shop)" on youzan.trade.get. */
export const YOUZAN_ORDER_NOT_FOUND_CODES: ReadonlySet<number> = new Set([5000, 106000004, 106100110]);

/** The rule for a Youzan error code. 4007 is CONNECTOR_CONFIG_INVALID when it is the IP whitelist. */
export function ruleForYouzanCode(layer: YouzanErrorLayer, code: number, message = ''): YouzanErrorRule {
  const table = layer === 'token' ? YOUZAN_TOKEN_RULES : layer === 'gateway' ? YOUZAN_GATEWAY_RULES : YOUZAN_BUSINESS_RULES;
  if (layer === 'gateway' && code === 4007 && /IP|白名单/.test(message)) {
    return fail('CONNECTOR_CONFIG_INVALID', false, 'caller IP is not in the app’s IP whitelist');
  }
  if (layer === 'business' && /限流|rate limit/i.test(message)) return fail('PLATFORM_RATE_LIMITED', true, 'request throttled');
  return table.get(code) ?? DEFAULT_RULE;
}

const MAX_MESSAGE_LENGTH = 200;

/**
 * A DatongError for a Youzan error. The platform's message (and trace_id, for support tickets)
 * goes into the detail after `redact` values are masked. A refresh_token rule becomes
 * CONNECTOR_CONFIG_INVALID: a caller reaching here already fetched a new token and was refused
 * again, which means the shop's authorization has ended.
 */
export function youzanError(
  api: YouzanApi,
  layer: YouzanErrorLayer,
  code: number,
  message: string | undefined,
  options: { readonly traceId?: string | undefined; readonly redact?: readonly string[] } = {},
): DatongError {
  const rule = ruleForYouzanCode(layer, code, message ?? '');
  let text = (message ?? '').slice(0, MAX_MESSAGE_LENGTH);
  for (const value of options.redact ?? []) {
    if (value !== '') text = text.split(value).join('***');
  }
  const datongCode: ErrorCode = rule.action === 'fail' ? rule.code : 'CONNECTOR_CONFIG_INVALID';
  return new DatongError(datongCode, `Youzan ${api} ${layer} error ${code} (${rule.meaning}): ${text}`, {
    meta: { platform: 'youzan', api, layer, youzanCode: code, youzanMessage: text, ...(options.traceId === undefined ? {} : { traceId: options.traceId }) },
  });
}
