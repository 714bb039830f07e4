import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestJson, timingSafeEqualStr, type CommerceClient, type PlatformMessage, type PlatformReply } from '@datong/connectors';
import { DatongError, type BuyerIdentifier, type CanonicalBuyer, type CanonicalOrder, type CanonicalRecord, type OrderStatus } from '@datong/core';
import { Type } from '@sinclair/typebox';
import { registerable, type ConnectorDefinition, type RegisteredConnector } from '../connectors/registry.js';

/**
 * "Fake shop": a made-up e-commerce platform for the server's end-to-end tests, so they need
 * none of the real platform folders. It has what real platforms have: an md5 push signature
 * over the raw body with a replay window, a JSON push carrying several messages, a URL
 * handshake, test pings, and an order API (with an optional pull channel) served on 127.0.0.1
 * that can be taken down or made to throttle.
 */

export const FAKE_PLATFORM = 'fakeshop';

export interface FakeShopConfig {
  readonly appKey: string;
  readonly appSecret: string;
  readonly shopId: string;
  readonly apiBase: string;
  /** Offer the pull channel (consume + confirm), as Taobao TMC does. */
  readonly pull: boolean;
}

/** An order as the fake platform spells it. */
export interface FakeOrder {
  order_no: string;
  shop_id: string;
  status: 'WAIT_PAY' | 'PAID' | 'SHIPPED' | 'SUCCESS' | 'CLOSED';
  /** Last modification, ms since the epoch: the platform's version of the order. */
  update_time: number;
  created: string;
  pay_time?: string;
  total_fee: string;
  discount_fee?: string;
  post_fee?: string;
  buyer: { buyer_id?: string; mobile?: string; nick?: string; masked_mobile?: string };
  items: { oid: string; item_id: string; sku_id?: string; title: string; price: string; num: number; payment: string }[];
  coupon?: { id: string; name: string; amount: string };
  live_room_id?: string;
}

export interface FakeRefund {
  refund_id: string;
  order_no: string;
  shop_id: string;
  status: 'WAIT' | 'SUCCESS' | 'CLOSED';
  refund_fee: string;
  modified: number;
  buyer?: FakeOrder['buyer'];
}

export interface FakePushMessage {
  msg_id: string;
  type: 'order' | 'refund' | 'member' | 'ping' | string;
  test?: boolean;
  data: unknown;
}

const STATUS: Record<FakeOrder['status'], OrderStatus> = { WAIT_PAY: 'created', PAID: 'paid', SHIPPED: 'shipped', SUCCESS: 'completed', CLOSED: 'cancelled' };

