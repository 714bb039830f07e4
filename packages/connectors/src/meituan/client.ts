import { DatongError, type CanonicalOrder } from '@datong/core';
import type { ClientDeps, CommerceClient, ConnectionCheck, OrderPage } from '../kit/connector.js';
import { withoutTrailingSlashes } from '../kit/config.js';
import { parseAnswer, redactUrl, requestText } from '../kit/http.js';
import { parseMeituanConfig, type MeituanConfig } from './config.js';
import { errorFromMeituan, type MeituanApi } from './errors.js';
import { isJsonObject, parseJsonLossless, type LosslessJson } from './json.js';
import { meituanOrderFromParams } from './normalize.js';
import type { MeituanPushPayload } from './payloads.js';
import { meituanSig } from './sign.js';
import { chinaDay, nextChinaDay, previousChinaDay } from './values.js';

/*
 * Outbound client for the Meituan waimai open API (自研/自用型应用: app_id + app_secret, no
 * access_token). Every call is a GET signed like a push: system parameters app_id and timestamp
 * (epoch seconds) plus the API's parameters, sig = md5(URL + "?" + sorted k=v + app_secret)
 * (sign.ts), then sent URL-encoded with sig appended.
 *
 * Answers are read as text with kit/http's requestText and parsed losslessly (json.ts) because
 * order ids exceed 2^53. Transport rules are the kit's: timeout and network errors and 5xx are
 * PLATFORM_UNREACHABLE, 429 is PLATFORM_RATE_LIMITED, and only the URL without its query string
 * reaches error details.
 *
 * APIs: poi/getids (credentials check), order/getOrderDetail (one order),
 * ecommerce/order/getOrderIdByDaySeq (order ids of a store by day and daily sequence number, in
 * ranges: the backfill). deps.rateLimit(api) is awaited before every call.
 */

const DEFAULT_TIMEOUT_MS = 10_000;
/** day_seq numbers asked per getOrderIdByDaySeq call (one page of listOrders). */
export const MEITUAN_DAY_SEQ_PAGE = 100;
/**
 * Days before `from` that listOrders also walks: Meituan lists orders by the day they were paid,
 * so an order paid late yesterday and completed or refunded inside the window is found there.
 */
export const MEITUAN_BACKFILL_LOOKBACK_DAYS = 1;

export interface MeituanClient extends CommerceClient {
  getOrder(orderId: string): Promise<CanonicalOrder | null>;
  /** getOrderDetail's data as text parameters (Meituan field names), or null when there is no such order. */
  getOrderParams(orderId: string): Promise<MeituanPushPayload | null>;
  /** Order ids of a store for one day (yyyyMMdd) and a range of daily sequence numbers. */
  getOrderIdsByDaySeq(appPoiCode: string, day: string, start: number, end: number): Promise<string[]>;
  /** The app's store codes (poi/getids). */
  getPoiCodes(): Promise<string[]>;
}

interface Cursor {
  readonly d: string;
  readonly s: number;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (
      typeof value === 'object' &&
      value !== null &&
      'd' in value &&
      's' in value &&
      typeof value.d === 'string' &&
      /^\d{8}$/.test(value.d) &&
      typeof value.s === 'number' &&
      Number.isSafeInteger(value.s) &&
      value.s >= 1
    ) {
      return { d: value.d, s: value.s };
    }
  } catch {
    // fall through
  }
  throw new DatongError('VALIDATION_FAILED', 'Meituan listOrders cursor is not one this connector issued');
}

/** Text parameters of one lossless JSON object (nested values re-serialized as JSON text). */
export function paramsOfJsonObject(value: { readonly [key: string]: LosslessJson }): MeituanPushPayload {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out[key] = v;
    else if (typeof v === 'boolean') out[key] = String(v);
    else if (v !== null) out[key] = JSON.stringify(v);
  }
  return out;
}

function idsOf(data: LosslessJson | undefined): string[] {
  // Public SDKs disagree on the answer's shape: a list of ids, {order_ids:[…]} or [{order_ids:[…]}].
  const out: string[] = [];
  const visit = (value: LosslessJson | undefined, depth: number): void => {
    if (depth > 3 || value === undefined || value === null) return;
    if (typeof value === 'string') {
      if (/^\d{1,20}$/.test(value)) out.push(value);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value as readonly LosslessJson[]) visit(item, depth + 1);
      return;
    }
    if (isJsonObject(value)) {
      visit(value['order_ids'], depth + 1);
      visit(value['order_id'], depth + 1);
    }
  };
  visit(data, 0);
  return [...new Set(out)];
}

const NOT_FOUND = /不存在|not exist|not found/i;

