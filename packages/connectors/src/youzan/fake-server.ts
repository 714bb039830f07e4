import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqualStr } from '../kit/crypto.js';
import { javaUrlEncode, parseJsonExact } from './codec.js';
import type { YouzanFullOrderInfo, YouzanOrderLine, YouzanTradeDetail } from './payloads.js';
import { addAmounts, beijingMillis, multiplyAmount } from './values.js';
import { youzanBodySign, youzanEventSign } from './verify.js';

/*
 * A local stand-in for open.youzanyun.com (tests, `datong simulate`), following the official
 * docs (see payloads.ts and errors.ts for the pages):
 * - POST /auth/token (JSON only): authorize_type=silent with grant_id = the shop's kdt_id;
 *   refresh=false returns the current token while it is valid, refresh=true issues a new one;
 *   `data.expires` is the expiry in epoch ms (7 days). Errors 1000 / 1103 / 1105 as documented.
 * - POST /api/{name}/{version}?access_token=…: gateway errors as {"gw_err_resp":{…}} with HTTP
 *   200 (4005 unknown API before the token check, 4201 no token, 4203 unknown token, 4202
 *   expired, 4101 throttled); youzan.trades.sold.get 4.0.4 by update time with paging
 *   (page_size ≤ 100, page_no ≤ 100) and youzan.trade.get 4.0.2 (5000 "trade not found").
 * - Switches: throttling (4101) and outage (HTTP 503, or dropped connections).
 * And it builds pushes exactly as Youzan sends them: msg UrlEncoded like Java's URLEncoder,
 * body `sign` = md5(client_id + msg + client_secret), header Event-Sign = md5(client_id + body +
 * client_secret), Event-Type and Client-Id headers.
 */

export interface FakeYouzanServerOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The shop the app is authorized for (grant_id). */
  readonly kdtId: string;
  /** Lifetime of issued tokens in ms. Defaults to 7 days, as on Youzan. */
  readonly tokenTtlMs?: number;
  /** Clock in epoch ms. Defaults to Date.now. */
  readonly now?: () => number;
}

export type FakeYouzanOutage = 'http_503' | 'connection_reset';

export interface FakeYouzanServer {
  /** Base URL to use as `apiBase`, e.g. http://127.0.0.1:49152 */
  readonly url: string;
  close(): Promise<void>;
  /** Adds or replaces an order (by tid); it is found by update_time and by tid. */
  putOrder(detail: YouzanTradeDetail): void;
  /** Number of /auth/token requests received, and of those with refresh=true. */
  readonly tokenFetches: number;
  readonly tokenRefreshes: number;
  /** Number of /api requests received per API name. */
  apiCalls(api: string): number;
  /** While on, every /api request answers gateway error 4101 (请求太频繁). */
  setThrottled(on: boolean): void;
  /** While set, every request fails: HTTP 503, or the connection is dropped. */
  setOutage(outage: FakeYouzanOutage | null): void;
  /** Invalidates every issued token (as a refresh elsewhere or an ended authorization would). */
  revokeTokens(): void;
}

type Answer = Record<string, unknown>;

