import { DatongError } from '@datong/core';
import type { CanonicalOrder } from '@datong/core';
import type { ClientDeps, CommerceClient, ConnectionCheck, OrderPage } from '../kit/connector.js';
import { withoutTrailingSlashes } from '../kit/config.js';
import { redactUrl, requestJson } from '../kit/http.js';
import { parseJsonExact } from './codec.js';
import { parseYouzanConfig, type YouzanConfig } from './config.js';
import { YOUZAN_ORDER_NOT_FOUND_CODES, ruleForYouzanCode, youzanError, type YouzanApi, type YouzanErrorLayer } from './errors.js';
import { orderFromDetail } from './normalize.js';
import type {
  YouzanSilentTokenRequest,
  YouzanTokenResponse,
  YouzanTradeDetail,
  YouzanTradesSoldGetData,
  YouzanTradesSoldGetRequest,
} from './payloads.js';
import { int, toBeijing } from './values.js';

/*
 * Outbound client for Youzan Cloud (有赞云) — self-built apps (自用型):
 * - token: POST {apiBase}/auth/token {client_id, client_secret, authorize_type: "silent",
 *   grant_id: kdt_id, refresh}; `data.expires` is the expiry instant in ms (7 days). Cached per
 *   app and shop until one day before it expires, then renewed with refresh=true.
 * - APIs: POST {apiBase}/api/{name}/{version}?access_token=… with a JSON body (the token only
 *   works in the query string). Errors come back with HTTP 200 (errors.ts).
 * - orders: youzan.trades.sold.get 4.0.4 by update time (start_update/end_update, Beijing time,
 *   span ≤ 3 months, page_no ≤ 100, page_size ≤ 100) and youzan.trade.get 4.0.2 by tid.
 *
 * The HTTP call is kit/http's requestJson (network/5xx → PLATFORM_UNREACHABLE, 429 →
 * PLATFORM_RATE_LIMITED) with codec.ts's parser, because Youzan's answers carry long integer
 * ids that must be parsed without rounding.
 */

const DEFAULT_TIMEOUT_MS = 10_000;
const TRADES_SOLD_GET_VERSION = '4.0.4';
const TRADE_GET_VERSION = '4.0.2';
/** Renew the token when less than this is left (the docs' own example renews a day ahead). */
const TOKEN_RENEW_AHEAD_MS = 24 * 3_600_000;
/** youzan.trades.sold.get limits: page_size ≤ 100, page_no ≤ 100, time span ≤ 3 months. */
export const YOUZAN_PAGE_SIZE = 100;
const MAX_PAGE_NO = 100;
const MAX_SPAN_MS = 90 * 24 * 3_600_000;

export interface YouzanClient extends CommerceClient {
  /** A valid access_token for the shop, from the cache when it has more than a day left. */
  getAccessToken(): Promise<string>;
  /** Calls /api/{api}/{version} with the shop's token (refreshing it once when refused) and returns `data`. */
  call<T>(api: Exclude<YouzanApi, 'auth.token'>, version: string, params: Readonly<Record<string, unknown>>): Promise<T>;
  listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage>;
  getOrder(orderId: string): Promise<CanonicalOrder | null>;
}

interface CachedToken {
  readonly accessToken: string;
  readonly expiresAt: number;
  readonly refreshAt: number;
}

const tokenCache = new Map<string, CachedToken>();
const tokenInFlight = new Map<string, Promise<CachedToken>>();

/** Empties the process-wide token cache (tests, or after rotating a client_secret). */
export function clearYouzanTokenCache(): void {
  tokenCache.clear();
}

type Json = Readonly<Record<string, unknown>>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

async function postJson(api: YouzanApi, url: string, body: unknown, timeoutMs: number): Promise<Json> {
  const { body: parsed } = await requestJson({
    method: 'POST',
    url,
    body,
    timeoutMs,
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    parse: parseJsonExact,
    meta: { platform: 'youzan', api },
  });
  const object = asObject(parsed);
  if (object === undefined) {
    const target = `POST ${redactUrl(url)}`;
    throw new DatongError('PLATFORM_ERROR', `${target} answered with a non-object JSON body`, { meta: { platform: 'youzan', api, target } });
  }
  return object;
}

interface ApiFailure {
  readonly layer: YouzanErrorLayer;
  readonly code: number;
  readonly message: string | undefined;
  readonly traceId: string | undefined;
}

