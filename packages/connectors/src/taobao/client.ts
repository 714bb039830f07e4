import { DatongError, type CanonicalOrder } from '@datong/core';
import type {
  ClientDeps,
  CommerceClient,
  ConnectionCheck,
  OrderPage,
  PlatformMessage,
  PulledMessages,
} from '../kit/connector.js';
import { withoutTrailingSlashes } from '../kit/config.js';
import { parseAnswer, redactUrl, requestText } from '../kit/http.js';
import { parseTaobaoConfig, type TaobaoConfig } from './config.js';
import { errorFromTopError } from './errors.js';
import { idString, parseJsonKeepingBigInts } from './json.js';
import { tmcMessageToPlatformMessage, withFetchedTrade } from './messages.js';
import { normalizeTaobaoTrade, TRADE_TOPICS } from './normalize.js';
import {
  TAOBAO_DEFAULT_TOPICS,
  TRADE_FIELDS,
  type TopErrorBody,
  type TopTrade,
} from './payloads.js';
import { formatTopTime, signTopRequest } from './sign.js';

/** The outbound side of the Taobao connector: TOP calls signed with the shop's credentials. */
export interface TaobaoClient extends CommerceClient {
  /** Orders modified in [from, to), newest modifications first within each day, page by page. */
  listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage>;
  /** One order (taobao.trade.fullinfo.get); null when TOP says the trade does not exist. */
  getOrder(orderId: string): Promise<CanonicalOrder | null>;
  /**
   * Consumes up to `max` TMC messages (taobao.tmc.messages.consume; TMC hands out at least 10
   * and at most 200 per call, so more than `max` may come back). `confirm()` acknowledges exactly
   * these ids with taobao.tmc.messages.confirm; unconfirmed messages are delivered again later.
   */
  pullMessages(max: number): Promise<PulledMessages>;
  /** The raw trade as taobao.trade.fullinfo.get returns it; null when it does not exist. */
  getTrade(tid: string): Promise<TopTrade | null>;
  /** Turns TMC on for this shop (taobao.tmc.user.permit) for `topics` (default: the ones Datong uses). */
  permitMessages(topics?: readonly string[]): Promise<void>;
  /** One signed TOP call; answers the `<method>_response` object. Throws DatongError. */
  call(method: string, params?: Readonly<Record<string, string | number | boolean | undefined>>): Promise<Record<string, unknown>>;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** trades.sold.increment.get: page_size 1–100, "建议使用40~50". */
export const TAOBAO_PAGE_SIZE = 50;
/** trades.sold.increment.get: "一次请求只能查询时间跨度为一天的增量交易记录". */
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;
/** tmc.messages.consume quantity: "最小值：10；最大值：200"; confirm takes at most 200 ids. */
const TMC_MIN_BATCH = 10;
const TMC_MAX_BATCH = 200;

/** APIs that need the shop's session ("需要授权"); the others are app-level. */
const SESSION_APIS: ReadonlySet<string> = new Set([
  'taobao.trades.sold.increment.get',
  'taobao.trade.fullinfo.get',
  'taobao.user.seller.get',
  'taobao.tmc.user.permit',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function responseKey(method: string): string {
  return `${method.replace(/^taobao\./, '').replace(/\./g, '_')}_response`;
}

function isTopErrorBody(v: unknown): v is TopErrorBody {
  return isObj(v) && typeof v['code'] === 'number';
}

function tidOf(message: PlatformMessage): string | undefined {
  const payload = message.payload;
  if (!isObj(payload)) return undefined;
  const content = payload['content'];
  return isObj(content) ? idString(content['tid']) : undefined;
}

function listOf(wrapper: unknown, key: string): unknown[] {
  if (!isObj(wrapper)) return [];
  const list = wrapper[key];
  return Array.isArray(list) ? list : [];
}

/* ------------------------------------------- cursors ------------------------------------------- */

interface Cursor {
  /** Start (epoch ms) of the current one-day slice of the window. */
  readonly sliceStart: number;
  /** Next page to fetch, counting down; 0 = probe the slice first. */
  readonly page: number;
}

function encodeCursor(c: Cursor): string {
  return `v1.${c.sliceStart}.${c.page}`;
}

function decodeCursor(raw: string, from: number, to: number): Cursor {
  const m = /^v1\.(\d{1,15})\.(\d{1,6})$/.exec(raw);
  const sliceStart = m === null ? NaN : Number(m[1]);
  if (m === null || sliceStart < from || sliceStart >= to) {
    throw new DatongError('VALIDATION_FAILED', 'Taobao listOrders: the cursor does not belong to this window');
  }
  return { sliceStart, page: Number(m[2]) };
}

/* ---------------------------------------- the client ---------------------------------------- */

/**
 * Builds the Taobao client. Fails closed: the config is validated again, so a client without
 * an AppSecret or session key cannot be built.
 *
 * @example
 * const client = createTaobaoClient(parseTaobaoConfig(stored), { rateLimit: (api) => buckets.take(api) });
 * const { messages, confirm } = await client.pullMessages(100);
 * await store(messages);
 * await confirm();
 */
export function createTaobaoClient(config: TaobaoConfig, deps: ClientDeps = {}): TaobaoClient {
  const cfg = parseTaobaoConfig(config);
  const apiUrl = withoutTrailingSlashes(deps.baseUrl ?? cfg.apiBase);
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const redact = [cfg.appSecret, cfg.sessionKey];

  async function call(
    method: string,
    params: Readonly<Record<string, string | number | boolean | undefined>> = {},
  ): Promise<Obj> {
    await deps.rateLimit?.(method);
    const all: Record<string, string> = {};
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== '') all[name] = String(value);
    }
    Object.assign(all, {
      method,
      app_key: cfg.appKey,
      timestamp: formatTopTime(now()),
      format: 'json',
      v: '2.0',
      sign_method: cfg.signMethod,
    });
    if (SESSION_APIS.has(method)) all['session'] = cfg.sessionKey;
    all['sign'] = signTopRequest(all, cfg.appSecret, cfg.signMethod);

    const target = `POST ${redactUrl(apiUrl)} ${method}`;
    const { status, text } = await requestText({
      method: 'POST',
      url: apiUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
      body: new URLSearchParams(all).toString(),
      timeoutMs,
      target,
      meta: { platform: 'taobao', api: method },
    });
    const body = parseAnswer(text, parseJsonKeepingBigInts, `${target} answered a body that is not JSON`, {
      platform: 'taobao',
      api: method,
      status,
      bodyLength: text.length,
    });
    if (isObj(body) && isTopErrorBody(body['error_response'])) {
      throw errorFromTopError(method, body['error_response'], redact);
    }
    const answer = isObj(body) ? body[responseKey(method)] : undefined;
    if (!isObj(answer)) {
      throw new DatongError('PLATFORM_ERROR', `${target} answered without ${responseKey(method)}`, {
        meta: { platform: 'taobao', api: method },
      });
    }
    return answer;
  }

  async function getTrade(tid: string): Promise<TopTrade | null> {
    if (idString(tid) === undefined) throw new DatongError('VALIDATION_FAILED', 'Taobao trade id must be digits');
    try {
      const answer = await call('taobao.trade.fullinfo.get', { fields: TRADE_FIELDS.join(','), tid });
      const trade = answer['trade'];
      return isObj(trade) ? (trade as unknown as TopTrade) : null;
    } catch (e) {
      const sub = e instanceof DatongError ? e.meta?.['subCode'] : undefined;
      if (typeof sub === 'string' && /not-?exist/i.test(sub)) return null;
      throw e;
    }
  }

  function toOrder(trade: unknown, api: string): CanonicalOrder {
    const result = normalizeTaobaoTrade(trade, cfg.shopId);
    if (!result.ok) {
      throw new DatongError('PLATFORM_ERROR', `Taobao ${api} answered a trade Datong cannot read: ${result.reason}`, {
        meta: { platform: 'taobao', api },
      });
    }
    return result.order;
  }

  async function incrementPage(sliceStart: number, sliceEnd: number, page: number) {
    // [sliceStart, sliceEnd) at TOP's one-second resolution: start rounded up, end is the last
    // whole second before sliceEnd (TOP's bounds are inclusive).
    const start = formatTopTime(new Date(Math.ceil(sliceStart / 1000) * 1000));
    const end = formatTopTime(new Date(sliceEnd - 1));
    const answer = await call('taobao.trades.sold.increment.get', {
      fields: TRADE_FIELDS.join(','),
      start_modified: start,
      end_modified: end,
      page_no: page,
      page_size: TAOBAO_PAGE_SIZE,
    });
    const total = typeof answer['total_results'] === 'number' ? answer['total_results'] : 0;
    const trades = listOf(answer['trades'], 'trade');
    return { total, orders: trades.map((t) => toOrder(t, 'taobao.trades.sold.increment.get')) };
  }

  async function listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage> {
    const from = window.from.getTime();
    const to = window.to.getTime();
    if (!Number.isFinite(from) || !Number.isFinite(to)) {
      throw new DatongError('VALIDATION_FAILED', 'Taobao listOrders: from and to must be valid dates');
    }
    if (from >= to) return { orders: [] };
    let cursor: Cursor = window.cursor === undefined ? { sliceStart: from, page: 0 } : decodeCursor(window.cursor, from, to);

    /*
     * TOP lists a slice newest-modification first; trades modified again while we page move to
     * the front or leave the slice. Paging from the last page back to page 1 (the doc's advice,
     * "必须采用倒序的分页方式（从最后一页往回取）才能避免漏单") means a move only repeats a trade,
     * never skips one. A slice is probed with page 1 first: when it fits in one page that answer
     * is complete; otherwise it is discarded and the slice is read from its last page back.
     */
    for (;;) {
      const sliceEnd = Math.min(to, cursor.sliceStart + MAX_WINDOW_MS);
      const nextSlice = sliceEnd < to ? encodeCursor({ sliceStart: sliceEnd, page: 0 }) : undefined;
      let orders: CanonicalOrder[];
      let next: string | undefined;
      if (cursor.page === 0) {
        const probe = await incrementPage(cursor.sliceStart, sliceEnd, 1);
        if (probe.total <= TAOBAO_PAGE_SIZE) {
          orders = probe.orders;
          next = nextSlice;
        } else {
          const last = Math.ceil(probe.total / TAOBAO_PAGE_SIZE);
          orders = (await incrementPage(cursor.sliceStart, sliceEnd, last)).orders;
          next = encodeCursor({ sliceStart: cursor.sliceStart, page: last - 1 });
        }
      } else {
        orders = (await incrementPage(cursor.sliceStart, sliceEnd, cursor.page)).orders;
        next = cursor.page > 1 ? encodeCursor({ sliceStart: cursor.sliceStart, page: cursor.page - 1 }) : nextSlice;
      }
      // Empty slices are skipped here rather than handed back as empty pages.
      if (orders.length > 0 || next === undefined) return next === undefined ? { orders } : { orders, nextCursor: next };
      cursor = decodeCursor(next, from, to);
    }
  }

  async function confirmIds(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += TMC_MAX_BATCH) {
      const answer = await call('taobao.tmc.messages.confirm', {
        group_name: cfg.groupName,
        s_message_ids: ids.slice(i, i + TMC_MAX_BATCH).join(','),
      });
      if (answer['is_success'] !== true) {
        throw new DatongError('PLATFORM_ERROR', 'Taobao taobao.tmc.messages.confirm did not answer is_success', {
          meta: { platform: 'taobao', api: 'taobao.tmc.messages.confirm' },
        });
      }
    }
  }