function traceId(): string {
  return `yz7-0a${randomBytes(6).toString('hex')}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

function gatewayError(errCode: number, errMsg: string): Answer {
  return { gw_err_resp: { trace_id: traceId(), err_msg: errMsg, err_code: errCode } };
}

function tokenError(code: number, message: string): Answer {
  return { success: false, code, data: null, message };
}

function businessError(code: number, message: string, data: unknown = null): Answer {
  return { trace_id: traceId(), code, data, success: false, message, request_id: null };
}

function ok(data: unknown): Answer {
  return { trace_id: traceId(), code: 200, data, success: true, message: 'successful' };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v = parseJsonExact(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const KNOWN_APIS = new Set(['youzan.trades.sold.get/4.0.4', 'youzan.trade.get/4.0.2', 'youzan.trades.sold.get/4.0.0', 'youzan.trade.get/4.0.0']);
const BEIJING_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port.
 *
 * @example
 * const fake = await startFakeYouzanServer({ clientId: 'c1', clientSecret: 's1', kdtId: '13027865' });
 * fake.putOrder(fakeTradeDetail({ tid: 'E20261101000000000100001', status: 'WAIT_SELLER_SEND_GOODS', … }));
 * const client = createYouzanClient(parseYouzanConfig({ clientId: 'c1', clientSecret: 's1', kdtId: '13027865', apiBase: fake.url }));
 */
export async function startFakeYouzanServer(options: FakeYouzanServerOptions): Promise<FakeYouzanServer> {
  const now = options.now ?? Date.now;
  const ttl = options.tokenTtlMs ?? 7 * 24 * 3_600_000;
  const orders = new Map<string, YouzanTradeDetail>();
  const calls = new Map<string, number>();
  let current: { token: string; expires: number } | undefined;
  let tokenFetches = 0;
  let tokenRefreshes = 0;
  let throttled = false;
  let outage: FakeYouzanOutage | null = null;

  function authToken(req: IncomingMessage, body: string): Answer {
    tokenFetches += 1;
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return tokenError(1000, `Content type '${req.headers['content-type'] ?? ''}' not supported,Please use 'application/json;charset=UTF-8'`);
    }
    const p = parseObject(body);
    if (p === undefined) return tokenError(1000, '参数错误');
    if (p['client_id'] !== options.clientId) return tokenError(1103, 'Client 不存在');
    if (typeof p['client_secret'] !== 'string' || !timingSafeEqualStr(p['client_secret'], options.clientSecret)) {
      return tokenError(1000, '应用信息错误');
    }
    if (p['authorize_type'] !== 'silent') return tokenError(1105, '不支持的应用类型');
    if (String(p['grant_id']) !== options.kdtId) return tokenError(1103, '授权关系不存在');
    const refresh = p['refresh'] === true;
    if (refresh) tokenRefreshes += 1;
    if (current === undefined || current.expires <= now() || refresh) {
      current = { token: randomBytes(16).toString('hex'), expires: now() + ttl };
    }
    return {
      success: true,
      code: 200,
      data: { expires: current.expires, scope: 'trade item user points', access_token: current.token, authority_id: options.kdtId },
      message: null,
    };
  }

  function tradesSoldGet(p: Record<string, unknown>): Answer {
    const start = p['start_update'];
    const end = p['end_update'];
    const pageNo = p['page_no'] ?? 1;
    const pageSize = p['page_size'] ?? 20;
    if (typeof pageNo !== 'number' || typeof pageSize !== 'number' || !Number.isInteger(pageNo) || !Number.isInteger(pageSize)) {
      return businessError(5001, '系统异常');
    }
    if (pageSize > 100) return businessError(5000, '每页最多显示100条数据', { full_order_info_list: [] });
    if (pageNo > 100 || pageNo < 1) return businessError(5000, '页码最大不能超过100', { full_order_info_list: [] });
    if ((start === undefined) !== (end === undefined)) return ok({ full_order_info_list: [], total_results: 0 });
    if (start !== undefined && (typeof start !== 'string' || typeof end !== 'string' || !BEIJING_TIME.test(start) || !BEIJING_TIME.test(end))) {
      return businessError(5001, '系统异常');
    }
    const startMs = start === undefined ? -Infinity : (beijingMillis(start) ?? NaN);
    const endMs = end === undefined ? Infinity : (beijingMillis(end) ?? NaN);
    if (startMs > endMs) return businessError(5000, '开始时间不能大于结束时间', { full_order_info_list: [] });
    if (endMs - startMs > 92 * 24 * 3_600_000) return businessError(5000, '开始时间和结束时间的跨度不能大于3个月', { full_order_info_list: [] });

    const matching = [...orders.values()]
      .map((d) => ({ d, t: beijingMillis(d.full_order_info?.order_info?.update_time) ?? 0 }))
      .filter(({ t }) => t >= startMs && t <= endMs)
      .sort((a, b) => a.t - b.t || String(a.d.full_order_info?.order_info?.tid).localeCompare(String(b.d.full_order_info?.order_info?.tid)));
    const slice = matching.slice((pageNo - 1) * pageSize, pageNo * pageSize);
    return ok({
      full_order_info_list: slice.map(({ d }) => ({ full_order_info: d.full_order_info })),
      total_results: matching.length,
    });
  }

  function tradeGet(p: Record<string, unknown>): Answer {
    const tid = p['tid'];
    const detail = typeof tid === 'string' ? orders.get(tid) : undefined;
    if (detail === undefined) {
      return businessError(5000, 'trade not found', { delivery_order: [], refund_order: [], full_order_info: { orders: [], pay_info: { phase_payments: [] } } });
    }
    return ok({ delivery_order: [], refund_order: [], order_promotion: { item: [], order: [], adjust_fee: '0.00' }, ...detail });
  }

  function api(req: IncomingMessage, url: URL, body: string): Answer {
    const m = /^\/api\/([^/]+)\/(\d+\.\d+\.\d+)$/.exec(url.pathname);
    if (m === null) return gatewayError(4001, '非法请求地址');
    const name = m[1]!;
    calls.set(name, (calls.get(name) ?? 0) + 1);
    if (!KNOWN_APIS.has(`${name}/${m[2]!}`)) return gatewayError(4005, '非法的API');
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return gatewayError(4007, `非法的请求姿势，httpMethod:${req.method ?? ''}, contentType:${req.headers['content-type'] ?? ''}`);
    }
    const token = url.searchParams.get('access_token');
    if (token === null || token === '') return gatewayError(4201, '非法的请求凭证');
    if (current === undefined || !timingSafeEqualStr(token, current.token)) return gatewayError(4203, 'Token 不存在');
    if (current.expires <= now()) return gatewayError(4202, '请求凭证过期');
    if (throttled) return gatewayError(4101, '请求太频繁');
    const p = parseObject(body);
    if (p === undefined) return gatewayError(4004, '非法的Content');
    return name === 'youzan.trades.sold.get' ? tradesSoldGet(p) : tradeGet(p);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (outage === 'connection_reset') {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (outage === 'http_503') {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body>503 Service Temporarily Unavailable</body></html>');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let answer: Answer;
    if (req.method !== 'POST' && req.method !== 'GET') answer = gatewayError(4007, `非法的请求姿势，httpMethod:${req.method ?? ''}`);
    else if (url.pathname === '/auth/token') answer = authToken(req, body);
    else if (url.pathname.startsWith('/api/')) answer = api(req, url, body);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(gatewayError(4001, '非法请求地址')));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(answer));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
    putOrder: (detail) => {
      const tid = detail.full_order_info?.order_info?.tid;
      if (typeof tid !== 'string' || tid === '') throw new Error('fake Youzan order needs full_order_info.order_info.tid');
      orders.set(tid, detail);
    },
    get tokenFetches() {
      return tokenFetches;
    },
    get tokenRefreshes() {
      return tokenRefreshes;
    },
    apiCalls: (name) => calls.get(name) ?? 0,
    setThrottled: (on) => {
      throttled = on;
    },
    setOutage: (o) => {
      outage = o;
    },
    revokeTokens: () => {
      current = undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Realistic orders
// ---------------------------------------------------------------------------------------------

export interface FakeOrderLineInput {
  /** Up to 19 digits, as Youzan's oid. */
  readonly oid: string;
  readonly itemId: number;
  readonly skuId?: number;
  readonly title: string;
  readonly num: number;
  /** Unit price, yuan. */
  readonly price: string;
}

export interface FakeOrderInput {
  /** E + 23 digits, as Youzan's tid. */
  readonly tid: string;
  /** order_info.status, e.g. WAIT_BUYER_PAY, WAIT_SELLER_SEND_GOODS, TRADE_SUCCESS, TRADE_CLOSED. */
  readonly status: string;
  /** Beijing time `yyyy-MM-dd HH:mm:ss`. */
  readonly created: string;
  readonly updateTime: string;
  readonly payTime?: string;
  readonly consignTime?: string;
  readonly successTime?: string;
  readonly closeType?: number;
  readonly yzOpenId?: string;
  /** As Youzan shows it: plain, masked (138****5678) or encrypted. */
  readonly buyerPhone?: string;
  readonly nickname?: string;
  readonly lines: readonly FakeOrderLineInput[];
  /** Shipping, yuan. Defaults to "0.00". */
  readonly postFee?: string;
}

const STATUS_STR: Readonly<Record<string, string>> = {
  WAIT_BUYER_PAY: '待支付',
  TRADE_PAID: '已支付',
  WAIT_CONFIRM: '待确认',
  WAIT_SELLER_SEND_GOODS: '待发货',
  WAIT_BUYER_CONFIRM_GOODS: '已发货',
  TRADE_SUCCESS: '已完成',
  TRADE_CLOSED: '已关闭',
};

/** A full Youzan order (youzan.trade.get shape) with exact, consistent amounts. */
export function fakeTradeDetail(input: FakeOrderInput): YouzanTradeDetail {
  const lines: YouzanOrderLine[] = input.lines.map((l) => {
    const total = multiplyAmount(l.price, l.num) ?? '0.00';
    return {
      oid: l.oid,
      item_id: l.itemId,
      sku_id: l.skuId ?? 0,
      title: l.title,
      num: l.num,
      price: l.price,
      discount_price: l.price,
      total_fee: total,
      payment: total,
      item_type: 0,
      is_present: false,
      outer_item_id: '',
      outer_sku_id: '',
      sku_properties_name: '[]',
      buyer_messages: '',
    };
  });
  const itemsTotal = addAmounts('0', ...lines.map((l) => l.total_fee)) ?? '0.00';
  const postFee = input.postFee ?? '0.00';
  const payment = addAmounts(itemsTotal, postFee) ?? itemsTotal;
  const paid = input.status !== 'WAIT_BUYER_PAY' && input.payTime !== undefined;
  const info: YouzanFullOrderInfo = {
    order_info: {
      tid: input.tid,
      status: input.status,
      status_str: STATUS_STR[input.status] ?? input.status,
      type: 0,
      created: input.created,
      update_time: input.updateTime,
      pay_time: input.payTime ?? '',
      consign_time: input.consignTime ?? '',
      success_time: input.successTime ?? '',
      expired_time: '',
      confirm_time: '',
      close_type: input.closeType ?? 0,
      refund_state: 0,
      express_type: 0,
      pay_type: paid ? 10 : 0,
      team_type: 0,
      is_retail_order: false,
      order_tags: paid ? { is_secured_transactions: true, is_payed: true } : { is_secured_transactions: true },
      order_extra: { is_from_cart: 'false', is_points_order: '0' },
    },
    source_info: { is_offline_order: false, book_key: randomUUID(), source: { platform: 'wx', wx_entrance: 'merchant_xcx' } },
    buyer_info: {
      ...(input.yzOpenId === undefined ? {} : { yz_open_id: input.yzOpenId }),
      ...(input.buyerPhone === undefined ? {} : { buyer_phone: input.buyerPhone }),
      fans_type: 1,
      fans_nickname: input.nickname ?? '',
    },
    address_info: {
      receiver_name: input.nickname ?? '',
      receiver_tel: input.buyerPhone ?? '',
      delivery_province: '浙江省',
      delivery_city: '杭州市',
      delivery_district: '西湖区',
      delivery_address: '文三路 1 号',
      delivery_postal_code: '',
      address_extra: '{}',
      self_fetch_info: '',
    },
    pay_info: { total_fee: itemsTotal, post_fee: postFee, payment, transaction: [], outer_transactions: [] },
    orders: lines,
    remark_info: { buyer_message: '' },
  };
  return { full_order_info: info, order_promotion: { item: [], order: [], adjust_fee: '0.00' }, refund_order: [], delivery_order: [] };
}

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

export interface YouzanPushInput {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly kdtId: string;
  readonly kdtName?: string;
  readonly rootKdtId?: string;
  /** e.g. trade_TradeBuyerPay, trade_refund_RefundSuccess, SCRM_CUSTOMER_EVENT. */
  readonly type: string;
  /** Envelope status (trade messages: the order status). */
  readonly status?: string | null;
  /** Business id: the tid for trade messages. */
  readonly id: string;
  /** The message body; UrlEncoded into the envelope unless `msgAsObject` (youzan_trade_Refund*). */
  readonly msg: Readonly<Record<string, unknown>>;
  readonly msgAsObject?: boolean;
  /** Defaults to a random UUID, as Youzan's. */
  readonly msgId?: string;
  /** Defaults to now: seconds for trade_* messages, milliseconds for others (as recorded pushes show). */
  readonly version?: number | string;
  readonly sendCount?: number;
  readonly test?: boolean;
  /** Clock for the default version. */
  readonly now?: () => number;
}

export interface YouzanPush {
  /** The exact request body (UTF-8). */
  readonly body: string;
  /** The request headers Youzan sends (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Youzan sends shop ids as JSON numbers. */
function shopIdValue(id: string): number | string {
  return /^\d{1,15}$/.test(id) ? Number(id) : id;
}

/**
 * Builds a push exactly as Youzan sends it, correctly signed.
 *
 * @example
 * const push = buildYouzanPush({ clientId, clientSecret, kdtId, type: 'trade_TradeSuccess', status: 'TRADE_SUCCESS',
 *   id: tid, msg: { tid, update_time: '2026-11-02 10:00:00' } });
 * await fetch(hookUrl, { method: 'POST', headers: push.headers, body: push.body });
 */
export function buildYouzanPush(input: YouzanPushInput): YouzanPush {
  const t = (input.now ?? Date.now)();
  const version = input.version ?? (input.type.startsWith('trade_') ? Math.floor(t / 1000) : t);
  const msg = input.msgAsObject === true ? input.msg : javaUrlEncode(JSON.stringify(input.msg));
  const envelope: Record<string, unknown> = {
    msg,
    ...(input.kdtName === undefined ? {} : { kdt_name: input.kdtName }),
    test: input.test ?? false,
    ...(typeof msg === 'string' ? { sign: youzanBodySign(input.clientId, msg, input.clientSecret) } : {}),
    type: input.type,
    sendCount: input.sendCount ?? 0,
    version,
    client_id: input.clientId,
    mode: 1,
    kdt_id: shopIdValue(input.kdtId),
    id: input.id,
    msg_id: input.msgId ?? randomUUID(),
    root_kdt_id: shopIdValue(input.rootKdtId ?? input.kdtId),
    ...(input.status === undefined ? {} : { status: input.status }),
  };
  const body = JSON.stringify(envelope);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'event-sign': youzanEventSign(input.clientId, Buffer.from(body, 'utf8'), input.clientSecret),
      'event-type': input.type,
      'client-id': input.clientId,
    },
  };
}

/** POSTs a push to a Datong hook URL and returns the answer as Youzan would see it. */
export async function sendYouzanPush(url: string, push: YouzanPush, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { method: 'POST', headers: push.headers, body: push.body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}