/**
 * Builds the outbound client. Fails closed: the config is validated again here, so a client
 * without an appSecret cannot be built.
 *
 * @example
 * const client = createMeituanClient(parseMeituanConfig(stored), { rateLimit: (api) => bucket.take(api) });
 * const check = await client.testConnection();
 */
export function createMeituanClient(rawConfig: MeituanConfig, deps: ClientDeps = {}): MeituanClient {
  const config = parseMeituanConfig(rawConfig);
  const base = withoutTrailingSlashes(deps.baseUrl ?? config.apiBase);
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function call(api: MeituanApi, params: Readonly<Record<string, string>>): Promise<LosslessJson | undefined> {
    if (deps.rateLimit !== undefined) await deps.rateLimit(api);
    const url = `${base}/${api}`;
    const signed: Record<string, string> = {};
    for (const [name, value] of Object.entries(params)) if (value !== '') signed[name] = value;
    signed['app_id'] = config.appId;
    signed['timestamp'] = String(Math.floor(now().getTime() / 1000));
    const sig = meituanSig(url, signed, config.appSecret);
    const query = new URLSearchParams({ ...signed, sig }).toString();
    const target = `GET ${redactUrl(url)}`;

    const { text } = await requestText({
      method: 'GET',
      url: `${url}?${query}`,
      headers: { accept: 'application/json' },
      timeoutMs,
      target,
      meta: { platform: 'meituan', api },
      // Unchanged from this client's own fetch: a 429 never reported Retry-After (Meituan
      // throttles with code 711 in a 200 answer), so the poller's own back-off applies.
      reportRetryAfter: false,
    });
    const body = parseAnswer(text, parseJsonLossless, `${target} answered with a body that is not JSON`, {
      platform: 'meituan',
      api,
      bodyLength: text.length,
    });
    if (!isJsonObject(body)) {
      throw new DatongError('PLATFORM_ERROR', `${target} answered with an unexpected shape`, { meta: { platform: 'meituan', api } });
    }
    const error = body['error'];
    if (body['data'] === 'ng' || (isJsonObject(error) && error['code'] !== undefined)) {
      const code = isJsonObject(error) && typeof error['code'] === 'string' ? Number(error['code']) : NaN;
      const msg = isJsonObject(error) && typeof error['msg'] === 'string' ? error['msg'] : undefined;
      throw errorFromMeituan(api, Number.isFinite(code) ? code : -1, msg, [config.appSecret]);
    }
    return body['data'];
  }

  async function getOrderParams(orderId: string): Promise<MeituanPushPayload | null> {
    if (!/^\d{1,20}$/.test(orderId)) throw new DatongError('VALIDATION_FAILED', 'a Meituan order id is 1 to 20 digits');
    let data: LosslessJson | undefined;
    try {
      data = await call('order/getOrderDetail', { order_id: orderId });
    } catch (e) {
      if (e instanceof DatongError && e.code === 'PLATFORM_ERROR' && NOT_FOUND.test(String(e.meta?.['msg'] ?? ''))) return null;
      throw e;
    }
    const item = Array.isArray(data) ? (data as readonly LosslessJson[])[0] : data;
    return isJsonObject(item) ? paramsOfJsonObject(item) : null;
  }

  function orderFrom(params: MeituanPushPayload): CanonicalOrder {
    try {
      return meituanOrderFromParams(params, config, 'order');
    } catch (cause) {
      if (cause instanceof DatongError && cause.code === 'MESSAGE_INVALID') {
        throw new DatongError('PLATFORM_ERROR', `Meituan order/getOrderDetail answered an order Datong cannot read: ${cause.detail ?? ''}`, {
          cause,
          meta: { platform: 'meituan', api: 'order/getOrderDetail' },
        });
      }
      throw cause;
    }
  }

  async function getOrderIdsByDaySeq(appPoiCode: string, day: string, start: number, end: number): Promise<string[]> {
    const data = await call('ecommerce/order/getOrderIdByDaySeq', {
      app_poi_code: appPoiCode,
      date_time: day,
      day_seq_start: String(start),
      day_seq_end: String(end),
    });
    return idsOf(data);
  }

  async function getPoiCodes(): Promise<string[]> {
    const data = await call('poi/getids', {});
    const list = Array.isArray(data) ? (data as readonly LosslessJson[]) : [];
    return list.filter((v): v is string => typeof v === 'string');
  }

  return {
    getOrderParams,
    getOrderIdsByDaySeq,
    getPoiCodes,

    async getOrder(orderId) {
      const params = await getOrderParams(orderId);
      return params === null ? null : orderFrom(params);
    },

    async listOrders(window): Promise<OrderPage> {
      const appPoiCode = config.appPoiCode;
      if (appPoiCode === undefined) {
        throw new DatongError('CONNECTOR_CONFIG_INVALID', 'Meituan backfill needs appPoiCode: Meituan lists orders per store', {
          extensions: { errors: [{ pointer: '/appPoiCode', message: 'is required for order backfill' }] },
        });
      }
      if (!(window.from.getTime() < window.to.getTime())) {
        throw new DatongError('VALIDATION_FAILED', 'listOrders window: from must be before to');
      }
      let firstDay = chinaDay(window.from);
      for (let i = 0; i < MEITUAN_BACKFILL_LOOKBACK_DAYS; i += 1) firstDay = previousChinaDay(firstDay);
      const lastDay = chinaDay(new Date(window.to.getTime() - 1));
      const cursor = window.cursor === undefined ? { d: firstDay, s: 1 } : decodeCursor(window.cursor);

      const end = cursor.s + MEITUAN_DAY_SEQ_PAGE - 1;
      const ids = await getOrderIdsByDaySeq(appPoiCode, cursor.d, cursor.s, end);
      const orders: CanonicalOrder[] = [];
      const fromSeconds = Math.floor(window.from.getTime() / 1000);
      const toSeconds = Math.ceil(window.to.getTime() / 1000);
      for (const id of ids) {
        const params = await getOrderParams(id);
        if (params === null) continue;
        const order = orderFrom(params);
        // Modified in [from, to): utime is Meituan's last-change time of the order.
        const changed = order.version === undefined ? Math.floor(Date.parse(order.statusAt) / 1000) : Number(order.version);
        if (changed >= fromSeconds && changed < toSeconds) orders.push(order);
      }
      let next: Cursor | undefined;
      if (ids.length >= MEITUAN_DAY_SEQ_PAGE) next = { d: cursor.d, s: end + 1 };
      else if (cursor.d < lastDay) next = { d: nextChinaDay(cursor.d), s: 1 };
      return next === undefined ? { orders } : { orders, nextCursor: encodeCursor(next) };
    },

    async testConnection(): Promise<ConnectionCheck> {
      try {
        const pois = await getPoiCodes();
        const poi = config.appPoiCode;
        if (poi !== undefined && !pois.includes(poi)) {
          return {
            ok: false,
            code: 'CONNECTOR_CONFIG_INVALID',
            message: {
              'zh-CN': `应用 ${config.appId} 没有绑定门店 ${poi}：请在美团开发者中心把该门店授权给此应用，或改正门店编码（app_poi_code）。`,
              en: `App ${config.appId} is not bound to store ${poi}: bind the store to this app in the Meituan developer centre, or correct the store code (app_poi_code).`,
            },
          };
        }
        return {
          ok: true,
          message:
            poi === undefined
              ? {
                  'zh-CN': `已连接美团开放平台：应用 ${config.appId} 可访问 ${pois.length} 家门店。`,
                  en: `Connected to Meituan: app ${config.appId} can reach ${pois.length} store(s).`,
                }
              : {
                  'zh-CN': `已连接美团开放平台：应用 ${config.appId} 已绑定门店 ${poi}。`,
                  en: `Connected to Meituan: app ${config.appId} is bound to store ${poi}.`,
                },
        };
      } catch (e) {
        if (!(e instanceof DatongError)) throw e;
        return { ok: false, code: e.code, message: explain(e) };
      }
    },
  };
}

function explain(e: DatongError): ConnectionCheck['message'] {
  switch (e.code) {
    case 'CONNECTOR_CONFIG_INVALID':
      return {
        'zh-CN': '美团拒绝了签名：请核对 AppID 和 AppSecret 是否与美团开发者中心「应用信息」中的一致。',
        en: 'Meituan rejected the signature: check that the AppID and AppSecret match the app in the Meituan developer centre.',
      };
    case 'PLATFORM_RATE_LIMITED':
      return {
        'zh-CN': '美团暂时限制了调用频率，请几分钟后再试。',
        en: 'Meituan is limiting the call rate right now; try again in a few minutes.',
      };
    case 'PLATFORM_UNREACHABLE':
      return {
        'zh-CN': '无法连接美团开放平台（网络不通或美团服务暂时不可用），请稍后再试。',
        en: 'The Meituan open platform cannot be reached (network problem or Meituan outage); try again later.',
      };
    default: {
      const msg = typeof e.meta?.['msg'] === 'string' && e.meta['msg'] !== '' ? e.meta['msg'] : e.code;
      return {
        'zh-CN': `美团返回了错误：${msg}`,
        en: `Meituan answered with an error: ${msg}`,
      };
    }
  }
}
