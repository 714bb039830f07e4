import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatongError } from '@datong/core';
import { timingSafeEqualStr } from '../kit/crypto.js';
import { parseJsonLossless, stringifyJson } from './json.js';
import { methodPath, verifyApiRequest } from './sign.js';
import { asRecord, idOf, intOf } from './values.js';
import { computeEventSign, type PushSignMethod } from './verify.js';

/*
 * A local stand-in for openapi-fxg.jinritemai.com, for tests and `datong simulate`, following
 * the request and answer shapes of the official docs and SDK (see payloads.ts):
 * - POST {base}/{method with "/"}?app_key&method&v=2&timestamp&sign&sign_method[&access_token],
 *   body = param_json. The sign and the ±300 s timestamp window are checked like the platform
 *   does; failures answer HTTP 200 with {code, msg, sub_code, sub_msg}.
 * - token.create (self-use: grant_type authorization_self + shop_id), token.refresh.
 * - order.searchList (update_time window, page from 0, size ≤ 100), order.orderDetail.
 * - Switches: throttling (code 60000), outage (HTTP 503), one-shot failures, token expiry.
 * Ids are written as the platform writes them: bigint values become bare 19-digit numbers.
 *
 * `buildDoudianPush` signs and builds a push exactly as the platform sends it, for tests and the
 * simulator to post to Datong's webhook.
 */

export interface FakeDoudianServerOptions {
  readonly appKey: string;
  readonly appSecret: string;
  readonly shopId: string;
  readonly shopName?: string;
  /** Access token lifetime in seconds; the platform's is 7 days. */
  readonly tokenTtlSeconds?: number;
  readonly now?: () => Date;
}

/** An order as the fake serves it: order.orderDetail field names; ids may be bigint. */
export type FakeShopOrder = Readonly<Record<string, unknown>> & {
  readonly order_id: string;
  readonly update_time: number;
};

export interface FakeDoudianRequest {
  readonly method: string;
  readonly paramJson: string;
  readonly accessToken: string | undefined;
}

export interface FakeDoudianServer {
  /** Base URL to use as `apiBase`, e.g. http://127.0.0.1:49152 */
  readonly url: string;
  close(): Promise<void>;
  /** Adds or replaces an order (by order_id). */
  addOrder(order: FakeShopOrder): void;
  /** Every signed request that reached a method, in order. */
  readonly requests: readonly FakeDoudianRequest[];
  readonly tokenCreates: number;
  readonly tokenRefreshes: number;
  /** While on, every business call answers code 60000 (触发限流). */
  setThrottled(on: boolean): void;
  /** While on, every request answers HTTP 503. */
  setOutage(on: boolean): void;
  /** The next call (to `method` only, when given) answers this code. Calls queue up in order. */
  failNext(code: number, options?: { readonly subCode?: string; readonly subMsg?: string; readonly method?: string }): void;
  /** Marks every issued access token expired (isv.access-token-expired on next use). */
  expireTokens(): void;
}

type Answer = Record<string, unknown>;

const CODE_MSG: Readonly<Record<number, string>> = {
  10000: 'success',
  20000: '服务不可用',
  30001: '操作权限不足',
  40001: '缺少必选参数（平台校验）',
  40003: '非法的参数（平台校验）',
  40004: '非法的参数（业务校验）',
  50001: '平台处理失败',
  50002: '业务处理失败',
  60000: '触发限流，请稍后重试',
  70000: '接口服务已下线',
};

function logId(): string {
  return `2026${randomBytes(12).toString('hex').toUpperCase()}`;
}

function failure(code: number, subCode = '', subMsg = ''): Answer {
  return { code, msg: CODE_MSG[code] ?? '其他异常', sub_code: subCode, sub_msg: subMsg, log_id: logId(), data: {} };
}

function success(data: unknown): Answer {
  return { code: 10000, msg: 'success', sub_code: '', sub_msg: '', log_id: logId(), data };
}

