import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqualStr } from '../kit/crypto.js';
import { TRADE_STATUS_MAP } from './normalize.js';
import type { TopErrorBody, TopOrder, TopTrade } from './payloads.js';
import { formatTopTime, parseTopTime } from './sign.js';
import { verifyTopRequest } from './verify.js';

/*
 * A local stand-in for the TOP router (https://eco.taobao.com/router/rest), for tests, the
 * simulator and demos. It follows the official docs:
 *
 * - one endpoint, POST form or GET query; every request signed (md5 / hmac / hmac-sha256 over
 *   the sorted parameters) and timestamped in GMT+8 within 10 minutes, else
 *   `{"error_response":{"code":25,"msg":"Invalid signature"}}` and friends (24, 26–33);
 * - answers `{"<method without taobao. and with _>_response": {…}}` with lists wrapped
 *   (`trades: {trade: […]}`), ids as bare JSON numbers (19 digits: clients must not round them);
 * - taobao.trades.sold.increment.get: fields, start/end_modified (span ≤ 1 day), newest
 *   modification first, page_no/page_size (≤ 100, default 40), total_results or has_next;
 * - taobao.trade.fullinfo.get, taobao.user.seller.get, taobao.tmc.user.get / .permit;
 * - TMC: taobao.tmc.messages.consume (quantity 10–200) leases messages; taobao.tmc.messages.confirm
 *   (s_message_ids) removes them; a leased message that is not confirmed is delivered again
 *   after `redeliverAfterMs` (or at once after `redeliverNow()`).
 *
 * Switches: `throttleNext` (code 7 App Call Limited, sub_code accesscontrol.limited-by-api-access-count),
 * `failNext` (any TOP error, e.g. isp.* failures), `setOutage` (HTTP 503 or dropped connections).
 *
 * TMC has no push: `publish` / `emitTradeMessage` / `emitRefundMessage` put messages in the
 * queue exactly as TMC hands them out, and Datong pulls them.
 */

export interface FakeTopServerOptions {
  readonly appKey: string;
  readonly appSecret: string;
  readonly sessionKey: string;
  /** The authorised shop. Defaults to 'datong旗舰店'. */
  readonly sellerNick?: string;
  readonly sellerId?: string;
  /** Clock in epoch milliseconds. Defaults to Date.now. */
  readonly now?: () => number;
  /** An unconfirmed message is handed out again this long after it was consumed. Default 5 minutes. */
  readonly redeliverAfterMs?: number;
  /** Whether TMC is on for the shop (taobao.tmc.user.permit was called). Default true. */
  readonly tmcPermitted?: boolean;
}

/** A trade as the fake stores it: TOP's own shape, ids as decimal strings. */
export type FakeTrade = TopTrade & { readonly tid: string };

export interface FakeTmcMessage {
  readonly id: string;
  readonly topic: string;
  readonly content: string;
  readonly pub_time: string;
  readonly pub_app_key: string;
  readonly user_id: string;
  readonly user_nick: string;
}

export interface FakeRefund {
  readonly refund_id: string;
  readonly tid: string;
  readonly oid?: string;
  readonly refund_fee: string;
  readonly bill_type?: string;
  readonly refund_phase?: string;
  readonly modified?: string;
}

