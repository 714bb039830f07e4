import { DatongError, type ErrorCode } from '@datong/core';

/*
 * WeChat errcode → Datong code. Sources: the errcode tables of code2Session, getPhoneNumber
 * and getStableAccessToken (links in payloads.ts), and getAccessToken for 40001/40164/40243
 * (https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-access-token/api_getaccesstoken.html).
 * Codes not listed become PLATFORM_ERROR with the errcode and errmsg in the detail.
 */

/** The WeChat server APIs this connector calls. */
export type WechatApi = 'jscode2session' | 'stable_token' | 'getuserphonenumber';

export type WechatErrcodeRule =
  | {
      readonly action: 'fail';
      readonly code: ErrorCode;
      /** Mirrors the catalog entry of `code`; kept here so the table reads as a whole. */
      readonly transient: boolean;
      readonly meaning: string;
    }
  | {
      /** The access_token was rejected: drop it, fetch a new one and retry once. */
      readonly action: 'refresh_token';
      readonly meaning: string;
    };

const fail = (code: ErrorCode, transient: boolean, meaning: string): WechatErrcodeRule => ({
  action: 'fail',
  code,
  transient,
  meaning,
});
const refresh = (meaning: string): WechatErrcodeRule => ({ action: 'refresh_token', meaning });

export const WECHAT_ERRCODE_RULES: ReadonlyMap<number, WechatErrcodeRule> = new Map([
  [-1, fail('PLATFORM_UNREACHABLE', true, 'system busy, retry later')],
  [40001, refresh('access_token invalid or not the latest')],
  [40013, fail('CONNECTOR_CONFIG_INVALID', false, 'invalid AppID')],
  [40014, refresh('invalid access_token')],
  [40029, fail('WECHAT_CODE_INVALID', false, 'code invalid or expired')],
  [40125, fail('CONNECTOR_CONFIG_INVALID', false, 'invalid AppSecret')],
  [40163, fail('WECHAT_CODE_INVALID', false, 'code already used')],
  [40164, fail('CONNECTOR_CONFIG_INVALID', false, 'caller IP is not in the mini-program IP whitelist')],
  [40243, fail('CONNECTOR_CONFIG_INVALID', false, 'AppSecret is frozen')],
  [42001, refresh('access_token expired')],
  [45009, fail('PLATFORM_RATE_LIMITED', true, 'daily API quota reached')],
  [45011, fail('PLATFORM_RATE_LIMITED', true, 'per-minute API quota reached')],
]);

const DEFAULT_RULE = fail('PLATFORM_ERROR', false, 'WeChat answered with an error');

/**
 * The rule for an errcode returned by `api`. The token endpoint is special: its own doc says
 * 40001 there means a wrong AppSecret, not a stale token, and retrying with a new token would
 * loop.
 */
export function ruleForErrcode(errcode: number, api: WechatApi): WechatErrcodeRule {
  const rule = WECHAT_ERRCODE_RULES.get(errcode) ?? DEFAULT_RULE;
  if (rule.action === 'refresh_token' && api !== 'getuserphonenumber') {
    return api === 'stable_token'
      ? fail('CONNECTOR_CONFIG_INVALID', false, 'AppSecret is wrong or belongs to another app')
      : DEFAULT_RULE;
  }
  return rule;
}

const MAX_ERRMSG_LENGTH = 200;

/**
 * A DatongError for a WeChat errcode. `errmsg` (which carries WeChat's `rid` for support
 * tickets) goes into the detail after `redact` values are masked; a rule asking for a token
 * refresh becomes PLATFORM_ERROR, because a caller reaching here has already retried.
 */
export function errorFromErrcode(
  api: WechatApi,
  errcode: number,
  errmsg: string | undefined,
  redact: readonly string[] = [],
): DatongError {
  const rule = ruleForErrcode(errcode, api);
  let message = (errmsg ?? '').slice(0, MAX_ERRMSG_LENGTH);
  for (const value of redact) {
    if (value !== '') message = message.split(value).join('***');
  }
  const code = rule.action === 'fail' ? rule.code : 'PLATFORM_ERROR';
  return new DatongError(code, `WeChat ${api} errcode ${errcode} (${rule.meaning}): ${message}`, {
    meta: { platform: 'wechat_miniprogram', api, errcode, errmsg: message },
  });
}
