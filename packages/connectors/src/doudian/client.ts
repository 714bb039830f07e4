import { DatongError, type CanonicalOrder } from '@datong/core';
import type { ClientDeps, CommerceClient, ConnectionCheck, OrderPage } from '../kit/connector.js';
import { withoutTrailingSlashes } from '../kit/config.js';
import { parseAnswer, requestText } from '../kit/http.js';
import { parseDoudianConfig, type DoudianConfig } from './config.js';
import { errorFromCode, ruleForCode, type DoudianApi } from './errors.js';
import { marshalParamJson, parseJsonLossless } from './json.js';
import { normalizeShopOrder } from './normalize.js';
import { methodPath, signApiRequest } from './sign.js';
import { asRecord, idOf, intOf, textOf } from './values.js';

/*
 * Outbound client for the Douyin shop Open API (self-use app, 自用型应用):
 * - token.create {code:"", grant_type:"authorization_self", shop_id} → access_token (7 days),
 *   refresh_token; token.refresh {grant_type:"refresh_token", refresh_token} near expiry.
 * - order.searchList by update_time window, page (from 0) and size (≤ 100), oldest first.
 * - order.orderDetail {shop_order_id}.
 * Every call is signed (sign.ts), honours deps.rateLimit(api) first, and is parsed with the
 * big-int-preserving parser, so 19-digit ids in answers stay exact.
 */

export interface DoudianClient extends CommerceClient {
  /** A valid access token, from the in-process cache while it has more than 10 minutes left. */
  getAccessToken(): Promise<string>;
  getOrder(orderId: string): Promise<CanonicalOrder | null>;
}

const DEFAULT_TIMEOUT_MS = 12_000; // the official SDK's default read timeout
const TOKEN_REFRESH_MARGIN_MS = 10 * 60_000;
/** order.searchList: "单页大小，限制100以内". */
export const SEARCH_PAGE_SIZE = 100;

interface CachedToken {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly expiresAt: number;
  readonly shopName: string | undefined;
}

const tokenCache = new Map<string, CachedToken>();
const tokenInFlight = new Map<string, Promise<CachedToken>>();

/** Empties the process-wide token cache (tests, or after rotating an App Secret). */
export function clearDoudianTokenCache(): void {
  tokenCache.clear();
}

interface ApiAnswer {
  readonly ok: boolean;
  readonly code: number;
  readonly msg?: string;
  readonly subCode?: string;
  readonly subMsg?: string;
  readonly logId?: string;
  readonly data: Readonly<Record<string, unknown>> | undefined;
}

function answerOf(body: unknown, api: DoudianApi): ApiAnswer {
  const record = asRecord(body);
  if (record === undefined) {
    throw new DatongError('PLATFORM_ERROR', `Douyin shop ${api} answered with an unexpected shape`, {
      meta: { platform: 'doudian', api },
    });
  }
  const code = intOf(record['code']);
  const errNo = intOf(record['err_no']);
  // With x-open-no-old-err-code: 1 the answer has `code` (10000 = success); older answers only err_no (0).
  const effective = code ?? (errNo === undefined ? undefined : errNo === 0 ? 10000 : errNo);
  if (effective === undefined) {
    throw new DatongError('PLATFORM_ERROR', `Douyin shop ${api} answered without a code`, { meta: { platform: 'doudian', api } });
  }
  const msg = textOf(record['msg']) ?? textOf(record['message']);
  const subCode = textOf(record['sub_code']);
  const subMsg = textOf(record['sub_msg']);
  const logId = textOf(record['log_id']);
  return {
    ok: effective === 10000,
    code: effective,
    ...(msg === undefined ? {} : { msg }),
    ...(subCode === undefined ? {} : { subCode }),
    ...(subMsg === undefined ? {} : { subMsg }),
    ...(logId === undefined ? {} : { logId }),
    data: asRecord(record['data']),
  };
}

const REQUEST_HEADERS: Readonly<Record<string, string>> = {
  accept: 'application/json',
  'content-type': 'application/json;charset=UTF-8',
  // Ask for the new code/sub_code answer format, as the official SDKs do.
  'x-open-no-old-err-code': '1',
};