export interface FakeTopServer {
  /** Origin, e.g. http://127.0.0.1:49152 */
  readonly url: string;
  /** The router URL to use as `apiBase`: `${url}/router/rest`. */
  readonly apiBase: string;
  close(): Promise<void>;
  /** Adds or replaces a trade (the increment API finds it by `modified`). */
  putTrade(trade: FakeTrade): void;
  getTrade(tid: string): FakeTrade | undefined;
  /** Queues one TMC message as TMC would hand it out; `content` is serialized with ids as bare numbers. Returns its id. */
  publish(topic: string, content: Readonly<Record<string, unknown>>, options?: { readonly pubTime?: string }): string;
  /** Queues the taobao_trade_* message for a stored trade, with the fields the topic doc lists. */
  emitTradeMessage(topic: string, tid: string): string;
  /** Queues a taobao_refund_* message. */
  emitRefundMessage(topic: string, refund: FakeRefund, buyer?: { readonly buyer_nick?: string; readonly buyer_open_uid?: string }): string;
  /** Every leased, unconfirmed message becomes deliverable again now. */
  redeliverNow(): void;
  /** Messages by state. */
  queueState(): { readonly ready: number; readonly leased: number; readonly confirmed: number };
  /** The next `count` calls (to `method` only, when given) answer code 7 App Call Limited. */
  throttleNext(count?: number, options?: { readonly method?: string; readonly subCode?: string; readonly seconds?: number }): void;
  /** The next call (to `method` only, when given) answers this TOP error. */
  failNext(error: TopErrorBody, options?: { readonly method?: string }): void;
  /** `'http-503'`: every request answers 503; `'reset'`: connections are dropped; false: back to normal. */
  setOutage(mode: false | 'http-503' | 'reset'): void;
  /** Turns TMC on or off for the shop. */
  setTmcPermitted(on: boolean): void;
  /** Calls received, by API method (signature failures included). */
  callCount(method?: string): number;
}

/* --------------------------------------- serialization --------------------------------------- */

const NUMERIC_ID_KEYS: ReadonlySet<string> = new Set(['tid', 'oid', 'num_iid', 'refund_id', 'id', 'user_id']);
const MARK = '\u0000num:';

/** JSON as TOP writes it: ids (given here as digit strings) become bare JSON numbers. */
export function toTopJson(value: unknown): string {
  const text = JSON.stringify(value, (key, v: unknown) =>
    NUMERIC_ID_KEYS.has(key) && typeof v === 'string' && /^\d{1,25}$/.test(v) ? MARK + v : v,
  );
  return text.replace(/"\\u0000num:(\d+)"/g, '$1');
}

/* ------------------------------------------- errors ------------------------------------------- */

const topError = (code: number, msg: string, sub_code?: string, sub_msg?: string): TopErrorBody => ({
  code,
  msg,
  ...(sub_code === undefined ? {} : { sub_code }),
  ...(sub_msg === undefined ? {} : { sub_msg }),
});

class TopFailure extends Error {
  constructor(readonly body: TopErrorBody) {
    super(body.msg);
  }
}

const missing = (name: string) => new TopFailure(topError(40, 'Missing required arguments', `isv.missing-parameter:${name}`, `${name} is required`));
const badArg = (name: string, why: string) => new TopFailure(topError(41, 'Invalid arguments', `isv.invalid-parameter:${name}`, why));

/* --------------------------------------------- server --------------------------------------------- */

const SESSION_APIS: ReadonlySet<string> = new Set([
  'taobao.trades.sold.increment.get',
  'taobao.trade.fullinfo.get',
  'taobao.user.seller.get',
  'taobao.tmc.user.permit',
]);

const FIRST_MESSAGE_ID = 1172200053212681005n;
const DAY_MS = 24 * 60 * 60 * 1000;

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  if (req.method === 'POST') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const type = req.headers['content-type'] ?? '';
    if (body !== '' && type.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body)) params[k] = v;
    }
  }
  return params;
}

function pick(trade: FakeTrade, fields: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(trade)) if (fields.has(k)) out[k] = v;
  return out;
}

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port.
 *
 * @example
 * const fake = await startFakeTopServer({ appKey: '12345678', appSecret: 's3cret', sessionKey: 'sess' });
 * fake.putTrade(trade);
 * fake.emitTradeMessage('taobao_trade_TradeBuyerPay', trade.tid);
 * const client = createTaobaoClient(parseTaobaoConfig({ appKey: '12345678', appSecret: 's3cret', sessionKey: 'sess', apiBase: fake.apiBase }));
 */