const configSchema = Type.Object(
  {
    appKey: Type.String({ minLength: 1 }),
    appSecret: Type.String({ minLength: 1, secret: true }),
    shopId: Type.String({ minLength: 1 }),
    apiBase: Type.String({ minLength: 1 }),
    pull: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

function parseConfig(raw: unknown): FakeShopConfig {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const missing = ['appKey', 'appSecret', 'shopId', 'apiBase'].filter((k) => typeof r[k] !== 'string' || r[k] === '');
  if (missing.length > 0) {
    throw new DatongError('CONNECTOR_CONFIG_INVALID', `fake shop config is invalid: ${missing.map((k) => `/${k} is required`).join('; ')}`, {
      extensions: { errors: missing.map((k) => ({ pointer: `/${k}`, message: 'is required' })) },
    });
  }
  return Object.freeze({
    appKey: String(r['appKey']),
    appSecret: String(r['appSecret']),
    shopId: String(r['shopId']),
    apiBase: String(r['apiBase']).replace(/\/+$/, ''),
    pull: r['pull'] === true,
  });
}

export function fakeSign(config: Pick<FakeShopConfig, 'appKey' | 'appSecret'>, rawBody: string): string {
  return createHash('md5').update(`${config.appKey}${rawBody}${config.appSecret}`).digest('hex');
}

function buyerOf(b: FakeOrder['buyer'] | undefined): CanonicalBuyer {
  const identifiers: BuyerIdentifier[] = [];
  if (b?.mobile) identifiers.push({ type: 'phone', value: b.mobile });
  if (b?.buyer_id) identifiers.push({ type: 'crm_id', value: b.buyer_id, collection: FAKE_PLATFORM });
  return { identifiers, ...(b?.nick ? { name: b.nick } : {}), ...(b?.masked_mobile ? { maskedPhone: b.masked_mobile } : {}) };
}

export function fakeOrderToCanonical(o: FakeOrder): CanonicalOrder {
  if (!(o.status in STATUS) || typeof o.order_no !== 'string') throw new DatongError('MESSAGE_INVALID', 'fake order without order_no or with an unknown status');
  return {
    platform: FAKE_PLATFORM,
    shopId: o.shop_id,
    orderId: o.order_no,
    status: STATUS[o.status],
    statusAt: new Date(o.update_time).toISOString(),
    version: String(o.update_time),
    currency: 'CNY',
    totalAmount: o.total_fee,
    ...(o.discount_fee !== undefined ? { discountAmount: o.discount_fee } : {}),
    ...(o.post_fee !== undefined ? { shippingAmount: o.post_fee } : {}),
    createdAt: o.created,
    ...(o.pay_time !== undefined ? { paidAt: o.pay_time } : {}),
    buyer: buyerOf(o.buyer),
    lines: o.items.map((i) => ({ lineId: i.oid, productId: i.item_id, ...(i.sku_id ? { skuId: i.sku_id } : {}), title: i.title, quantity: i.num, unitPrice: i.price, amount: i.payment })),
    ...(o.coupon ? { promotions: [{ id: o.coupon.id, name: o.coupon.name, amount: o.coupon.amount, kind: 'coupon' as const }] } : {}),
    ...(o.live_room_id ? { attribution: { channel: 'live', liveRoomId: o.live_room_id } } : {}),
  };
}

function normalize(message: PlatformMessage): CanonicalRecord[] {
  if (message.test) return [{ kind: 'ignored', reason: 'test message' }];
  const data = message.payload as Record<string, unknown>;
  switch (message.type) {
    case 'order':
      return [{ kind: 'order', order: fakeOrderToCanonical(data as unknown as FakeOrder) }];
    case 'refund': {
      const f = data as unknown as FakeRefund;
      const status = f.status === 'SUCCESS' ? 'refunded' : f.status === 'CLOSED' ? 'cancelled' : 'requested';
      return [
        {
          kind: 'refund',
          refund: {
            platform: FAKE_PLATFORM,
            shopId: f.shop_id,
            orderId: f.order_no,
            refundId: f.refund_id,
            status,
            statusAt: new Date(f.modified).toISOString(),
            version: String(f.modified),
            currency: 'CNY',
            amount: f.refund_fee,
            ...(f.buyer ? { buyer: buyerOf(f.buyer) } : {}),
          },
        },
      ];
    }
    case 'member': {
      const m = data as { shop_id: string; buyer: FakeOrder['buyer']; level?: string; points?: number; time: string };
      return [{ kind: 'member', member: { platform: FAKE_PLATFORM, shopId: m.shop_id, buyer: buyerOf(m.buyer), event: 'joined', ...(m.level ? { level: m.level } : {}), ...(m.points !== undefined ? { points: m.points } : {}), statusAt: m.time } }];
    }
    default:
      return [{ kind: 'ignored', reason: `message type ${message.type} is not used` }];
  }
}

const REPLY_OK: PlatformReply = { status: 200, contentType: 'application/json', body: '{"code":0,"msg":"success"}' };
const REPLAY_WINDOW_S = 300;

function verify(req: { method: string; url: string; headers: Readonly<Record<string, string | undefined>>; rawBody: Buffer }, config: FakeShopConfig, ctx: { now: Date }) {
  if (req.method === 'GET') {
    const challenge = new URL(req.url, 'http://x').searchParams.get('challenge');
    if (!challenge) throw new DatongError('MESSAGE_INVALID', 'GET without challenge');
    return { kind: 'handshake' as const, reply: { status: 200, contentType: 'text/plain', body: challenge } };
  }
  const sign = req.headers['x-fake-sign'];
  const raw = req.rawBody.toString('utf8');
  if (!sign || !timingSafeEqualStr(sign, fakeSign(config, raw))) throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'x-fake-sign does not match');
  let body: { timestamp?: unknown; messages?: unknown };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch (cause) {
    throw new DatongError('MESSAGE_INVALID', 'body is not JSON', { cause });
  }
  if (typeof body.timestamp !== 'number' || Math.abs(ctx.now.getTime() / 1000 - body.timestamp) > REPLAY_WINDOW_S) {
    throw new DatongError('CONNECTOR_REPLAY_REJECTED', 'timestamp outside the 300 s window');
  }
  if (!Array.isArray(body.messages)) throw new DatongError('MESSAGE_INVALID', 'messages must be an array');
  return {
    kind: 'messages' as const,
    messages: (body.messages as FakePushMessage[]).map((m) => ({ messageId: m.msg_id, type: m.type, payload: m.data, ...(m.test ? { test: true } : {}) })),
  };
}

function createClient(config: FakeShopConfig, deps: { baseUrl?: string; rateLimit?: (api: string) => Promise<void> } = {}): CommerceClient {
  const base = deps.baseUrl ?? config.apiBase;
  const call = async (api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    await deps.rateLimit?.(api);
    const r = await requestJson({ method, url: `${base}${path}`, timeoutMs: 2_000, headers: { 'x-app-key': config.appKey }, ...(body !== undefined ? { body } : {}) });
    return r.body;
  };
  const client: CommerceClient = {
    async testConnection() {
      try {
        await call('ping', 'GET', '/ping');
        return { ok: true, message: { 'zh-CN': '连接正常', en: 'Connected: the fake shop accepted the app key' } };
      } catch (e) {
        const code = e instanceof DatongError ? e.code : 'INTERNAL';
        if (code === 'PLATFORM_ERROR') return { ok: false, code: 'CONNECTOR_CONFIG_INVALID', message: { 'zh-CN': 'AppKey 无效，请检查', en: 'The fake shop does not know this app key' } };
        return { ok: false, code, message: { 'zh-CN': '无法连接平台，请稍后重试', en: 'The fake shop cannot be reached; try again later' } };
      }
    },
    async listOrders(window) {
      const q = new URLSearchParams({ from: String(window.from.getTime()), to: String(window.to.getTime()), ...(window.cursor ? { cursor: window.cursor } : {}) });
      const page = (await call('orders.list', 'GET', `/orders?${q.toString()}`)) as { orders: FakeOrder[]; next_cursor?: string };
      return { orders: page.orders.map(fakeOrderToCanonical), ...(page.next_cursor ? { nextCursor: page.next_cursor } : {}) };
    },
  };
  if (!config.pull) return client;
  return {
    ...client,
    async pullMessages(max) {
      const r = (await call('messages.consume', 'POST', '/messages/consume', { max })) as { messages: FakePushMessage[] };
      const messages = r.messages.map((m) => ({ messageId: m.msg_id, type: m.type, payload: m.data }));
      return {
        messages,
        confirm: async () => {
          if (messages.length > 0) await call('messages.confirm', 'POST', '/messages/confirm', { ids: messages.map((m) => m.messageId) });
        },
      };
    },
  };
}

const definition: ConnectorDefinition<FakeShopConfig> = {
  platform: FAKE_PLATFORM,
  configSchema,
  parseConfig,
  verify,
  successReply: REPLY_OK,
  failureReply: (code) => ({ status: 400, contentType: 'application/json', body: JSON.stringify({ code: 40001, msg: code }) }),
  normalize,
  createClient,
};

/** The fake shop connector, ready for HarnessOptions.commerceConnectors. */
export const fakeShopConnector: RegisteredConnector = registerable(definition);

/** A push body and its headers, signed as the fake platform signs them. */
export function signedPush(config: Pick<FakeShopConfig, 'appKey' | 'appSecret'>, messages: FakePushMessage[], now: Date): { payload: string; headers: Record<string, string> } {
  const payload = JSON.stringify({ timestamp: Math.floor(now.getTime() / 1000), messages });
  return { payload, headers: { 'content-type': 'application/json', 'x-fake-sign': fakeSign(config, payload) } };
}

export interface FakeShopApi {
  readonly url: string;
  /** Orders the API knows, by order number (the latest version of each). */
  readonly orders: Map<string, FakeOrder>;
  /** Messages waiting in the pull channel; confirmed ones are removed, unconfirmed ones redelivered. */
  readonly queue: FakePushMessage[];
  /** Answer 503 to everything (an outage). */
  down: boolean;
  /** Answer 429 to everything. */
  throttle: boolean;
  /** Answer 503 to confirmations only (pulled messages stay queued and are redelivered). */
  failConfirm: boolean;
  /** Requests received, by path. */
  readonly calls: Map<string, number>;
  readonly pageSize: number;
  put(o: FakeOrder): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

/** The fake shop's order API on 127.0.0.1 (OS-assigned port). */
export async function startFakeShopApi(opts: { appKey: string; pageSize?: number }): Promise<FakeShopApi> {
  const pageSize = opts.pageSize ?? 2;
  const api: Omit<FakeShopApi, 'url' | 'close'> = {
    orders: new Map(),
    queue: [],
    down: false,
    throttle: false,
    failConfirm: false,
    calls: new Map(),
    pageSize,
    put(o) {
      api.orders.set(o.order_no, o);
    },
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      api.calls.set(url.pathname, (api.calls.get(url.pathname) ?? 0) + 1);
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (api.down) return json(503, { error: 'maintenance' });
      if (api.throttle) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"too many requests"}');
        return;
      }
      if (req.headers['x-app-key'] !== opts.appKey) return json(401, { error: 'invalid app key' });
      if (url.pathname === '/ping') return json(200, { ok: true });
      if (url.pathname === '/orders') {
        const from = Number(url.searchParams.get('from'));
        const to = Number(url.searchParams.get('to'));
        const offset = Number(url.searchParams.get('cursor') ?? '0');
        const all = [...api.orders.values()].filter((o) => o.update_time >= from && o.update_time < to).sort((a, b) => a.update_time - b.update_time || a.order_no.localeCompare(b.order_no));
        const page = all.slice(offset, offset + pageSize);
        return json(200, { orders: page, ...(offset + pageSize < all.length ? { next_cursor: String(offset + pageSize) } : {}) });
      }
      if (url.pathname === '/messages/consume') {
        const { max } = (await readBody(req)) as { max?: number };
        return json(200, { messages: api.queue.slice(0, max ?? 100) });
      }
      if (url.pathname === '/messages/confirm') {
        if (api.failConfirm) return json(503, { error: 'confirm unavailable' });
        const { ids } = (await readBody(req)) as { ids: string[] };
        for (const id of ids) {
          const i = api.queue.findIndex((m) => m.msg_id === id);
          if (i >= 0) api.queue.splice(i, 1);
        }
        return json(200, { ok: true });
      }
      return json(404, { error: 'not found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  }) as FakeShopApi;
}

/** A fake order with sensible defaults: paid now, one line. */
export function fakeOrder(orderNo: string, over: Partial<FakeOrder> = {}): FakeOrder {
  const t = over.update_time ?? Date.parse('2026-03-01T08:00:00.000Z');
  return {
    order_no: orderNo,
    shop_id: 'shop-1',
    status: 'PAID',
    update_time: t,
    created: new Date(t - 60_000).toISOString(),
    pay_time: new Date(t).toISOString(),
    total_fee: '199.00',
    buyer: { buyer_id: `b-${orderNo}`, mobile: '13812345678' },
    items: [{ oid: `${orderNo}-1`, item_id: 'item-9', sku_id: 'sku-9-red', title: '保温杯', price: '199.00', num: 1, payment: '199.00' }],
    ...over,
  };
}