  async function pullMessages(max: number): Promise<PulledMessages> {
    if (!Number.isFinite(max) || max < 1) throw new DatongError('VALIDATION_FAILED', 'Taobao pullMessages: max must be at least 1');
    const quantity = Math.min(TMC_MAX_BATCH, Math.max(TMC_MIN_BATCH, Math.floor(max)));
    const answer = await call('taobao.tmc.messages.consume', { group_name: cfg.groupName, quantity });
    const raw = listOf(answer['messages'], 'tmc_message');
    const pulled = raw.map(tmcMessageToPlatformMessage).filter((m) => m !== undefined);

    if (cfg.fetchTradeDetails) {
      // One fetch per trade per batch; a failed fetch leaves the message as TMC sent it, and
      // throttling or an outage stops the fetching for this batch (the messages still go out).
      const trades = new Map<string, TopTrade | null>();
      let fetching = true;
      for (const item of pulled) {
        if (!fetching || TRADE_TOPICS[item.type] === undefined) continue;
        const tid = tidOf(item);
        if (tid === undefined || trades.has(tid)) continue;
        try {
          trades.set(tid, await getTrade(tid));
        } catch (e) {
          trades.set(tid, null);
          if (e instanceof DatongError && e.transient) fetching = false;
        }
      }
      for (let i = 0; i < pulled.length; i += 1) {
        if (TRADE_TOPICS[pulled[i]!.type] === undefined) continue;
        const tid = tidOf(pulled[i]!);
        const trade = tid === undefined ? undefined : trades.get(tid);
        if (trade !== undefined && trade !== null) pulled[i] = withFetchedTrade(pulled[i]!, trade);
      }
    }

    const messages = pulled;
    const ids = messages.map((m) => m.messageId);
    let confirmed: Promise<void> | undefined;
    return {
      messages,
      confirm: () => {
        if (ids.length === 0) return Promise.resolve();
        // Confirming twice is harmless on TMC, but a retry after success must not call again;
        // a failed confirm may be retried.
        confirmed ??= confirmIds(ids).catch((e: unknown) => {
          confirmed = undefined;
          throw e;
        });
        return confirmed;
      },
    };
  }