export async function startFakeTopServer(options: FakeTopServerOptions): Promise<FakeTopServer> {
  const now = options.now ?? Date.now;
  const sellerNick = options.sellerNick ?? 'datong旗舰店';
  const sellerId = options.sellerId ?? '2200812345678';
  const redeliverAfterMs = options.redeliverAfterMs ?? 5 * 60 * 1000;
  let tmcPermitted = options.tmcPermitted ?? true;
  let permittedTopics: string[] = ['taobao_trade_TradeCreate', 'taobao_trade_TradeBuyerPay', 'taobao_trade_TradeSuccess', 'taobao_trade_TradeClose'];
  const trades = new Map<string, FakeTrade>();
  type Queued = { message: FakeTmcMessage; state: 'ready' | 'leased' | 'confirmed'; leaseUntil: number };
  const queue: Queued[] = [];
  let nextId = FIRST_MESSAGE_ID;
  const failures: { body: TopErrorBody; method: string | undefined }[] = [];
  let outage: false | 'http-503' | 'reset' = false;
  const calls = new Map<string, number>();

  function requireSession(params: Record<string, string>): void {
    const session = params['session'];
    if (session === undefined || session === '') throw new TopFailure(topError(26, 'Missing session'));
    if (!timingSafeEqualStr(session, options.sessionKey)) {
      throw new TopFailure(topError(27, 'Invalid session', 'invalid-sessionkey', 'SessionKey非法'));
    }
  }

  function fieldsOf(params: Record<string, string>): Set<string> {
    const fields = params['fields'];
    if (fields === undefined || fields === '') throw missing('fields');
    return new Set(fields.split(',').map((f) => f.trim()));
  }

  function incrementGet(params: Record<string, string>): Record<string, unknown> {
    const fields = fieldsOf(params);
    const startRaw = params['start_modified'];
    const endRaw = params['end_modified'];
    if (startRaw === undefined) throw missing('start_modified');
    if (endRaw === undefined) throw missing('end_modified');
    const start = parseTopTime(startRaw);
    const end = parseTopTime(endRaw);
    if (start === undefined) throw badArg('start_modified', 'start_modified must be yyyy-MM-dd HH:mm:ss');
    if (end === undefined) throw badArg('end_modified', 'end_modified must be yyyy-MM-dd HH:mm:ss');
    if (end < start) throw badArg('end_modified', '查询修改结束时间必须大于修改开始时间');
    if (end - start > DAY_MS) throw badArg('end_modified', '修改时间跨度不能大于一天');
    const pageNo = params['page_no'] === undefined ? 1 : Number(params['page_no']);
    const pageSize = params['page_size'] === undefined ? 40 : Number(params['page_size']);
    if (!Number.isInteger(pageNo) || pageNo < 1) throw badArg('page_no', 'page_no must be a positive integer');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw badArg('page_size', 'page_size must be 1-100');
    const matching = [...trades.values()]
      .filter((t) => {
        const m = parseTopTime(t.modified);
        return m !== undefined && m >= start && m <= end;
      })
      .sort((a, b) => {
        const d = (parseTopTime(b.modified) ?? 0) - (parseTopTime(a.modified) ?? 0);
        if (d !== 0) return d;
        return BigInt(b.tid) > BigInt(a.tid) ? 1 : BigInt(b.tid) < BigInt(a.tid) ? -1 : 0;
      });
    const page = matching.slice((pageNo - 1) * pageSize, pageNo * pageSize).map((t) => pick(t, fields));
    const useHasNext = params['use_has_next'] === 'true';
    return {
      ...(page.length === 0 ? {} : { trades: { trade: page } }),
      ...(useHasNext ? { has_next: pageNo * pageSize < matching.length } : { total_results: matching.length }),
    };
  }

  function fullinfoGet(params: Record<string, string>): Record<string, unknown> {
    const fields = fieldsOf(params);
    const tid = params['tid'];
    if (tid === undefined || tid === '') throw missing('tid');
    if (!/^\d+$/.test(tid)) throw badArg('tid', 'tid must be a number');
    const trade = trades.get(tid);
    if (trade === undefined) throw new TopFailure(topError(15, 'Remote service error', 'isv.trade-not-exist', '交易不存在'));
    return { trade: pick(trade, fields) };
  }

  function consume(params: Record<string, string>): Record<string, unknown> {
    const quantity = params['quantity'] === undefined ? 100 : Number(params['quantity']);
    if (!Number.isInteger(quantity) || quantity < 10 || quantity > 200) throw badArg('quantity', 'quantity must be 10-200');
    const t = now();
    const out: FakeTmcMessage[] = [];
    for (const q of queue) {
      if (out.length >= quantity) break;
      if (q.state === 'ready' || (q.state === 'leased' && q.leaseUntil <= t)) {
        q.state = 'leased';
        q.leaseUntil = t + redeliverAfterMs;
        out.push(q.message);
      }
    }
    return out.length === 0 ? {} : { messages: { tmc_message: out } };
  }

  function confirm(params: Record<string, string>): Record<string, unknown> {
    const ids = (params['s_message_ids'] ?? '').split(',').filter((s) => s !== '');
    if (ids.length > 200) throw badArg('s_message_ids', 'at most 200 ids');
    if (ids.some((id) => !/^\d+$/.test(id))) throw badArg('s_message_ids', 's_message_ids must be numbers');
    const set = new Set(ids);
    for (const q of queue) if (set.has(q.message.id)) q.state = 'confirmed';
    return { is_success: true };
  }

  function dispatch(method: string, params: Record<string, string>): Record<string, unknown> {
    if (SESSION_APIS.has(method)) requireSession(params);
    switch (method) {
      case 'taobao.trades.sold.increment.get':
        return incrementGet(params);
      case 'taobao.trade.fullinfo.get':
        return fullinfoGet(params);
      case 'taobao.user.seller.get':
        return { user: { nick: sellerNick, user_id: sellerId, type: 'B' } };
      case 'taobao.tmc.user.get': {
        if (params['nick'] === undefined) throw missing('nick');
        if (!tmcPermitted || params['nick'] !== sellerNick) return {};
        return { tmc_user: { user_nick: sellerNick, user_id: sellerId, is_valid: true, topics: { string: permittedTopics } } };
      }
      case 'taobao.tmc.user.permit':
        tmcPermitted = true;
        if (params['topics'] !== undefined) permittedTopics = params['topics'].split(',').filter((s) => s !== '');
        return { is_success: true };
      case 'taobao.tmc.messages.consume':
        return consume(params);
      case 'taobao.tmc.messages.confirm':
        return confirm(params);
      default:
        throw new TopFailure(topError(22, 'Invalid method'));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (outage === 'reset') {
      req.socket.destroy();
      return;
    }
    if (outage === 'http-503') {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body>503 Service Temporarily Unavailable</body></html>');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/router/rest') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const params = await readParams(req, url);
    const method = params['method'] ?? '';
    calls.set(method, (calls.get(method) ?? 0) + 1);
    const answer = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(toTopJson(body));
    };
    const requestId = `fake${(calls.get(method) ?? 0).toString(36)}${Math.floor(now()).toString(36)}`;
    const fail = (body: TopErrorBody): void => answer({ error_response: { ...body, request_id: requestId } });

    if (method === '') return fail(topError(21, 'Missing method'));
    const appKey = params['app_key'];
    if (appKey === undefined || appKey === '') return fail(topError(28, 'Missing app key'));
    if (appKey !== options.appKey) return fail(topError(29, 'Invalid app Key'));
    if (params['v'] === undefined) return fail(topError(32, 'Missing version'));
    if (params['v'] !== '2.0') return fail(topError(33, 'Invalid version'));
    const check = verifyTopRequest(params, options.appSecret, new Date(now()));
    if (!check.ok) return fail(topError(check.code, check.msg));

    const index = failures.findIndex((f) => f.method === undefined || f.method === method);
    if (index !== -1) {
      const [failure] = failures.splice(index, 1);
      return fail(failure!.body);
    }
    try {
      answer({ [`${method.replace(/^taobao\./, '').replace(/\./g, '_')}_response`]: { ...dispatch(method, params), request_id: requestId } });
    } catch (e) {
      if (e instanceof TopFailure) return fail(e.body);
      throw e;
    }
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
  const url = `http://127.0.0.1:${port}`;

  function publish(topic: string, content: Readonly<Record<string, unknown>>, publishOptions: { readonly pubTime?: string } = {}): string {
    const id = nextId.toString();
    nextId += 1n;
    queue.push({
      message: {
        id,
        topic,
        content: toTopJson(content),
        pub_time: publishOptions.pubTime ?? formatTopTime(new Date(now())),
        pub_app_key: '12497914',
        user_id: sellerId,
        user_nick: sellerNick,
      },
      state: 'ready',
      leaseUntil: 0,
    });
    return id;
  }

  return {
    url,
    apiBase: `${url}/router/rest`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
    putTrade: (trade) => {
      trades.set(trade.tid, trade);
    },
    getTrade: (tid) => trades.get(tid),
    publish,
    emitTradeMessage: (topic, tid) => {
      const trade = trades.get(tid);
      if (trade === undefined) throw new Error(`fake TOP: no trade ${tid}`);
      const firstOrder: TopOrder | undefined = trade.orders?.order?.[0];
      // Fields of the taobao_trade_* topic docs; TOP puts the trade id in oid for multi-line trades.
      return publish(topic, {
        buyer_nick: trade.buyer_nick,
        ...(trade.buyer_open_uid === undefined ? {} : { buyer_open_uid: trade.buyer_open_uid }),
        oid: (trade.orders?.order?.length ?? 0) === 1 && firstOrder !== undefined ? String(firstOrder.oid) : tid,
        payment: trade.payment,
        seller_nick: trade.seller_nick ?? sellerNick,
        ...(trade.status !== undefined && TRADE_STATUS_MAP[trade.status] !== undefined ? { status: trade.status } : {}),
        tid,
        type: trade.type ?? 'fixed',
      });
    },
    emitRefundMessage: (topic, refund, buyer = {}) =>
      publish(topic, {
        bill_type: refund.bill_type ?? 'refund_bill',
        buyer_nick: buyer.buyer_nick ?? 't**1',
        ...(buyer.buyer_open_uid === undefined ? {} : { buyer_open_uid: buyer.buyer_open_uid }),
        modified: refund.modified ?? formatTopTime(new Date(now())),
        ...(refund.oid === undefined ? {} : { oid: refund.oid }),
        refund_fee: refund.refund_fee,
        refund_id: refund.refund_id,
        refund_phase: refund.refund_phase ?? 'onsale',
        seller_nick: sellerNick,
        tid: refund.tid,
      }),
    redeliverNow: () => {
      for (const q of queue) if (q.state === 'leased') q.leaseUntil = 0;
    },
    queueState: () => ({
      ready: queue.filter((q) => q.state === 'ready' || (q.state === 'leased' && q.leaseUntil <= now())).length,
      leased: queue.filter((q) => q.state === 'leased' && q.leaseUntil > now()).length,
      confirmed: queue.filter((q) => q.state === 'confirmed').length,
    }),
    throttleNext: (count = 1, throttle = {}) => {
      for (let i = 0; i < count; i += 1) {
        failures.push({
          body: topError(
            7,
            'App Call Limited',
            throttle.subCode ?? 'accesscontrol.limited-by-api-access-count',
            `This ban will last for ${throttle.seconds ?? 1} more seconds`,
          ),
          method: throttle.method,
        });
      }
    },
    failNext: (body, failOptions = {}) => {
      failures.push({ body, method: failOptions.method });
    },
    setOutage: (mode) => {
      outage = mode;
    },
    setTmcPermitted: (on) => {
      tmcPermitted = on;
    },
    callCount: (method) =>
      method === undefined ? [...calls.values()].reduce((a, b) => a + b, 0) : (calls.get(method) ?? 0),
  };
}
