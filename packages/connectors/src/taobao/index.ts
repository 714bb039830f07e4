import { ERROR_CATALOG, type ErrorCode } from '@datong/core';
import type { CommerceConnector, PlatformReply } from '../kit/connector.js';
import { createTaobaoClient } from './client.js';
import { parseTaobaoConfig, taobaoConfigSchema, type TaobaoConfig } from './config.js';
import { normalizeTaobaoMessage } from './normalize.js';
import { verifyTaobaoPush } from './verify.js';

export { createTaobaoClient, TAOBAO_PAGE_SIZE, type TaobaoClient } from './client.js';
export {
  DEFAULT_TOP_API_BASE,
  DEFAULT_TOP_SIGN_METHOD,
  parseTaobaoConfig,
  taobaoConfigSchema,
  TOP_SIGN_METHODS,
  type TaobaoConfig,
  type TaobaoConfigInput,
  type TopSignMethod,
} from './config.js';
export { errorFromTopError, retryAfterSeconds, ruleForTopError, TOP_ERROR_CODE_RULES, type TopErrorRule } from './errors.js';
export {
  startFakeTopServer,
  toTopJson,
  type FakeRefund,
  type FakeTmcMessage,
  type FakeTopServer,
  type FakeTopServerOptions,
  type FakeTrade,
} from './fake-server.js';
export { idString as taobaoIdString, parseJsonKeepingBigInts as parseTaobaoJson } from './json.js';
export {
  normalizeTaobaoMessage,
  normalizeTaobaoTrade,
  REFUND_TOPICS as TAOBAO_REFUND_TOPICS,
  TRADE_STATUS_MAP as TAOBAO_TRADE_STATUS_MAP,
  TRADE_TOPICS as TAOBAO_TRADE_TOPICS,
} from './normalize.js';
export { TAOBAO_DEFAULT_TOPICS, TRADE_FIELDS as TAOBAO_TRADE_FIELDS } from './payloads.js';
export type * from './payloads.js';
export { formatTopTime, parseTopTime, signTopRequest, topSignBaseString, topTimeToIso } from './sign.js';
export { TOP_MAX_CLOCK_SKEW_MS, verifyTaobaoPush, verifyTopRequest, type TopRequestCheck } from './verify.js';

/*
 * Replies. TOP never pushes to Datong (TMC is pulled), so no platform reads these answers. An
 * accepted request (there are none in practice) gets a plain 200 "success"; a rejected one gets
 * the HTTP status of its error kind with the error code as plain text, so a stray caller is not
 * told "success".
 */
const SUCCESS_REPLY: PlatformReply = Object.freeze({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });

const STATUS_BY_KIND: Readonly<Record<string, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  upstream: 502,
  internal: 500,
};

function failureReply(code: string): PlatformReply {
  const kind = code in ERROR_CATALOG ? ERROR_CATALOG[code as ErrorCode].kind : 'internal';
  return { status: STATUS_BY_KIND[kind] ?? 500, contentType: 'text/plain; charset=utf-8', body: code };
}

/**
 * The Taobao / Tmall connector (TOP). Orders and refunds arrive through TMC, pulled with
 * `createClient(config).pullMessages(max)` and confirmed after they are stored; backfill,
 * fallback polling and reconciliation use `listOrders` (taobao.trades.sold.increment.get) and
 * `getOrder` (taobao.trade.fullinfo.get). HTTP pushes are refused (`verify`).
 *
 * @example
 * const config = taobao.parseConfig(stored);
 * const client = taobao.createClient(config, { rateLimit });
 * const batch = await client.pullMessages!(100);
 * for (const m of batch.messages) log(m, taobao.normalize(m, { config, connectorId }));
 * await batch.confirm();
 */
export const taobao: CommerceConnector<TaobaoConfig> = Object.freeze({
  platform: 'taobao',
  configSchema: taobaoConfigSchema,
  parseConfig: parseTaobaoConfig,
  verify: verifyTaobaoPush,
  successReply: SUCCESS_REPLY,
  failureReply,
  normalize: normalizeTaobaoMessage,
  createClient: createTaobaoClient,
});