  async function testConnection(): Promise<ConnectionCheck> {
    let nick: string;
    try {
      const answer = await call('taobao.user.seller.get', { fields: 'nick,user_id' });
      const user = answer['user'];
      const n = isObj(user) ? user['nick'] : undefined;
      if (typeof n !== 'string' || n === '') {
        return failure('PLATFORM_ERROR', '淘宝未返回店铺信息，请稍后重试。', 'Taobao did not return the shop; try again later.');
      }
      nick = n;
    } catch (e) {
      return explain(e);
    }
    try {
      const answer = await call('taobao.tmc.user.get', { fields: 'user_nick,topics,is_valid', nick });
      const user = answer['tmc_user'];
      if (!isObj(user) || user['is_valid'] !== true) {
        return failure(
          'CONNECTOR_CONFIG_INVALID',
          `已连接店铺「${nick}」，但此店铺尚未开通淘宝消息服务（TMC），订单消息不会送达。请在 Datong 中开启消息订阅（taobao.tmc.user.permit）。`,
          `Connected to shop "${nick}", but Taobao's message service (TMC) is not on for it, so no order messages will arrive. Turn on message subscription in Datong (taobao.tmc.user.permit).`,
        );
      }
    } catch (e) {
      return explain(e);
    }
    return {
      ok: true,
      message: {
        'zh-CN': `已连接淘宝店铺「${nick}」，消息服务已开通。`,
        en: `Connected to Taobao shop "${nick}"; the message service is on.`,
      },
    };
  }