function checkMessage(error: DatongError): ConnectionCheck['message'] {
  const platformCode = error.meta?.['platformCode'];
  const subCode = String(error.meta?.['subCode'] ?? '');
  if (platformCode === 30002) {
    return {
      'zh-CN': '抖店拒绝了本服务器的 IP。请在抖店开放平台「应用管理 → IP 白名单」中加入 Datong 服务器的出口 IP。',
      en: "Douyin shop refused this server's IP address. Add Datong's outbound IP to the app's IP whitelist on the 抖店开放平台.",
    };
  }
  if (subCode.includes('no-authorization') || subCode.includes('authorization-no-existed') || subCode.includes('authorization-closed')) {
    return {
      'zh-CN': '店铺尚未授权此应用，或授权已失效。请在抖店后台重新授权后再试。',
      en: 'The shop has not authorized this app, or the authorization has ended. Authorize the app again in the Douyin shop back office.',
    };
  }
  switch (error.code) {
    case 'CONNECTOR_CONFIG_INVALID':
      return {
        'zh-CN': 'App Key、App Secret 或店铺 ID 不正确，或应用没有订单接口权限。请在抖店开放平台核对应用信息与权限包。',
        en: 'The App Key, App Secret or shop ID is wrong, or the app lacks the order API permission. Check them on the 抖店开放平台.',
      };
    case 'PLATFORM_RATE_LIMITED':
      return {
        'zh-CN': '抖店接口调用过于频繁，暂时被限流。Datong 会自动放慢并重试，请稍后再测试。',
        en: 'Douyin shop is throttling API calls right now. Datong slows down and retries by itself; test again in a little while.',
      };
    case 'PLATFORM_UNREACHABLE':
      return {
        'zh-CN': '无法连接抖店开放平台（网络错误或平台暂时不可用）。请检查服务器网络，稍后再试。',
        en: "Could not reach the Douyin shop Open API (network error or the platform is down). Check the server's network and try again later.",
      };
    default:
      return {
        'zh-CN': `抖店返回了错误（${String(platformCode ?? error.code)}）。请稍后再试；若持续出现，请查看连接器消息日志。`,
        en: `Douyin shop answered with an error (${String(platformCode ?? error.code)}). Try again later; if it persists, see the connector's message log.`,
      };
  }
}

/**
 * Builds the outbound client. Fails closed: the config is validated again, so a client without
 * an App Secret cannot be built (CONNECTOR_CONFIG_INVALID).
 *
 * @example
 * const client = createDoudianClient(parseDoudianConfig(stored), { rateLimit: (api) => buckets.take(api) });
 * const page = await client.listOrders({ from, to });
 */
