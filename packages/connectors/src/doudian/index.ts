import type { CommerceConnector } from '../kit/connector.js';
import { createDoudianClient } from './client.js';
import { doudianConfigSchema, parseDoudianConfig, type DoudianConfig } from './config.js';
import { normalizeDoudianMessage } from './normalize.js';
import { DOUDIAN_SUCCESS_REPLY, doudianFailureReply, verifyDoudianPush } from './verify.js';

export { clearDoudianTokenCache, createDoudianClient, SEARCH_PAGE_SIZE as DOUDIAN_PAGE_SIZE, type DoudianClient } from './client.js';
export { DEFAULT_DOUDIAN_API_BASE, doudianConfigSchema, parseDoudianConfig, type DoudianConfig, type DoudianConfigInput } from './config.js';
export {
  DOUDIAN_CODE_RULES,
  errorFromCode as errorFromDoudianCode,
  ruleForCode as ruleForDoudianCode,
  type DoudianApi,
  type DoudianCodeRule,
} from './errors.js';
export {
  buildDoudianPush,
  sendDoudianPush,
  startFakeDoudianServer,
  type DoudianPush,
  type DoudianPushInput,
  type FakeDoudianRequest,
  type FakeDoudianServer,
  type FakeDoudianServerOptions,
  type FakeShopOrder,
} from './fake-server.js';
export {
  marshalParamJson as marshalDoudianParamJson,
  parseJsonLossless as parseDoudianJson,
  stringifyJson as stringifyDoudianJson,
} from './json.js';
export { doudianOrderIdOf, normalizeDoudianMessage, normalizeShopOrder } from './normalize.js';
export type * from './payloads.js';
export {
  API_TIMESTAMP_WINDOW_SECONDS as DOUDIAN_API_TIMESTAMP_WINDOW_SECONDS,
  apiSignPattern as doudianApiSignPattern,
  methodPath as doudianMethodPath,
  signApiRequest as signDoudianApiRequest,
  verifyApiRequest as verifyDoudianApiRequest,
  type DoudianSignMethod,
} from './sign.js';
export {
  computeEventSign as computeDoudianEventSign,
  DOUDIAN_CHECK_TAG,
  DOUDIAN_SUCCESS_REPLY,
  doudianFailureReply,
  verifyDoudianPush,
  verifyPushSignature as verifyDoudianPushSignature,
  type PushSignMethod as DoudianPushSignMethod,
} from './verify.js';

/**
 * The Douyin shop (抖店) connector: signed pushes in (orders, after-sales), the Open API out
 * (token, order.searchList, order.orderDetail).
 *
 * @example
 * const config = doudian.parseConfig(stored);
 * const result = doudian.verify(request, config, { now: new Date(), publicUrl });
 * if (result.kind === 'messages') for (const m of result.messages) doudian.normalize(m, { config, connectorId });
 */
const definition: CommerceConnector<DoudianConfig> = {
  platform: 'doudian',
  configSchema: doudianConfigSchema,
  parseConfig: parseDoudianConfig,
  verify: (req, config) => verifyDoudianPush(req, config),
  successReply: DOUDIAN_SUCCESS_REPLY,
  failureReply: doudianFailureReply,
  normalize: normalizeDoudianMessage,
  createClient: createDoudianClient,
};

export const doudian: CommerceConnector<DoudianConfig> = Object.freeze(definition);