  return {
    testConnection,
    listOrders,
    async getOrder(orderId) {
      const trade = await getTrade(orderId);
      return trade === null ? null : toOrder(trade, 'taobao.trade.fullinfo.get');
    },
    pullMessages,
    getTrade,
    async permitMessages(topics = TAOBAO_DEFAULT_TOPICS) {
      const answer = await call('taobao.tmc.user.permit', { topics: topics.join(',') });
      if (answer['is_success'] !== true) {
        throw new DatongError('PLATFORM_ERROR', 'Taobao taobao.tmc.user.permit did not answer is_success', {
          meta: { platform: 'taobao', api: 'taobao.tmc.user.permit' },
        });
      }
    },
    call,
  };
}

function failure(code: string, zh: string, en: string): ConnectionCheck {
  return { ok: false, code, message: { 'zh-CN': zh, en } };
}

/** A failed call in words a merchant understands. */
function explain(e: unknown): ConnectionCheck {
  if (!(e instanceof DatongError)) throw e;
  const topCode = e.meta?.['topCode'];
  switch (e.code) {
    case 'PLATFORM_UNREACHABLE':
      return failure(e.code, '无法连接淘宝开放平台，请检查网络或稍后重试。', 'Cannot reach the Taobao Open Platform; check the network or try again later.');
    case 'PLATFORM_RATE_LIMITED':
      return failure(e.code, '淘宝开放平台正在限流，请稍后再试。', 'The Taobao Open Platform is throttling this app; try again in a little while.');
    case 'CONNECTOR_CONFIG_INVALID':
      if (topCode === 25 || topCode === 24) {
        return failure(e.code, 'AppSecret 不正确，请核对开放平台控制台中的应用密钥。', 'The AppSecret is wrong; check it in the Taobao Open Platform console.');
      }
      if (topCode === 28 || topCode === 29) {
        return failure(e.code, 'AppKey 不正确，请核对开放平台控制台中的 AppKey。', 'The AppKey is wrong; check it in the Taobao Open Platform console.');
      }
      if (topCode === 26 || topCode === 27) {
        return failure(e.code, '店铺授权（SessionKey）无效或已过期，请让店铺重新授权此应用。', "The shop's authorisation (session key) is invalid or has expired; have the shop authorise the app again.");
      }
      if (topCode === 11 || topCode === 12 || topCode === 13) {
        return failure(e.code, '应用或店铺缺少调用此接口的权限，请在开放平台申请相应权限。', 'The app or the shop lacks permission for this API; request it on the Taobao Open Platform.');
      }
      return failure(e.code, '连接配置有误：' + (e.detail ?? e.code), `The connection settings are wrong: ${e.detail ?? e.code}`);
    default:
      return failure(e.code, `淘宝返回错误：${e.detail ?? e.code}`, `Taobao answered with an error: ${e.detail ?? e.code}`);
  }
}