export function createDoudianClient(config: DoudianConfig, deps: ClientDeps = {}): DoudianClient {
  const { appKey, appSecret, shopId, apiBase: configBase } = parseDoudianConfig(config);
  const apiBase = withoutTrailingSlashes(deps.baseUrl ?? configBase);
  const now = (): number => (deps.now === undefined ? Date.now() : deps.now().getTime());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const rateLimit = deps.rateLimit ?? (async () => undefined);
  const cacheKey = `${apiBase}\n${appKey}\n${shopId}`;

  async function call(api: DoudianApi, params: Readonly<Record<string, unknown>>, accessToken: string | undefined): Promise<ApiAnswer> {
    await rateLimit(api);
    const paramJson = marshalParamJson(params);
    const timestamp = String(Math.floor(now() / 1000));
    const sign = signApiRequest({ appKey, appSecret, method: api, paramJson, timestamp });
    const query = new URLSearchParams({ app_key: appKey, method: api, v: '2', timestamp, sign, sign_method: 'hmac-sha256' });
    if (accessToken !== undefined) query.set('access_token', accessToken);
    const { text } = await requestText({
      method: 'POST',
      url: `${apiBase}${methodPath(api)}?${query.toString()}`,
      headers: REQUEST_HEADERS,
      body: paramJson,
      timeoutMs,
      meta: { platform: 'doudian' },
    });
    const body = parseAnswer(text, parseJsonLossless, `Douyin shop ${api} answered with a body that is not JSON`, { platform: 'doudian', api });
    return answerOf(body, api);
  }

  function tokenOf(api: DoudianApi, answer: ApiAnswer): CachedToken {
    const data = answer.data;
    const accessToken = textOf(data?.['access_token']);
    const expiresIn = intOf(data?.['expires_in']);
    if (accessToken === undefined || expiresIn === undefined || expiresIn <= 0) {
      throw new DatongError('PLATFORM_ERROR', `Douyin shop ${api} answered without access_token/expires_in`, {
        meta: { platform: 'doudian', api },
      });
    }
    const token: CachedToken = {
      accessToken,
      refreshToken: textOf(data?.['refresh_token']),
      expiresAt: now() + expiresIn * 1000,
      shopName: textOf(data?.['shop_name']),
    };
    tokenCache.set(cacheKey, token);
    return token;
  }

  async function createToken(): Promise<CachedToken> {
    const answer = await call('token.create', { code: '', grant_type: 'authorization_self', shop_id: shopId }, undefined);
    if (!answer.ok) throw errorFromCode('token.create', answer, [appSecret]);
    return tokenOf('token.create', answer);
  }

  async function refreshToken(refresh: string): Promise<CachedToken> {
    const answer = await call('token.refresh', { grant_type: 'refresh_token', refresh_token: refresh }, undefined);
    if (!answer.ok) throw errorFromCode('token.refresh', answer, [appSecret, refresh]);
    return tokenOf('token.refresh', answer);
  }

  async function fetchToken(): Promise<CachedToken> {
    const cached = tokenCache.get(cacheKey);
    if (cached?.refreshToken !== undefined) {
      try {
        return await refreshToken(cached.refreshToken);
      } catch (error) {
        // A self-use app can always create a token from its shop id; only transient failures stop here.
        if (error instanceof DatongError && error.transient) throw error;
      }
    }
    return createToken();
  }

  function sharedFetch(): Promise<CachedToken> {
    const pending = tokenInFlight.get(cacheKey);
    if (pending !== undefined) return pending;
    const started = fetchToken().finally(() => tokenInFlight.delete(cacheKey));
    tokenInFlight.set(cacheKey, started);
    return started;
  }

  async function getAccessToken(): Promise<string> {
    const cached = tokenCache.get(cacheKey);
    if (cached !== undefined && now() < cached.expiresAt - TOKEN_REFRESH_MARGIN_MS) return cached.accessToken;
    return (await sharedFetch()).accessToken;
  }

  /** A business call with the access token; one retry with a new token when the token is rejected. */
  async function authorizedCall(api: DoudianApi, params: Readonly<Record<string, unknown>>): Promise<ApiAnswer> {
    let accessToken = await getAccessToken();
    let answer = await call(api, params, accessToken);
    if (!answer.ok && ruleForCode(answer.code, answer.subCode).action === 'refresh_token') {
      if (tokenCache.get(cacheKey)?.accessToken === accessToken) tokenCache.delete(cacheKey);
      accessToken = (await sharedFetch()).accessToken;
      answer = await call(api, params, accessToken);
    }
    if (!answer.ok) throw errorFromCode(api, answer, [appSecret, accessToken]);
    return answer;
  }

  function dataOf(api: DoudianApi, answer: ApiAnswer): Readonly<Record<string, unknown>> {
    if (answer.data === undefined) {
      throw new DatongError('PLATFORM_ERROR', `Douyin shop ${api} answered without data`, { meta: { platform: 'doudian', api } });
    }
    return answer.data;
  }

  async function listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage> {
    const page = window.cursor === undefined ? 0 : Number(window.cursor);
    if (!Number.isSafeInteger(page) || page < 0) {
      throw new DatongError('VALIDATION_FAILED', `Douyin shop listOrders: cursor ${JSON.stringify(window.cursor)} is not a page number`);
    }
    // [from, to) in whole seconds; the platform's window bounds are inclusive.
    const start = Math.floor(window.from.getTime() / 1000);
    const end = Math.ceil(window.to.getTime() / 1000) - 1;
    if (end < start) return { orders: [] };
    const answer = await authorizedCall('order.searchList', {
      update_time_start: start,
      update_time_end: end,
      order_by: 'update_time',
      order_asc: true,
      page,
      size: SEARCH_PAGE_SIZE,
    });
    const data = dataOf('order.searchList', answer);
    const list = Array.isArray(data['shop_order_list']) ? data['shop_order_list'] : [];
    const orders = list
      .map((raw) => normalizeShopOrder(raw, { appKey, appSecret, shopId, apiBase }))
      .filter((o): o is CanonicalOrder => o !== undefined);
    const total = intOf(data['total']) ?? 0;
    const more = list.length > 0 && (page + 1) * SEARCH_PAGE_SIZE < total;
    return more ? { orders, nextCursor: String(page + 1) } : { orders };
  }

  async function getOrder(orderId: string): Promise<CanonicalOrder | null> {
    if (idOf(orderId) === undefined) {
      throw new DatongError('VALIDATION_FAILED', 'Douyin shop getOrder: order id must be digits');
    }
    let answer: ApiAnswer;
    try {
      answer = await authorizedCall('order.orderDetail', { shop_order_id: orderId });
    } catch (error) {
      // An unknown order is a business failure whose text says it does not exist (订单不存在).
      const subMsg = error instanceof DatongError ? String(error.detail ?? '') : '';
      if (error instanceof DatongError && error.meta?.['platformCode'] === 50002 && subMsg.includes('不存在')) return null;
      throw error;
    }
    const detail = dataOf('order.orderDetail', answer)['shop_order_detail'];
    return normalizeShopOrder(detail, { appKey, appSecret, shopId, apiBase }) ?? null;
  }

  async function testConnection(): Promise<ConnectionCheck> {
    try {
      // A fresh token proves App Key, App Secret and the shop's authorization.
      const token = await sharedFetch();
      const to = new Date(now());
      await listOrders({ from: new Date(to.getTime() - 3600_000), to });
      const name = token.shopName ?? shopId;
      return {
        ok: true,
        message: {
          'zh-CN': `已连接抖店：店铺「${name}」（${shopId}），可以读取订单。`,
          en: `Connected to Douyin shop "${name}" (${shopId}); orders can be read.`,
        },
      };
    } catch (error) {
      if (!(error instanceof DatongError)) throw error;
      return { ok: false, code: error.code, message: checkMessage(error) };
    }
  }

  return { getAccessToken, listOrders, getOrder, testConnection };
}