/** The failure in a /api answer, if any. */
function apiFailure(body: Json): ApiFailure | undefined {
  const gw = asObject(body['gw_err_resp']);
  if (gw !== undefined) {
    return {
      layer: 'gateway',
      code: int(gw['err_code']) ?? -1,
      message: typeof gw['err_msg'] === 'string' ? gw['err_msg'] : undefined,
      traceId: typeof gw['trace_id'] === 'string' ? gw['trace_id'] : undefined,
    };
  }
  const code = int(body['code']);
  if (body['success'] === false || (code !== undefined && code !== 200)) {
    return {
      layer: 'business',
      code: code ?? -1,
      message: typeof body['message'] === 'string' ? body['message'] : undefined,
      traceId: typeof body['trace_id'] === 'string' ? body['trace_id'] : undefined,
    };
  }
  return undefined;
}

function encodeCursor(fromMs: number, toMs: number, page: number): string {
  return `v1.${fromMs}.${toMs}.${page}`;
}

function decodeCursor(cursor: string, from: number, to: number): { fromMs: number; toMs: number; page: number } {
  const m = /^v1\.(\d{1,15})\.(\d{1,15})\.(\d{1,3})$/.exec(cursor);
  const fromMs = m === null ? NaN : Number(m[1]);
  const toMs = m === null ? NaN : Number(m[2]);
  const page = m === null ? NaN : Number(m[3]);
  if (!(fromMs >= from && toMs <= to && fromMs < toMs && page >= 1 && page <= MAX_PAGE_NO)) {
    throw new DatongError('VALIDATION_FAILED', 'Youzan listOrders: the cursor does not belong to this window');
  }
  return { fromMs, toMs, page };
}

/**
 * Builds the Youzan client. Fails closed: the config is validated again, so a client without a
 * client_secret cannot be built.
 *
 * @example
 * const client = createYouzanClient(parseYouzanConfig(stored), { rateLimit: (api) => buckets.take(api) });
 * const page = await client.listOrders({ from, to });
 */
