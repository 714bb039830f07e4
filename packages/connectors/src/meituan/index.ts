import type { CommerceConnector } from '../kit/connector.js';
import { createMeituanClient } from './client.js';
import { meituanConfigSchema, parseMeituanConfig, type MeituanConfig } from './config.js';
import { normalizeMeituanMessage } from './normalize.js';
import { MEITUAN_SUCCESS_REPLY, meituanFailureReply, verifyMeituanPush } from './verify.js';

export {
  MEITUAN_BACKFILL_LOOKBACK_DAYS,
  MEITUAN_DAY_SEQ_PAGE,
  createMeituanClient,
  paramsOfJsonObject,
  type MeituanClient,
} from './client.js';
export {
  DEFAULT_MEITUAN_API_BASE,
  meituanConfigSchema,
  parseMeituanConfig,
  type MeituanConfig,
  type MeituanConfigInput,
} from './config.js';
export { MEITUAN_ERROR_RULES, errorFromMeituan, ruleForMeituanError, type MeituanApi, type MeituanErrorRule } from './errors.js';
export {
  FAKE_MEITUAN_THROTTLE_CODE,
  buildMeituanPush,
  meituanCancelParams,
  meituanOrderJson,
  meituanOrderParams,
  meituanPartRefundParams,
  meituanPushAsInbound,
  meituanRefundParams,
  meituanRefundStatusParams,
  sendMeituanPush,
  startFakeMeituanServer,
  type FakeMeituanCall,
  type FakeMeituanDiscount,
  type FakeMeituanItem,
  type FakeMeituanOrderSpec,
  type FakeMeituanServer,
  type FakeMeituanServerOptions,
  type MeituanPush,
  type MeituanPushSpec,
} from './fake-server.js';
export { classifyMeituanPush, meituanMessageFromParams, meituanMessageId } from './messages.js';
export { meituanOrderFromParams, normalizeMeituanMessage } from './normalize.js';
export type * from './payloads.js';
export { MEITUAN_PUSH_TYPES } from './payloads.js';
export { meituanSig, meituanSignatureBase } from './sign.js';
export {
  MEITUAN_MAX_AGE_SECONDS,
  MEITUAN_MAX_SKEW_SECONDS,
  MEITUAN_SUCCESS_REPLY,
  meituanFailureReply,
  meituanPushParams,
  verifyMeituanPush,
} from './verify.js';

/**
 * The Meituan (美团外卖/闪购) connector: signed order and refund pushes in, order API out.
 *
 * @example
 * const config = meituan.parseConfig(stored);
 * const result = meituan.verify(request, config, { now: new Date(), publicUrl });
 * if (result.kind === 'messages') for (const m of result.messages) store(m); // then reply meituan.successReply
 * const records = meituan.normalize(storedMessage, { config, connectorId });
 */
export const meituan: CommerceConnector<MeituanConfig> = Object.freeze({
  platform: 'meituan',
  configSchema: meituanConfigSchema,
  parseConfig: parseMeituanConfig,
  verify: verifyMeituanPush,
  successReply: MEITUAN_SUCCESS_REPLY,
  failureReply: meituanFailureReply,
  normalize: normalizeMeituanMessage,
  createClient: createMeituanClient,
});