interface IssuedToken {
  readonly accessToken: string;
  readonly refreshToken: string;
  expiresAt: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port.
 *
 * @example
 * const fake = await startFakeDoudianServer({ appKey: '7001234567890123456', appSecret: 'test-secret', shopId: '4463798' });
 * fake.addOrder({ order_id: '6919395948153934114', update_time: 1714538400, order_status: 2, create_time: 1714538000 });
 */
export async function startFakeDoudianServer(options: FakeDoudianServerOptions): Promise<FakeDoudianServer> {
  const now = options.now ?? (() => new Date());
  const ttl = options.tokenTtlSeconds ?? 7 * 24 * 3600;
  const orders = new Map<string, FakeShopOrder>();
  const tokens: IssuedToken[] = [];
  const requests: FakeDoudianRequest[] = [];
  const failures: { answer: Answer; method: string | undefined }[] = [];
  let throttled = false;
  let outage = false;
  let tokenCreates = 0;
  let tokenRefreshes = 0;

  function issue(): Answer {
    const token: IssuedToken = {
      accessToken: `fake-${randomBytes(18).toString('hex')}`,
      refreshToken: `fake-refresh-${randomBytes(18).toString('hex')}`,
      expiresAt: now().getTime() + ttl * 1000,
    };
    tokens.push(token);
    const shopId = /^\d+$/.test(options.shopId) ? BigInt(options.shopId) : options.shopId;
    return success({
      access_token: token.accessToken,
      expires_in: ttl,
      refresh_token: token.refreshToken,
      scope: 'SCOPE',
      shop_id: shopId,
      shop_name: options.shopName ?? '测试小店',
      authority_id: '',
      auth_subject_type: 'MiniShop',
    });
  }

  function tokenCreate(params: Readonly<Record<string, unknown>>): Answer {
    tokenCreates += 1;
    if (params['grant_type'] !== 'authorization_self') {
      return failure(50001, 'dop.token-generate-failed:grant-type-invalid', '生成token失败，grant_type参数取值不正确');
    }
    if (idOf(params['shop_id']) !== options.shopId) {
      return failure(50001, 'dop.token-generate-failed:no-authorization', '生成token失败，店铺授权已失效，请重新引导商家完成店铺授权');
    }
    return issue();
  }

  function tokenRefresh(params: Readonly<Record<string, unknown>>): Answer {
    tokenRefreshes += 1;
    const given = params['refresh_token'];
    const index = tokens.findIndex((t) => typeof given === 'string' && timingSafeEqualStr(given, t.refreshToken));
    if (params['grant_type'] !== 'refresh_token' || index === -1) {
      return failure(50001, 'dop.token-generate-failed:token-invalid', '生成token失败，token不存在');
    }
    tokens.splice(index, 1); // a refresh_token works once; the old access token goes with it
    return issue();
  }

  function searchList(params: Readonly<Record<string, unknown>>): Answer {
    const page = intOf(params['page']) ?? 0;
    const size = intOf(params['size']) ?? 10;
    if (size < 1 || size > 100 || page < 0) return failure(40004, 'isv.business-failed:size', '单页大小，限制100以内');
    const start = intOf(params['update_time_start']) ?? 0;
    const end = intOf(params['update_time_end']) ?? Number.MAX_SAFE_INTEGER;
    const asc = params['order_asc'] === true;
    const matching = [...orders.values()]
      .filter((o) => o.update_time >= start && o.update_time <= end)
      .sort((a, b) => (a.update_time - b.update_time || (a.order_id < b.order_id ? -1 : 1)) * (asc ? 1 : -1));
    return success({ shop_order_list: matching.slice(page * size, (page + 1) * size), page, size, total: matching.length });
  }

  function orderDetail(params: Readonly<Record<string, unknown>>): Answer {
    const id = idOf(params['shop_order_id']);
    const order = id === undefined ? undefined : orders.get(id);
    if (order === undefined) return failure(50002, 'isv.business-failed:order-not-exist', '订单不存在');
    return success({ shop_order_detail: order });
  }

  function checkToken(accessToken: string | undefined): Answer | undefined {
    if (accessToken === undefined || accessToken === '') return failure(40001, 'isv.access-token-missing', '认证失败，access_token不能为空');
    const token = tokens.find((t) => timingSafeEqualStr(accessToken, t.accessToken));
    if (token === undefined) return failure(40003, 'isv.access-token-no-existed', 'access_token不存在，请使用最新的access_token访问');
    if (token.expiresAt <= now().getTime()) return failure(40003, 'isv.access-token-expired', 'access_token已过期');
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (outage) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }
    const answer = route(req, url, body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(stringifyJson(answer));
  }

  function route(req: IncomingMessage, url: URL, body: string): Answer {
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = value;
    const method = query['method'] ?? '';
    if (req.method !== 'POST') return failure(40003, 'isv.parameter-format-invalid', '请使用POST');
    if (method === '' || methodPath(method) !== url.pathname) return failure(70000, 'isp.api-service-off', 'API不存在或API已下线');
    if (query['app_key'] !== options.appKey) return failure(40003, 'isv.app-id-invalid', '认证失败，app_key格式不正确');
    try {
      verifyApiRequest({ query, body }, options, now());
    } catch (error) {
      if (error instanceof DatongError && error.code === 'CONNECTOR_REPLAY_REJECTED') {
        return failure(40003, 'isv.timestamp-invalid', '时间戳不合法');
      }
      return failure(40003, 'isv.signature-invalid', '签名校验失败');
    }
    let params: Readonly<Record<string, unknown>>;
    try {
      params = asRecord(body.trim() === '' ? {} : parseJsonLossless(body)) ?? {};
    } catch {
      return failure(40003, 'isv.parameter-format-invalid', '业务参数json解析失败');
    }
    requests.push({ method, paramJson: body, accessToken: query['access_token'] });

    const failureIndex = failures.findIndex((f) => f.method === undefined || f.method === method);
    if (failureIndex !== -1) {
      const [queued] = failures.splice(failureIndex, 1);
      if (queued !== undefined) return queued.answer;
    }
    if (method === 'token.create') return tokenCreate(params);
    if (method === 'token.refresh') return tokenRefresh(params);
    if (throttled) return failure(60000, 'isv.api-call-limited', '触发限流，请稍后重试');
    const tokenProblem = checkToken(query['access_token']);
    if (tokenProblem !== undefined) return tokenProblem;
    if (method === 'order.searchList') return searchList(params);
    if (method === 'order.orderDetail') return orderDetail(params);
    return failure(30001, 'isv.app-permissions-insufficient', '应用无权限调用该接口，请先申请接口权限包');
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
    addOrder: (order) => {
      orders.set(order.order_id, order);
    },
    get requests() {
      return requests;
    },
    get tokenCreates() {
      return tokenCreates;
    },
    get tokenRefreshes() {
      return tokenRefreshes;
    },
    setThrottled: (on) => {
      throttled = on;
    },
    setOutage: (on) => {
      outage = on;
    },
    failNext: (code, failOptions = {}) => {
      failures.push({ answer: failure(code, failOptions.subCode ?? '', failOptions.subMsg ?? ''), method: failOptions.method });
    },
    expireTokens: () => {
      for (const token of tokens) token.expiresAt = 0;
    },
  };
}

/** One message of a push to build: `data` objects are serialized with bigint ids as bare numbers. */
export interface DoudianPushInput {
  readonly tag: string | number;
  readonly msgId?: string;
  readonly data: unknown;
}

export interface DoudianPush {
  /** Lower-case header names, as Datong's InboundRequest has them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * A push exactly as the platform sends it: a JSON array of {tag, msg_id, data} where data is a
 * JSON string, with `app-id` and `event-sign` (md5 by default; `sign-method: hmac-sha256` when
 * asked). Without `msgId`, the id is derived from tag and data, so pushing the same message
 * again repeats its msg_id as a platform redelivery does.
 *
 * @example
 * const push = buildDoudianPush({ appKey, appSecret }, [{ tag: 100, data: { p_id: 4781320682406083640n, shop_id: 4463798, create_time: 1714538000 } }]);
 * await fetch(`${datong}/v1/hooks/doudian/${connectorId}`, { method: 'POST', headers: push.headers, body: push.body });
 */
export function buildDoudianPush(
  credentials: { readonly appKey: string; readonly appSecret: string },
  messages: readonly DoudianPushInput[],
  options: { readonly signMethod?: PushSignMethod } = {},
): DoudianPush {
  const envelopes = messages.map((m) => {
    const tag = String(m.tag);
    const data = typeof m.data === 'string' ? m.data : stringifyJson(m.data);
    const msgId = m.msgId ?? createHash('sha256').update(`${tag}\n${data}`).digest('hex').slice(0, 19).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10));
    return { tag, msg_id: msgId, data };
  });
  const body = Buffer.from(JSON.stringify(envelopes), 'utf8');
  const method = options.signMethod ?? 'md5';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'app-id': credentials.appKey,
    'event-sign': computeEventSign(credentials.appKey, body, credentials.appSecret, method),
  };
  if (options.signMethod !== undefined) headers['sign-method'] = method;
  return { headers, body };
}

/** Posts a built push to `url` and returns Datong's answer. */
export async function sendDoudianPush(url: string, push: DoudianPush): Promise<{ readonly status: number; readonly body: string }> {
  const response = await fetch(url, { method: 'POST', headers: push.headers, body: push.body });
  return { status: response.status, body: await response.text() };
}