export function createYouzanClient(config: YouzanConfig, deps: ClientDeps = {}): YouzanClient {
  const { clientId, clientSecret, kdtId, apiBase: configuredBase } = parseYouzanConfig(config);
  const apiBase = withoutTrailingSlashes(deps.baseUrl ?? configuredBase);
  const now = (): number => (deps.now === undefined ? Date.now() : deps.now().getTime());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const rateLimit = async (api: YouzanApi): Promise<void> => {
    if (deps.rateLimit !== undefined) await deps.rateLimit(api);
  };
  const cacheKey = `${apiBase}\n${clientId}\n${kdtId}`;

  async function requestToken(refresh: boolean): Promise<CachedToken> {
    await rateLimit('auth.token');
    const request: YouzanSilentTokenRequest = {
      client_id: clientId,
      client_secret: clientSecret,
      authorize_type: 'silent',
      grant_id: kdtId,
      refresh,
    };
    const body = (await postJson('auth.token', `${apiBase}/auth/token`, request, timeoutMs)) as YouzanTokenResponse & Json;
    const code = int(body.code);
    const data = asObject(body.data);
    const accessToken = data?.['access_token'];
    const expires = int(data?.['expires']);
    if (body.success !== true || (code !== undefined && code !== 200) || typeof accessToken !== 'string' || accessToken === '' || expires === undefined) {
      if (body.success === true || code === 200) {
        throw new DatongError('PLATFORM_ERROR', 'Youzan auth.token answered success without a usable token', { meta: { platform: 'youzan', api: 'auth.token' } });
      }
      throw youzanError('auth.token', 'token', code ?? -1, typeof body.message === 'string' ? body.message : undefined, {
        redact: [clientSecret],
      });
    }
    const t = now();
    const refreshAt = expires - TOKEN_RENEW_AHEAD_MS > t ? expires - TOKEN_RENEW_AHEAD_MS : t + Math.max(0, Math.floor((expires - t) / 2));
    const token = { accessToken, expiresAt: expires, refreshAt };
    tokenCache.set(cacheKey, token);
    return token;
  }

  /**
   * One token fetch at a time per app and shop. `rejected` is a token the gateway refused: ask
   * for the current token first (another process may have renewed it), and force a new one only
   * when Youzan hands back the refused token or one about to expire. Forcing first would
   * invalidate the tokens of every other process using this app.
   */
  function sharedFetch(rejected?: string): Promise<CachedToken> {
    const pending = tokenInFlight.get(cacheKey);
    if (pending !== undefined) return pending;
    const started = (async () => {
      const current = await requestToken(false);
      if (current.accessToken === rejected || current.expiresAt - now() <= TOKEN_RENEW_AHEAD_MS) return requestToken(true);
      return current;
    })().finally(() => tokenInFlight.delete(cacheKey));
    tokenInFlight.set(cacheKey, started);
    return started;
  }

  async function getAccessToken(): Promise<string> {
    const cached = tokenCache.get(cacheKey);
    if (cached !== undefined && now() < cached.refreshAt) return cached.accessToken;
    return (await sharedFetch()).accessToken;
  }

  async function call<T>(api: Exclude<YouzanApi, 'auth.token'>, version: string, params: Readonly<Record<string, unknown>>): Promise<T> {
    const attempt = async (token: string) => {
      await rateLimit(api);
      const url = `${apiBase}/api/${api}/${version}?access_token=${encodeURIComponent(token)}`;
      const body = await postJson(api, url, params, timeoutMs);
      return { body, failure: apiFailure(body) };
    };
    let token = await getAccessToken();
    let result = await attempt(token);
    if (result.failure !== undefined && ruleForYouzanCode(result.failure.layer, result.failure.code).action === 'refresh_token') {
      // Refused token (4201/4202/4203): drop it, fetch the current one, retry once.
      if (tokenCache.get(cacheKey)?.accessToken === token) tokenCache.delete(cacheKey);
      token = (await sharedFetch(token)).accessToken;
      result = await attempt(token);
    }
    const { failure } = result;
    if (failure !== undefined) {
      throw youzanError(api, failure.layer, failure.code, failure.message, { traceId: failure.traceId, redact: [token, clientSecret] });
    }
    return (result.body['data'] ?? null) as T;
  }

  async function fetchPage(fromMs: number, toMs: number, page: number): Promise<{ data: YouzanTradesSoldGetData; total: number }> {
    const request: YouzanTradesSoldGetRequest = {
      start_update: toBeijing(fromMs),
      // [from, to): Youzan's bounds are inclusive and to the second.
      end_update: toBeijing(Math.max(fromMs, toMs - 1)),
      page_no: page,
      page_size: YOUZAN_PAGE_SIZE,
    };
    const data = (await call<YouzanTradesSoldGetData | null>('youzan.trades.sold.get', TRADES_SOLD_GET_VERSION, { ...request })) ?? {};
    return { data, total: int(data.total_results) ?? 0 };
  }

  async function listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage> {
    const from = window.from.getTime();
    const to = window.to.getTime();
    if (!(Number.isFinite(from) && Number.isFinite(to)) || from >= to) {
      throw new DatongError('VALIDATION_FAILED', 'Youzan listOrders: the window must have from < to');
    }
    const start = window.cursor === undefined ? { fromMs: from, toMs: Math.min(to, from + MAX_SPAN_MS), page: 1 } : decodeCursor(window.cursor, from, to);
    const { fromMs, page } = start;
    let { toMs } = start;

    let fetched = await fetchPage(fromMs, toMs, page);
    // More than 100 pages in this sub-window: halve it until the pages fit (one second minimum).
    while (page === 1 && fetched.total > MAX_PAGE_NO * YOUZAN_PAGE_SIZE && toMs - fromMs > 2000) {
      toMs = fromMs + Math.floor((toMs - fromMs) / 2);
      fetched = await fetchPage(fromMs, toMs, page);
    }

    const seen = new Set<string>();
    const orders: CanonicalOrder[] = [];
    for (const row of fetched.data.full_order_info_list ?? []) {
      const order = orderFromDetail((asObject(row) ?? {}) as YouzanTradeDetail, kdtId);
      // Orders move between pages while they change (Youzan FAQ): keep one per tid.
      if (order !== undefined && !seen.has(order.orderId)) {
        seen.add(order.orderId);
        orders.push(order);
      }
    }

    const rows = fetched.data.full_order_info_list?.length ?? 0;
    let nextCursor: string | undefined;
    if (rows > 0 && page * YOUZAN_PAGE_SIZE < fetched.total && page < MAX_PAGE_NO) nextCursor = encodeCursor(fromMs, toMs, page + 1);
    else if (toMs < to) nextCursor = encodeCursor(toMs, Math.min(to, toMs + MAX_SPAN_MS), 1);
    return nextCursor === undefined ? { orders } : { orders, nextCursor };
  }

  async function getOrder(orderId: string): Promise<CanonicalOrder | null> {
    if (typeof orderId !== 'string' || orderId.trim() === '') {
      throw new DatongError('VALIDATION_FAILED', 'Youzan getOrder: the order number (tid) is empty');
    }
    let data: YouzanTradeDetail | null;
    try {
      data = await call<YouzanTradeDetail | null>('youzan.trade.get', TRADE_GET_VERSION, { tid: orderId.trim() });
    } catch (error) {
      const code = error instanceof DatongError ? error.meta?.['youzanCode'] : undefined;
      if (error instanceof DatongError && error.meta?.['layer'] === 'business' && typeof code === 'number' && YOUZAN_ORDER_NOT_FOUND_CODES.has(code)) {
        return null;
      }
      throw error;
    }
    if (data === null) return null;
    return orderFromDetail(data, kdtId) ?? null;
  }

  async function testConnection(): Promise<ConnectionCheck> {
    try {
      await getAccessToken();
      const end = now();
      await fetchPage(end - 3_600_000, end, 1);
      return {
        ok: true,
        message: {
          'zh-CN': `已连接有赞店铺 ${kdtId}：凭证有效，可以读取订单。`,
          en: `Connected to Youzan shop ${kdtId}: the credentials work and orders can be read.`,
        },
      };
    } catch (error) {
      if (!(error instanceof DatongError)) throw error;
      return { ok: false, code: error.code, message: connectionMessage(error, kdtId) };
    }
  }

  return { testConnection, listOrders, getOrder, getAccessToken, call };
}

