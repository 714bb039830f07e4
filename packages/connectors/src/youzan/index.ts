import type { CommerceConnector } from '../kit/connector.js';
import { createYouzanClient } from './client.js';
import { parseYouzanConfig, youzanConfigSchema, type YouzanConfig } from './config.js';
import { normalizeYouzanMessage } from './normalize.js';
import { YOUZAN_SUCCESS_REPLY, verifyYouzanPush, youzanFailureReply } from './verify.js';

export { clearYouzanTokenCache, connectionMessage, createYouzanClient, YOUZAN_PAGE_SIZE, type YouzanClient } from './client.js';
export { formDecode, javaUrlEncode, parseJsonExact, quoteLongIntegers } from './codec.js';
export { DEFAULT_YOUZAN_API_BASE, parseYouzanConfig, youzanConfigSchema, type YouzanConfig, type YouzanConfigInput } from './config.js';
export {
  YOUZAN_BUSINESS_RULES,
  YOUZAN_GATEWAY_RULES,
  YOUZAN_TOKEN_RULES,
  ruleForYouzanCode,
  youzanError,
  type YouzanApi,
  type YouzanErrorLayer,
  type YouzanErrorRule,
} from './errors.js';
export {
  buildYouzanPush,
  fakeTradeDetail,
  sendYouzanPush,
  startFakeYouzanServer,
  type FakeOrderInput,
  type FakeOrderLineInput,
  type FakeYouzanOutage,
  type FakeYouzanServer,
  type FakeYouzanServerOptions,
  type YouzanPush,
  type YouzanPushInput,
} from './fake-server.js';
export { closeStatus, normalizeYouzanMessage, orderFromDetail, orderStatusOf } from './normalize.js';
export type * from './payloads.js';
export {
  YOUZAN_SUCCESS_REPLY,
  messageFromPushBody,
  verifyYouzanPush,
  versionIso,
  versionMillis,
  youzanBodySign,
  youzanEventSign,
  youzanFailureReply,
  type YouzanPushPayload,
} from './verify.js';

/**
 * The Youzan (有赞) connector: push messages (orders, refunds, members) verified with Event-Sign,
 * the order API for backfill, fallback polling and reconciliation.
 *
 * @example
 * const config = youzan.parseConfig(stored);
 * const result = youzan.verify(req, config, { now, publicUrl });   // throws on a bad signature
 * reply(youzan.successReply);                                      // {"code":0,"msg":"success"}
 * const records = youzan.normalize(result.messages[0], { config, connectorId });
 */
export const youzan: CommerceConnector<YouzanConfig> = Object.freeze({
  platform: 'youzan',
  configSchema: youzanConfigSchema,
  parseConfig: parseYouzanConfig,
  verify: verifyYouzanPush,
  successReply: YOUZAN_SUCCESS_REPLY,
  failureReply: youzanFailureReply,
  normalize: normalizeYouzanMessage,
  createClient: createYouzanClient,
});
