import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqualStr } from '../kit/crypto.js';
import type { InboundRequest } from '../kit/connector.js';
import { meituanSig } from './sign.js';
import { chinaDay, fenOf, yuanText } from './values.js';

/*
 * A local stand-in for waimaiopen.meituan.com, for tests and `datong simulate`, following the
 * open platform's conventions (links in payloads.ts):
 * - every API is GET /api/v1/<path> with app_id, timestamp and sig (sign.ts) in the query; a wrong
 *   sig or app_id answers {"data":"ng","error":{"code":703,"msg":"签名验证错误"}} with HTTP 200;
 * - answers put 64-bit order ids and yuan amounts in JSON as numbers, as Meituan does;
 * - poi/getids, order/getOrderDetail, ecommerce/order/getOrderIdByDaySeq (ranges of at most 100
 *   daily sequence numbers per call);
 * - switches: throttling (code 711, 调用频率超限), outage (HTTP 503), and one-shot failures.
 *
 * It also builds pushes exactly as Meituan sends them (buildMeituanPush): the parameters, app_id
 * and timestamp, sig over the push URL, form-encoded in a POST body (or the query of a GET).
 */

export const FAKE_MEITUAN_THROTTLE_CODE = 711;
const DAY_SEQ_MAX_RANGE = 100;

export interface FakeMeituanServerOptions {
  readonly appId: string;
  readonly appSecret: string;
  /** Store codes bound to the app (poi/getids). */
  readonly poiCodes?: readonly string[];
}