/** What went wrong, in words a merchant understands. */
export function connectionMessage(error: DatongError, kdtId: string): ConnectionCheck['message'] {
  const code = error.meta?.['youzanCode'];
  const layer = error.meta?.['layer'];
  const youzanMessage = typeof error.meta?.['youzanMessage'] === 'string' ? error.meta['youzanMessage'] : '';
  if (layer === 'token' && code === 1000) {
    return {
      'zh-CN': 'client_secret 不正确。请到有赞云控制台「应用概况」重新复制 client_secret。',
      en: 'The client_secret is wrong. Copy it again from the Youzan Cloud console (应用概况).',
    };
  }
  if (layer === 'token' && code === 1103 && /Client/i.test(youzanMessage)) {
    return {
      'zh-CN': 'client_id 不存在。请核对有赞云控制台「应用概况」中的 client_id。',
      en: 'This client_id does not exist. Check the client_id in the Youzan Cloud console (应用概况).',
    };
  }
  if (layer === 'token' && (code === 1103 || code === 1004)) {
    return {
      'zh-CN': `店铺 ${kdtId} 没有授权给这个应用，或授权已过期。请在有赞店铺后台「设置 → 有赞服务 → 定制服务」确认授权，并核对店铺 ID。`,
      en: `Shop ${kdtId} has not authorized this app, or the authorization has expired. Confirm it in the shop's back office (设置 → 有赞服务 → 定制服务) and check the shop id.`,
    };
  }
  if (layer === 'token' && code === 1105) {
    return {
      'zh-CN': '这个应用不是自用型应用。Datong 只支持有赞云「自用型」应用。',
      en: 'This app is not a self-built (自用型) app, which is what Datong supports.',
    };
  }
  if (layer === 'gateway' && code === 4007 && error.code === 'CONNECTOR_CONFIG_INVALID') {
    return {
      'zh-CN': '有赞拒绝了 Datong 服务器的 IP。请在有赞云控制台把 Datong 服务器的出口 IP 加入应用的 IP 白名单。',
      en: "Youzan refused the Datong server's IP address. Add the server's outbound IP to the app's IP whitelist in the Youzan Cloud console.",
    };
  }
  if (layer === 'gateway' && code === 4204) {
    return {
      'zh-CN': '应用没有订单接口权限。请在有赞云控制台为应用申请「订单」相关能力包。',
      en: 'The app may not read orders. Request the order capability package (能力包) for the app in the Youzan Cloud console.',
    };
  }
  if (error.code === 'CONNECTOR_CONFIG_INVALID') {
    return {
      'zh-CN': `有赞不再接受这个应用对店铺 ${kdtId} 的访问凭证，请确认店铺授权仍然有效。`,
      en: `Youzan no longer accepts this app's access to shop ${kdtId}. Check that the shop's authorization is still active.`,
    };
  }
  if (error.code === 'PLATFORM_RATE_LIMITED') {
    return {
      'zh-CN': '有赞暂时限制了调用频率（限流）。凭证没有问题，请稍后再试；如果持续出现，请检查 API 套餐额度。',
      en: 'Youzan is throttling requests right now. Try again in a few minutes; if it persists, check the API quota of your plan.',
    };
  }
  if (error.code === 'PLATFORM_UNREACHABLE') {
    return {
      'zh-CN': '连接不上有赞开放平台（超时或服务异常）。请稍后再试，并检查服务器能否访问 open.youzanyun.com。',
      en: 'Could not reach the Youzan open platform (timeout or outage). Try again later and check that the server can reach open.youzanyun.com.',
    };
  }
  return {
    'zh-CN': `有赞返回了错误${code === undefined ? '' : ` ${String(code)}`}：${youzanMessage || error.code}`,
    en: `Youzan answered with an error${code === undefined ? '' : ` ${String(code)}`}: ${youzanMessage || error.code}`,
  };
}
