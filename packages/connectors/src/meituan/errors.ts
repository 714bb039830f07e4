import { DatongError, type ErrorCode } from '@datong/core';

/*
 * Meituan open-API error → Datong code.
 *
 * A failed call answers HTTP 200 with `{"data":"ng","error":{"code":N,"msg":"…"}}` (the shape
 * the official Java SDK's HttpUtil.httpResultHandler reads; a real answer quoted in public code:
 * `{"data":"ng","error":{"code":808,"msg":"操作失败,订单已经确认过了"}}`).
 *
 * The numeric codes below follow the 附录 error-code table of the waimai open platform as far as
 * public SDKs and examples show it; the table itself was not reachable from here (see README,
 * "Uncertain"). Because of that, the throttle rule does not rely on the number alone: a message
 * that says the call rate was exceeded (频率/频繁/限流/超限/次数) is also PLATFORM_RATE_LIMITED, and
 * HTTP 429 is mapped by the transport. Codes not listed become PLATFORM_ERROR with code and msg in
 * the detail.
 */

/** The Meituan APIs this connector calls (also the rate-limit bucket names given to deps.rateLimit). */
export type MeituanApi = 'poi/getids' | 'order/getOrderDetail' | 'ecommerce/order/getOrderIdByDaySeq';

export interface MeituanErrorRule {
  readonly code: ErrorCode;
  /** Mirrors the catalog entry of `code`; kept here so the table reads as a whole. */
  readonly transient: boolean;
  readonly meaning: string;
}

const rule = (code: ErrorCode, transient: boolean, meaning: string): MeituanErrorRule => ({ code, transient, meaning });

export const MEITUAN_ERROR_RULES: ReadonlyMap<number, MeituanErrorRule> = new Map([
  [700, rule('PLATFORM_UNREACHABLE', true, 'system error (系统错误), retry later')],
  [701, rule('PLATFORM_ERROR', false, 'missing or malformed parameter (参数错误)')],
  [703, rule('CONNECTOR_CONFIG_INVALID', false, 'signature does not verify: wrong app_secret (签名验证错误)')],
  [711, rule('PLATFORM_RATE_LIMITED', true, 'call rate limit exceeded (调用频率超限)')],
]);

const DEFAULT_RULE = rule('PLATFORM_ERROR', false, 'Meituan answered with an error');
const THROTTLE_WORDS = /频率|频繁|限流|超限|次数|too many|rate limit|qps/i;

/** The rule for an error code and message returned by Meituan. */
export function ruleForMeituanError(code: number, msg: string | undefined): MeituanErrorRule {
  const known = MEITUAN_ERROR_RULES.get(code);
  if (known !== undefined) return known;
  if (msg !== undefined && THROTTLE_WORDS.test(msg)) return rule('PLATFORM_RATE_LIMITED', true, 'call rate limit exceeded');
  return DEFAULT_RULE;
}

const MAX_MSG_LENGTH = 200;

/** A DatongError for a Meituan error answer; `redact` values are masked in the message. */
export function errorFromMeituan(
  api: MeituanApi,
  code: number,
  msg: string | undefined,
  redact: readonly string[] = [],
): DatongError {
  const found = ruleForMeituanError(code, msg);
  let text = msg ?? '';
  for (const value of redact) {
    if (value !== '') text = text.split(value).join('***');
  }
  // Cut after masking, so a secret at the cut cannot leave a prefix behind.
  text = text.slice(0, MAX_MSG_LENGTH);
  return new DatongError(found.code, `Meituan ${api} error ${code} (${found.meaning}): ${text}`, {
    meta: { platform: 'meituan', api, meituanCode: code, msg: text },
  });
}
