import type { CommerceConnector } from '../kit/connector.js';
import { createYouzanClient } from './client.js';
import { parseYouzanConfig, youzanConfigSchema, type YouzanConfig } from './config.js';
import { normalizeYouzanMessage } from './normalize.js';
import { YOUZAN_SUCCESS_REPLY, verifyYouzanPush, youzanFailureReply } from './verify.js';

export {
  clearYouzanTokenCache,
  connectionMessage as youzanConnectionMessage,
  createYouzanClient,
  YOUZAN_PAGE_SIZE,
  type YouzanClient,
} from './client.js';
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
  fakeTradeDetail as fakeYouzanTradeDetail,
  sendYouzanPush,
  startFakeYouzanServer,
  type FakeOrderInput as FakeYouzanOrderInput,
  type FakeOrderLineInput as FakeYouzanOrderLineInput,
  type FakeYouzanOutage,
  type FakeYouzanServer,
  type FakeYouzanServerOptions,
  type YouzanPush,
  type YouzanPushInput,
} from './fake-server.js';
export {
  closeStatus as youzanCloseStatus,
  normalizeYouzanMessage,
  orderFromDetail as youzanOrderFromDetail,
  orderStatusOf as youzanOrderStatusOf,
} from './normalize.js';
export type * from './payloads.js';
export {
  YOUZAN_SUCCESS_REPLY,
  messageFromPushBody as youzanMessageFromPushBody,
  verifyYouzanPush,
  versionIso as youzanVersionIso,
  versionMillis as youzanVersionMillis,
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
