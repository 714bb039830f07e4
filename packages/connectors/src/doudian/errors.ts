import { DatongError, type ErrorCode } from '@datong/core';

/*
 * Douyin shop Open API answer codes → Datong codes. Source: 平台基础错误码汇总
 * (https://op.jinritemai.com/docs/guide-docs/212/1427), as listed in the stored copies of the
 * official SDK's consumers: code 10000 is success; 20000/20001 service unavailable/timeout;
 * 30001 no permission or the shop's authorization is gone; 30002 caller IP not whitelisted;
 * 40001-40004 parameter problems, with sub_code naming token and signature failures;
 * 50001 platform failure (token generation); 50002 business failure; 60000 throttled
 * ("触发限流，请稍后重试"); 70000 API offline; 80000 security; 90000 other.
 */

export type DoudianApi = 'token.create' | 'token.refresh' | 'order.searchList' | 'order.orderDetail';

export type DoudianCodeRule =
  | {
      readonly action: 'fail';
      readonly code: ErrorCode;
      /** Mirrors the catalog entry of `code`; kept here so the table reads as a whole. */
      readonly transient: boolean;
      readonly meaning: string;
    }
  /** The access token was rejected: create a new one and retry once. */
  | { readonly action: 'refresh_token'; readonly meaning: string };

const fail = (code: ErrorCode, transient: boolean, meaning: string): DoudianCodeRule => ({
  action: 'fail',
  code,
  transient,
  meaning,
});

export const DOUDIAN_CODE_RULES: ReadonlyMap<number, DoudianCodeRule> = new Map([
  [20000, fail('PLATFORM_UNREACHABLE', true, 'service unavailable (服务不可用)')],
  [20001, fail('PLATFORM_UNREACHABLE', true, 'internal service timeout (内部服务超时)')],
  [30001, fail('CONNECTOR_CONFIG_INVALID', false, 'no permission, or the shop authorization is gone (操作权限不足)')],
  [30002, fail('CONNECTOR_CONFIG_INVALID', false, 'caller IP is not in the app IP whitelist')],
  [40001, fail('PLATFORM_ERROR', false, 'required parameter missing (平台校验)')],
  [40002, fail('PLATFORM_ERROR', false, 'required parameter missing (业务校验)')],
  [40003, fail('PLATFORM_ERROR', false, 'invalid parameter (平台校验)')],
  [40004, fail('PLATFORM_ERROR', false, 'invalid parameter (业务校验)')],
  [50001, fail('PLATFORM_ERROR', false, 'platform processing failed (平台处理失败)')],
  [50002, fail('PLATFORM_ERROR', false, 'business processing failed (业务处理失败)')],
  [60000, fail('PLATFORM_RATE_LIMITED', true, 'throttled (触发限流，请稍后重试)')],
  [70000, fail('PLATFORM_ERROR', false, 'API offline (接口服务已下线)')],
  [80000, fail('PLATFORM_ERROR', false, 'security error (安全错误)')],
  [90000, fail('PLATFORM_ERROR', false, 'other error (其他异常)')],
]);

/** sub_codes that say more than their code. */
const SUB_CODE_RULES: ReadonlyMap<string, DoudianCodeRule> = new Map([
  ['isv.access-token-expired', { action: 'refresh_token', meaning: 'access_token expired' } as const],
  ['isv.access-token-no-existed', { action: 'refresh_token', meaning: 'access_token does not exist' } as const],
  ['isv.access-token-invalid', fail('CONNECTOR_CONFIG_INVALID', false, 'access_token does not belong to this app_key')],
  ['isv.signature-invalid', fail('CONNECTOR_CONFIG_INVALID', false, 'signature rejected: App Secret is wrong')],
  ['isv.app-id-invalid', fail('CONNECTOR_CONFIG_INVALID', false, 'app_key has the wrong format')],
  ['isv.app-id-expired', fail('CONNECTOR_CONFIG_INVALID', false, 'app_key has expired')],
  ['isv.app-permissions-insufficient', fail('CONNECTOR_CONFIG_INVALID', false, 'the app lacks this API permission')],
  ['dop.authorization-no-existed', fail('CONNECTOR_CONFIG_INVALID', false, 'the shop authorization is gone')],
  ['dop.authorization-closed', fail('CONNECTOR_CONFIG_INVALID', false, 'the shop closed the authorization')],
  ['dop.app-forbidden', fail('CONNECTOR_CONFIG_INVALID', false, 'the app is disabled')],
  ['dop.token-generate-failed:app-secret-invalid', fail('CONNECTOR_CONFIG_INVALID', false, 'app_key unknown or App Secret wrong')],
  ['dop.token-generate-failed:no-authorization', fail('CONNECTOR_CONFIG_INVALID', false, 'the shop has not authorized this app')],
  ['dop.token-generate-failed:app-forbidden', fail('CONNECTOR_CONFIG_INVALID', false, 'the app is disabled')],
  ['dop.token-generate-failed:grant-type-invalid', fail('CONNECTOR_CONFIG_INVALID', false, 'wrong grant_type for this app type')],
  ['dop.token-generate-failed:token-expired', { action: 'refresh_token', meaning: 'refresh_token expired' } as const],
  ['dop.token-generate-failed:token-invalid', { action: 'refresh_token', meaning: 'refresh_token does not exist' } as const],
]);

const DEFAULT_RULE = fail('PLATFORM_ERROR', false, 'Douyin shop answered with an error');

/** The rule for an answer code (and sub_code) of `api`. */
export function ruleForCode(code: number, subCode: string | undefined): DoudianCodeRule {
  if (subCode !== undefined) {
    const exact = SUB_CODE_RULES.get(subCode);
    if (exact !== undefined) return exact;
    // "dop.token-generate-failed: code-expired" appears with and without the space.
    const compact = SUB_CODE_RULES.get(subCode.replace(/:\s+/, ':'));
    if (compact !== undefined) return compact;
  }
  return DOUDIAN_CODE_RULES.get(code) ?? DEFAULT_RULE;
}

const MAX_MESSAGE_LENGTH = 200;

/**
 * A DatongError for an answer `code`. msg/sub_msg go into the detail after `redact` values are
 * masked; a rule asking for a token refresh becomes PLATFORM_ERROR (the caller already retried).
 */
export function errorFromCode(
  api: DoudianApi,
  answer: { readonly code: number; readonly msg?: string; readonly subCode?: string; readonly subMsg?: string; readonly logId?: string },
  redact: readonly string[] = [],
): DatongError {
  const rule = ruleForCode(answer.code, answer.subCode);
  let text = [answer.msg, answer.subMsg].filter((s) => s !== undefined && s !== '').join(' / ').slice(0, MAX_MESSAGE_LENGTH);
  for (const value of redact) {
    if (value !== '') text = text.split(value).join('***');
  }
  const code = rule.action === 'fail' ? rule.code : 'PLATFORM_ERROR';
  return new DatongError(code, `Douyin shop ${api} code ${answer.code} (${rule.meaning}): ${text}`, {
    meta: {
      platform: 'doudian',
      api,
      platformCode: answer.code,
      ...(answer.subCode === undefined ? {} : { subCode: answer.subCode }),
      ...(answer.logId === undefined ? {} : { logId: answer.logId }),
    },
  });
}
