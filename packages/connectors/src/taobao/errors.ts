import { DatongError, type ErrorCode } from '@datong/core';
import type { TopErrorBody } from './payloads.js';

/*
 * TOP error answers → Datong codes. TOP answers HTTP 200 with
 * `{"error_response":{"code":…,"msg":…,"sub_code":…,"sub_msg":…,"request_id":…}}`.
 * Source: open.taobao.com "错误码一览" (docId 114): platform errors have a `code` below 100;
 * `sub_code` values starting with `isp.` are server-side failures ("隔一段时间再重试");
 * `isv.` ones are the caller's; flow control answers code 7 "App Call Limited" with sub_code
 * `accesscontrol.limited-by-app-access-count` (the app's daily quota),
 * `accesscontrol.limited-by-api-access-count` (the API's total QPS, "This ban will last for N
 * more seconds") or `accesscontrol.limited-by-app-api-access-count` (this app on this API).
 * Codes not listed become PLATFORM_ERROR with the code and messages in the detail.
 */

export interface TopErrorRule {
  readonly code: ErrorCode;
  /** Mirrors the catalog entry of `code`; kept here so the table reads as a whole. */
  readonly transient: boolean;
  readonly meaning: string;
}

const rule = (code: ErrorCode, transient: boolean, meaning: string): TopErrorRule => ({ code, transient, meaning });

/** Platform error codes (code < 100) with a rule of their own. */
export const TOP_ERROR_CODE_RULES: ReadonlyMap<number, TopErrorRule> = new Map([
  [4, rule('PLATFORM_RATE_LIMITED', true, 'User Call Limited')],
  [5, rule('PLATFORM_RATE_LIMITED', true, 'Session Call Limited')],
  [6, rule('PLATFORM_RATE_LIMITED', true, 'Partner Call Limited')],
  [7, rule('PLATFORM_RATE_LIMITED', true, 'App Call Limited')],
  [8, rule('PLATFORM_RATE_LIMITED', true, 'App Call Exceeds Limited Frequency')],
  [10, rule('PLATFORM_UNREACHABLE', true, 'Service Currently Unavailable')],
  [11, rule('CONNECTOR_CONFIG_INVALID', false, 'Insufficient ISV Permissions: the app lacks this API')],
  [12, rule('CONNECTOR_CONFIG_INVALID', false, 'Insufficient User Permissions: the shop did not grant this')],
  [13, rule('CONNECTOR_CONFIG_INVALID', false, 'Insufficient Partner Permissions')],
  [24, rule('CONNECTOR_CONFIG_INVALID', false, 'Missing Signature')],
  [25, rule('CONNECTOR_CONFIG_INVALID', false, 'Invalid Signature: the AppSecret is wrong')],
  [26, rule('CONNECTOR_CONFIG_INVALID', false, 'Missing Session')],
  [27, rule('CONNECTOR_CONFIG_INVALID', false, 'Invalid Session: the shop must authorise the app again')],
  [28, rule('CONNECTOR_CONFIG_INVALID', false, 'Missing App Key')],
  [29, rule('CONNECTOR_CONFIG_INVALID', false, 'Invalid App Key')],
  [31, rule('PLATFORM_ERROR', false, "Invalid Timestamp: this server's clock is more than 10 minutes off")],
]);

const THROTTLED = rule('PLATFORM_RATE_LIMITED', true, 'flow control');
const ISP_FAILURE = rule('PLATFORM_UNREACHABLE', true, 'TOP service-side failure (isp.*), retry later');
const DEFAULT_RULE = rule('PLATFORM_ERROR', false, 'TOP answered with an error');

/** The rule for one TOP error answer. `sub_code` decides first: it is the more precise of the two. */
export function ruleForTopError(body: Pick<TopErrorBody, 'code' | 'sub_code'>): TopErrorRule {
  const sub = body.sub_code ?? '';
  if (sub.startsWith('accesscontrol.') || sub === 'isp.call-limited') return THROTTLED;
  if (sub === 'invalid-sessionkey' || sub === 'sessionkey-not-generated-by-server') {
    return TOP_ERROR_CODE_RULES.get(27) ?? DEFAULT_RULE;
  }
  const byCode = TOP_ERROR_CODE_RULES.get(body.code);
  if (byCode !== undefined) return byCode;
  if (sub.startsWith('isp.')) return ISP_FAILURE;
  return DEFAULT_RULE;
}

/** Seconds TOP asks to wait, from "This ban will last for N more seconds"; undefined when not said. */
export function retryAfterSeconds(subMsg: string | undefined): number | undefined {
  if (subMsg === undefined) return undefined;
  const m = /last for (\d{1,7}) more seconds?/i.exec(subMsg);
  return m === null ? undefined : Number(m[1]);
}

const MAX_TEXT = 200;

function clean(text: string | undefined, redact: readonly string[]): string {
  let out = (text ?? '').slice(0, MAX_TEXT);
  for (const value of redact) if (value !== '') out = out.split(value).join('***');
  return out;
}

/**
 * A DatongError for a TOP error answer to `api`. The messages (which carry TOP's request_id for
 * support tickets) are cut to 200 characters and `redact` values are masked.
 */
export function errorFromTopError(api: string, body: TopErrorBody, redact: readonly string[] = []): DatongError {
  const r = ruleForTopError(body);
  const msg = clean(body.msg, redact);
  const subMsg = clean(body.sub_msg, redact);
  const sub = body.sub_code === undefined ? '' : ` ${clean(body.sub_code, redact)}`;
  const retryAfter = retryAfterSeconds(body.sub_msg);
  return new DatongError(
    r.code,
    `Taobao ${api} error ${body.code}${sub} (${r.meaning}): ${msg}${subMsg === '' ? '' : ` — ${subMsg}`}`,
    {
      meta: {
        platform: 'taobao',
        api,
        topCode: body.code,
        subCode: body.sub_code,
        requestId: body.request_id,
        ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      },
    },
  );
}