export interface FakeMeituanCall {
  readonly api: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface FakeMeituanServer {
  /** e.g. http://127.0.0.1:49152 */
  readonly url: string;
  /** The base to give the client (`deps.baseUrl`): url + /api/v1 */
  readonly apiBase: string;
  close(): Promise<void>;
  /**
   * Stores an order (parameters in Meituan's names, as meituanOrderParams builds them). Its daily
   * sequence number is the next one of its store on the day of its ctime (China time).
   */
  addOrder(params: Readonly<Record<string, string>>): { readonly day: string; readonly daySeq: number };
  /** Replaces a stored order's parameters (status change), keeping its day and sequence number. */
  updateOrder(orderId: string, changes: Readonly<Record<string, string>>): void;
  /** While on, every API answers the throttling error. */
  setThrottled(on: boolean): void;
  /** While on, every API answers HTTP 503. */
  setOutage(on: boolean): void;
  /** The next call (to `api` only, when given) answers this error. */
  failNext(code: number, msg: string, api?: string): void;
  /** Every accepted (correctly signed) call, in order. */
  readonly calls: readonly FakeMeituanCall[];
}

interface StoredOrder {
  params: Record<string, string>;
  readonly poi: string;
  readonly day: string;
  readonly daySeq: number;
}

// Fields Meituan writes as JSON numbers in its answers.
const NUMERIC_FIELDS = new Set([
  'order_id',
  'wm_order_id_view',
  'status',
  'ctime',
  'utime',
  'delivery_time',
  'total',
  'original_price',
  'shipping_fee',
  'pay_type',
  'pick_type',
  'day_seq',
  'city_id',
  'has_invoiced',
  'is_third_shipping',
  'order_send_time',
  'order_receive_time',
  'order_confirm_time',
  'order_cancel_time',
  'order_completed_time',
  'latitude',
  'longitude',
  'user_id',
]);
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** JSON text of an order as Meituan answers it: numeric fields as raw JSON numbers (no rounding). */
export function meituanOrderJson(params: Readonly<Record<string, string>>): string {
  const parts = Object.entries(params).map(([key, value]) => {
    const raw = NUMERIC_FIELDS.has(key) && NUMBER_TEXT.test(value) ? value : JSON.stringify(value);
    return `${JSON.stringify(key)}:${raw}`;
  });
  return `{${parts.join(',')}}`;
}

/** A JSON number given by its exact text, so fake payloads never pass amounts through floats. */
class RawNumber {
  constructor(readonly text: string) {
    if (!NUMBER_TEXT.test(text)) throw new Error(`not a JSON number: ${text}`);
  }
}
type FakeJson = string | number | RawNumber | readonly FakeJson[] | { readonly [key: string]: FakeJson };

const num = (text: string): RawNumber => new RawNumber(text);

/** JSON text where RawNumber values are written as they are. */
function fakeJson(value: FakeJson): string {
  if (value instanceof RawNumber) return value.text;
  if (typeof value === 'string' || typeof value === 'number') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly FakeJson[]).map(fakeJson).join(',')}]`;
  const entries = Object.entries(value as { readonly [key: string]: FakeJson });
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${fakeJson(v)}`).join(',')}}`;
}

function errorAnswer(code: number, msg: string): string {
  return JSON.stringify({ data: 'ng', error: { code, msg } });
}

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port.
 *
 * @example
 * const fake = await startFakeMeituanServer({ appId: '143183', appSecret: 's3cret', poiCodes: ['t_1'] });
 * const client = createMeituanClient(config, { baseUrl: fake.apiBase });
 */
export async function startFakeMeituanServer(options: FakeMeituanServerOptions): Promise<FakeMeituanServer> {
  const orders = new Map<string, StoredOrder>();
  const lastSeq = new Map<string, number>();
  const calls: FakeMeituanCall[] = [];
  const failures: { code: number; msg: string; api: string | undefined }[] = [];
  let throttled = false;
  let outage = false;
  let port = 0;

  function answer(api: string, query: URLSearchParams): string {
    const params: Record<string, string> = {};
    for (const [name, value] of query) params[name] = value;
    const sig = params['sig'] ?? '';
    const expected = meituanSig(`http://127.0.0.1:${port}/api/v1/${api}`, params, options.appSecret);
    if (params['app_id'] !== options.appId || !timingSafeEqualStr(expected, sig) || params['timestamp'] === undefined) {
      return errorAnswer(703, '签名验证错误');
    }
    const failureIndex = failures.findIndex((f) => f.api === undefined || f.api === api);
    const [failure] = failureIndex === -1 ? [] : failures.splice(failureIndex, 1);
    if (failure !== undefined) return errorAnswer(failure.code, failure.msg);
    if (throttled) return errorAnswer(FAKE_MEITUAN_THROTTLE_CODE, '调用频率超限，请稍后再试');
    calls.push({ api, params });

    switch (api) {
      case 'poi/getids':
        return JSON.stringify({ data: [...(options.poiCodes ?? [])] });
      case 'order/getOrderDetail': {
        const order = orders.get(params['order_id'] ?? '');
        if (order === undefined) return errorAnswer(808, '订单不存在');
        return `{"data":${meituanOrderJson(order.params)}}`;
      }
      case 'ecommerce/order/getOrderIdByDaySeq': {
        const poi = params['app_poi_code'] ?? '';
        const day = params['date_time'] ?? '';
        const start = Number(params['day_seq_start']);
        const end = Number(params['day_seq_end']);
        if (!/^\d{8}$/.test(day) || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 1 || end < start) {
          return errorAnswer(701, '参数错误');
        }
        if (end - start + 1 > DAY_SEQ_MAX_RANGE) return errorAnswer(701, `流水号区间不能超过${DAY_SEQ_MAX_RANGE}`);
        const ids = [...orders.values()]
          .filter((o) => o.poi === poi && o.day === day && o.daySeq >= start && o.daySeq <= end)
          .sort((a, b) => a.daySeq - b.daySeq)
          .map((o) => o.params['order_id'] ?? '');
        return `{"data":[{"result":"ok","order_ids":[${ids.join(',')}]}]}`;
      }
      default:
        return errorAnswer(701, '接口不存在');
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (outage) {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body>503 Service Temporarily Unavailable</body></html>');
      return;
    }
    if (!url.pathname.startsWith('/api/v1/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const body = req.method === 'GET' ? answer(url.pathname.slice('/api/v1/'.length), url.searchParams) : errorAnswer(701, '请使用GET');
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
    res.end(body);
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiBase: `${url}/api/v1`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
    addOrder(params) {
      const orderId = params['order_id'];
      if (orderId === undefined) throw new Error('fake Meituan order needs order_id');
      const poi = params['app_poi_code'] ?? '';
      const day = chinaDay(new Date(Number(params['ctime'] ?? '0') * 1000));
      const key = `${poi}\n${day}`;
      const daySeq = (lastSeq.get(key) ?? 0) + 1;
      lastSeq.set(key, daySeq);
      orders.set(orderId, { params: { ...params, day_seq: String(daySeq) }, poi, day, daySeq });
      return { day, daySeq };
    },
    updateOrder(orderId, changes) {
      const order = orders.get(orderId);
      if (order === undefined) throw new Error(`fake Meituan has no order ${orderId}`);
      order.params = { ...order.params, ...changes };
    },
    setThrottled(on) {
      throttled = on;
    },
    setOutage(on) {
      outage = on;
    },
    failNext(code, msg, api) {
      failures.push({ code, msg, api });
    },
    get calls() {
      return calls;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pushes, as Meituan builds them.

export interface MeituanPushSpec {
  /** The push URL configured in the developer centre: Datong's public URL of the connector. */
  readonly pushUrl: string;
  readonly appId: string;
  readonly appSecret: string;
  /** Business parameters in Meituan's names (values as text). */
  readonly params: Readonly<Record<string, string>>;
  /** Epoch seconds; defaults to now. */
  readonly timestamp?: number;
  /** Order pushes are POSTed as a form; cancel and refund pushes may come as GET. Defaults to POST. */
  readonly method?: 'POST' | 'GET';
}

export interface MeituanPush {
  readonly method: 'POST' | 'GET';
  /** Absolute URL to send to (with the query string for a GET). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Form body for a POST, '' for a GET. */
  readonly body: string;
  /** Every parameter sent, sig included. */
  readonly params: Readonly<Record<string, string>>;
}

/** Builds and signs a push the way Meituan sends it. */
export function buildMeituanPush(spec: MeituanPushSpec): MeituanPush {
  const timestamp = spec.timestamp ?? Math.floor(Date.now() / 1000);
  const params: Record<string, string> = { ...spec.params, app_id: spec.appId, timestamp: String(timestamp) };
  const sig = meituanSig(spec.pushUrl, params, spec.appSecret);
  const all = { ...params, sig };
  const encoded = new URLSearchParams(all).toString();
  const method = spec.method ?? 'POST';
  if (method === 'GET') {
    return { method, url: `${spec.pushUrl}?${encoded}`, headers: {}, body: '', params: all };
  }
  return {
    method,
    url: spec.pushUrl,
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: encoded,
    params: all,
  };
}

/** The push as Datong's webhook route hands it to verify (path and query, raw body bytes). */
export function meituanPushAsInbound(push: MeituanPush): InboundRequest {
  const parsed = new URL(push.url);
  return {
    method: push.method,
    url: `${parsed.pathname}${parsed.search}`,
    headers: { ...push.headers },
    rawBody: Buffer.from(push.body, 'utf8'),
  };
}

/** Sends a push to a running Datong and returns its answer. */
export async function sendMeituanPush(push: MeituanPush, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const response = await fetch(push.url, {
    method: push.method,
    headers: push.headers,
    ...(push.method === 'POST' ? { body: push.body } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, body: await response.text() };
}

// ---------------------------------------------------------------------------------------------
// Realistic parameter sets for pushes and fake orders.

export interface FakeMeituanItem {
  readonly appFoodCode: string;
  readonly name: string;
  readonly skuId?: string;
  readonly quantity: number;
  /** Unit price in yuan, as text ("25.5"). */
  readonly price: string;
  readonly boxNum?: number;
  readonly boxPrice?: string;
}

export interface FakeMeituanDiscount {
  readonly actDetailId: string;
  readonly type: number;
  readonly remark: string;
  readonly reduceFee: string;
  readonly mtCharge?: string;
  readonly poiCharge?: string;
}

export interface FakeMeituanOrderSpec {
  readonly orderId: string;
  readonly appPoiCode: string;
  readonly wmPoiName?: string;
  /** 2 paid/pushed, 4 confirmed, 8 completed, 9 cancelled… */
  readonly status: number;
  /** Epoch seconds. */
  readonly ctime: number;
  readonly utime?: number;
  readonly recipientName?: string;
  /** As Meituan shows it: "13812345678_1234" (privacy number) or "138****5678". */
  readonly recipientPhone?: string;
  readonly recipientAddress?: string;
  readonly items: readonly FakeMeituanItem[];
  readonly shippingFee?: string;
  readonly discounts?: readonly FakeMeituanDiscount[];
  /** 开放平台用户id, when the app subscribes to it. */
  readonly userId?: string;
  readonly caution?: string;
}

/** Yuan as Meituan's Java side prints a double: "24.5", "5.0", "37.85" (from exact fen, no float). */
function meituanYuan(fen: bigint): string {
  const text = yuanText(fen);
  return text.endsWith('0') ? text.slice(0, -1) : text;
}

/** The parameters of an order push (推送已支付/已确认/已完成订单) in Meituan's names. Amounts exact. */
export function meituanOrderParams(spec: FakeMeituanOrderSpec): Record<string, string> {
  let goods = 0n;
  let boxes = 0n;
  for (const item of spec.items) {
    goods += (fenOf(item.price) ?? 0n) * BigInt(item.quantity);
    boxes += (fenOf(item.boxPrice ?? '0') ?? 0n) * BigInt(item.boxNum ?? 0);
  }
  const shipping = fenOf(spec.shippingFee ?? '0') ?? 0n;
  let discount = 0n;
  for (const d of spec.discounts ?? []) discount += fenOf(d.reduceFee) ?? 0n;
  const original = goods + boxes + shipping;
  const total = original - discount;
  // JSON numbers, as Meituan writes them (25.5), from the exact text given.
  const detail: FakeJson[] = spec.items.map((item) => ({
    app_food_code: item.appFoodCode,
    food_name: item.name,
    sku_id: item.skuId ?? item.appFoodCode,
    quantity: item.quantity,
    price: num(item.price),
    box_num: item.boxNum ?? 0,
    box_price: num(item.boxPrice ?? '0'),
    unit: '份',
    food_discount: 1,
    spec: '',
    food_property: '',
    cart_id: 0,
  }));
  const extras: FakeJson[] =
    spec.discounts === undefined || spec.discounts.length === 0
      ? [{}]
      : spec.discounts.map((d) => ({
          act_detail_id: num(d.actDetailId),
          reduce_fee: num(d.reduceFee),
          mt_charge: num(d.mtCharge ?? '0'),
          poi_charge: num(d.poiCharge ?? d.reduceFee),
          remark: d.remark,
          type: d.type,
        }));
  const params: Record<string, string> = {
    order_id: spec.orderId,
    wm_order_id_view: spec.orderId,
    app_poi_code: spec.appPoiCode,
    wm_poi_name: spec.wmPoiName ?? '大同测试门店',
    wm_poi_address: '北京市朝阳区望京东路6号',
    wm_poi_phone: '010-12345678',
    recipient_address: spec.recipientAddress ?? '望京SOHO T1 1001室@#北京市朝阳区望京街道望京SOHO',
    recipient_phone: spec.recipientPhone ?? '13800000000_1234',
    backup_recipient_phone: '[]',
    recipient_name: spec.recipientName ?? '美团客人',
    shipping_fee: meituanYuan(shipping),
    total: meituanYuan(total),
    original_price: meituanYuan(original),
    caution: spec.caution ?? '',
    shipper_phone: '',
    status: String(spec.status),
    city_id: '110100',
    has_invoiced: '0',
    invoice_title: '',
    taxpayer_id: '',
    ctime: String(spec.ctime),
    utime: String(spec.utime ?? spec.ctime),
    delivery_time: '0',
    is_third_shipping: '0',
    pay_type: '2',
    pick_type: '0',
    latitude: '39993652',
    longitude: '116473195',
    detail: fakeJson(detail),
    extras: fakeJson(extras),
    avg_send_time: '1800.0',
  };
  if (spec.userId !== undefined) params['user_id'] = spec.userId;
  return params;
}

/** 推送用户或客服取消订单. */
export function meituanCancelParams(spec: {
  readonly orderId: string;
  readonly reasonCode?: string;
  readonly reason?: string;
  readonly dealOpType?: string;
}): Record<string, string> {
  return {
    order_id: spec.orderId,
    reason_code: spec.reasonCode ?? '1001',
    reason: spec.reason ?? '用户取消',
    deal_op_type: spec.dealOpType ?? '1',
  };
}

/** 推送全额退款信息 (apply, agree, reject, cancelRefund, cancelRefundComplaint). */
export function meituanRefundParams(spec: {
  readonly orderId: string;
  readonly notifyType: string;
  readonly refundId: string;
  readonly ctime: number;
  readonly reason?: string;
  readonly resType?: number;
}): Record<string, string> {
  return {
    order_id: spec.orderId,
    notify_type: spec.notifyType,
    refund_id: spec.refundId,
    ctime: String(spec.ctime),
    reason: spec.reason ?? '商品少送',
    res_type: String(spec.resType ?? (spec.notifyType === 'agree' ? 2 : spec.notifyType === 'reject' ? 1 : 0)),
    is_appeal: '0',
    pictures: '',
    service_type: '0',
  };
}

/** 推送部分退款信息 (part, agree, reject). */
export function meituanPartRefundParams(spec: {
  readonly orderId: string;
  readonly notifyType: string;
  readonly refundId: string;
  readonly ctime: number;
  readonly money: string;
  readonly items: readonly { readonly appFoodCode: string; readonly name: string; readonly count: number; readonly refundPrice: string }[];
  readonly reason?: string;
}): Record<string, string> {
  const food: FakeJson[] = spec.items.map((item) => ({
    app_food_code: item.appFoodCode,
    food_name: item.name,
    sku_id: item.appFoodCode,
    count: item.count,
    refund_price: num(item.refundPrice),
  }));
  return {
    order_id: spec.orderId,
    notify_type: spec.notifyType,
    refund_id: spec.refundId,
    ctime: String(spec.ctime),
    reason: spec.reason ?? '部分商品缺货',
    money: spec.money,
    food: fakeJson(food),
    res_type: String(spec.notifyType === 'agree' ? 2 : spec.notifyType === 'reject' ? 1 : 0),
    is_appeal: '0',
  };
}

/** 推送退款状态 (3/13 success, 4/14 failure). */
export function meituanRefundStatusParams(spec: {
  readonly orderId: string;
  readonly refundId: string;
  readonly refundStatus: number;
  readonly money: string;
  readonly ctime: number;
  readonly utime: number;
}): Record<string, string> {
  return {
    order_id: spec.orderId,
    refund_id: spec.refundId,
    refund_status: String(spec.refundStatus),
    money: spec.money,
    ctime: String(spec.ctime),
    utime: String(spec.utime),
  };
}

