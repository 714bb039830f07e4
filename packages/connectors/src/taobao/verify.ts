import { DatongError } from '@datong/core';
import type { InboundRequest, InboundResult, VerifyContext } from '../kit/connector.js';
import { timingSafeEqualStr } from '../kit/crypto.js';
import { TOP_SIGN_METHODS, type TopSignMethod } from './config.js';
import { parseTopTime, signTopRequest } from './sign.js';

/*
 * Taobao has no HTTP push into Datong: order and refund messages are pulled from TMC with
 * taobao.tmc.messages.consume and acknowledged with taobao.tmc.messages.confirm (the client's
 * `pullMessages`). So nothing that arrives at /v1/hooks/taobao/{connectorId} can be from Taobao,
 * and `verifyTaobaoPush` refuses every request: it never accepts unsigned traffic because there
 * is no signed traffic to accept.
 *
 * The signature check that does exist is TOP's own, on API requests (the fake TOP router uses
 * `verifyTopRequest`): every parameter signed as signTopRequest describes, `sign` in upper-case
 * hex compared in constant time, and `timestamp` (GMT+8) within TOP's documented 10 minutes
 * ("淘宝API服务端允许客户端请求最大时间误差为10分钟").
 */

/** Refuses every HTTP push: TMC messages are pulled, never pushed (see `pullMessages`). */
export function verifyTaobaoPush(_req: InboundRequest, _config: unknown, _ctx: VerifyContext): InboundResult {
  throw new DatongError(
    'CONNECTOR_SIGNATURE_INVALID',
    'Taobao does not push to Datong: its messages are pulled from TMC (taobao.tmc.messages.consume), so this request is not from Taobao',
    { meta: { platform: 'taobao' } },
  );
}

/** TOP's allowed client clock error. */
export const TOP_MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

export type TopRequestCheck =
  | { readonly ok: true; readonly signMethod: TopSignMethod }
  /** `code`/`msg` as TOP answers them (错误码一览: 24, 25, 30, 31). */
  | { readonly ok: false; readonly code: 24 | 25 | 30 | 31; readonly msg: string; readonly reason: string };

/**
 * Checks a TOP request's signature and timestamp the way the TOP router does. Pure: the time
 * comes from `now`.
 */
export function verifyTopRequest(
  params: Readonly<Record<string, string | undefined>>,
  secret: string,
  now: Date,
  maxSkewMs: number = TOP_MAX_CLOCK_SKEW_MS,
): TopRequestCheck {
  if (secret === '') return { ok: false, code: 25, msg: 'Invalid signature', reason: 'no secret to verify with' };
  const sign = params['sign'];
  if (sign === undefined || sign === '') return { ok: false, code: 24, msg: 'Missing signature', reason: 'sign is missing' };
  const timestamp = params['timestamp'];
  if (timestamp === undefined || timestamp === '') {
    return { ok: false, code: 30, msg: 'Missing timestamp', reason: 'timestamp is missing' };
  }
  const at = parseTopTime(timestamp);
  if (at === undefined) return { ok: false, code: 31, msg: 'Invalid timestamp', reason: 'timestamp is not yyyy-MM-dd HH:mm:ss' };
  if (Math.abs(now.getTime() - at) > maxSkewMs) {
    return { ok: false, code: 31, msg: 'Invalid timestamp', reason: 'timestamp is more than 10 minutes away from the server time' };
  }
  const method = params['sign_method'] ?? 'md5';
  if (!(TOP_SIGN_METHODS as readonly string[]).includes(method)) {
    return { ok: false, code: 25, msg: 'Invalid signature', reason: `unsupported sign_method ${method.slice(0, 20)}` };
  }
  const expected = signTopRequest(params, secret, method as TopSignMethod);
  if (!timingSafeEqualStr(sign, expected)) return { ok: false, code: 25, msg: 'Invalid signature', reason: 'sign does not match' };
  return { ok: true, signMethod: method as TopSignMethod };
}
