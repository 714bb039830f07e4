import {
  buildDoudianPush,
  formatTopTime,
  startFakeDoudianServer,
  startFakeTopServer,
  type FakeDoudianServer,
  type FakeShopOrder,
  type FakeTopServer,
  type FakeTrade,
} from '@datong/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commercePollStep } from '../jobs/commerce-poll.js';
import { basic, bearer, createHarness, makeSource, type Harness } from '../test-support/harness.js';
import { channelTagRules, CHANNEL_TAGS } from './channel-tags.js';

// Channel-source tags (issue 4): creating a platform's first connector creates two ordinary
// rule tags — first touch on the platform, and repurchase (≥ 3 orders there) — which then
// follow the real connectors' events like any rule.

const DOUDIAN = { appKey: '7123456789012345678', appSecret: 'dd-secret-0123456789abcdef', shopId: '4463798' };
const TAOBAO = { appKey: '23456789', appSecret: 'tb-secret-0123456789abcdef', sessionKey: '6100a1b2c3d4e5f6' };
const NOW = Date.now();
const SEC = Math.floor(NOW / 1000);

let h: Harness;
let dd: FakeDoudianServer;
let top: FakeTopServer;
let doudianId: string;
let taobaoId: string;

interface RuleOut {
  id: string;
  name: string;
  tag: string;
  enabled: boolean;
  condition: Record<string, unknown>;
}

async function rules(): Promise<RuleOut[]> {
  const r = await h.inject({ method: 'GET', url: '/v1/tag-rules', headers: bearer(h.adminKey) });
  expect(r.statusCode).toBe(200);
  return r.json<{ data: RuleOut[] }>().data;
}

async function createConnector(platform: string, name: string, config: Record<string, unknown>): Promise<string> {
  const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform, name, config, settings: { rateLimit: { perSecond: 1000, burst: 1000 } } } });
  expect(r.statusCode).toBe(201);
  return r.json<{ id: string }>().id;
}

async function tagsOf(type: string, value: string): Promise<string[] | null> {
  const c = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=${type}&value=${encodeURIComponent(value)}`, headers: bearer(h.adminKey) });
  if (c.statusCode !== 200) return null;
  const d = await h.inject({ method: 'GET', url: `/v1/customers/${c.json<{ id: string }>().id}`, headers: bearer(h.adminKey) });
  return d.json<{ tags: { name: string }[] }>().tags.map((t) => t.name);
}

function douyinOrder(orderId: string, openId: string, payFen: number, updateTime: number): FakeShopOrder {
  return {
    order_id: orderId,
    shop_id: 4463798,
    order_status: 2,
    create_time: updateTime - 120,
    pay_time: updateTime - 60,
    update_time: updateTime,
    pay_amount: payFen,
    post_amount: 0,
    doudian_open_id: openId,
    sku_order_list: [{ order_id: orderId, parent_order_id: orderId, product_id: 3654123987456321987n, product_name: '大同羊绒围巾', sku_id: 1765432109876543210n, item_num: 1, origin_amount: payFen, pay_amount: payFen }],
  };
}

async function douyinPaid(orderId: string, openId: string): Promise<void> {
  dd.addOrder(douyinOrder(orderId, openId, 12800, SEC - 10));
  const p = buildDoudianPush(DOUDIAN, [{ tag: 101, data: { biz: 2, order_type: 0, p_id: BigInt(orderId), s_ids: [BigInt(orderId)], shop_id: 4463798, order_status: 2, pay_amount: 12800, pay_time: SEC - 60 } }]);
  const r = await h.inject({ method: 'POST', url: `/v1/hooks/doudian/${doudianId}`, headers: p.headers, payload: p.body });
  expect(r.json()).toEqual({ code: 0, msg: 'success' });
}

function taobaoTrade(tid: string, openUid: string, paidAt: Date): FakeTrade {
  const t = formatTopTime(paidAt);
  return {
    tid,
    tid_str: tid,
    status: 'WAIT_SELLER_SEND_GOODS',
    type: 'fixed',
    created: formatTopTime(new Date(paidAt.getTime() - 60_000)),
    modified: t,
    pay_time: t,
    payment: '88.00',
    total_fee: '88.00',
    post_fee: '0.00',
    discount_fee: '0.00',
    adjust_fee: '0.00',
    buyer_nick: 't**1',
    buyer_open_uid: openUid,
    seller_nick: 'datong旗舰店',
    orders: { order: [{ oid: `${tid}1`, oid_str: `${tid}1`, num_iid: '600000000001', title: '龙井茶 250g', price: '88.00', num: 1, total_fee: '88.00', payment: '88.00', status: 'WAIT_SELLER_SEND_GOODS', seller_type: 'B' }] },
  };
}

/** Orders paid on Tmall: trades on the fake TOP router, their TMC messages pulled by the channel step. */
async function tmallOrders(openUid: string, count: number, firstTid: bigint): Promise<void> {
  for (let i = 0; i < count; i++) {
    const tid = (firstTid + BigInt(i)).toString();
    top.putTrade(taobaoTrade(tid, openUid, new Date(NOW - (count - i) * 3_600_000)));
    top.emitTradeMessage('taobao_trade_TradeBuyerPay', tid);
  }
  h.setNow(new Date(h.now().getTime() + 10_000)); // past the pull interval
  const step = await commercePollStep(h.datong.deps, h.datong.commerce);
  expect(step.pulled).toBe(count);
  await h.drain();
}

beforeAll(async () => {
  h = await createHarness();
  h.setNow(new Date(NOW));
  dd = await startFakeDoudianServer({ appKey: DOUDIAN.appKey, appSecret: DOUDIAN.appSecret, shopId: DOUDIAN.shopId });
  top = await startFakeTopServer({ appKey: TAOBAO.appKey, appSecret: TAOBAO.appSecret, sessionKey: TAOBAO.sessionKey });
});
afterAll(async () => {
  await h?.close();
  await dd?.close();
  await top?.close();
});

describe('channel-source tags', () => {
  it('every platform has a first-touch and a repurchase rule whose conditions parse', () => {
    for (const platform of Object.keys(CHANNEL_TAGS)) {
      const [first, again] = channelTagRules(platform);
      expect(first?.condition).toEqual({ type: 'first_channel', in: [platform] });
      expect(again?.condition).toMatchObject({ type: 'event_count', event: 'Order Completed', where: { platform }, op: 'gte', value: 3 });
    }
    expect(channelTagRules('wechat_miniprogram')).toEqual([]);
  });

  it('the first connector of a platform creates its two rule tags, once per tenant', async () => {
    expect(await rules()).toEqual([]);
    doudianId = await createConnector('doudian', '抖店旗舰店', { ...DOUDIAN, apiBase: dd.url });
    expect((await rules()).map((r) => [r.tag, r.enabled])).toEqual([
      ['首触-抖店', true],
      ['抖店复购', true],
    ]);
    // A second Douyin shop adds nothing; Taobao brings its own pair.
    await createConnector('doudian', '抖店二店', { ...DOUDIAN, shopId: '4463799', apiBase: dd.url });
    taobaoId = await createConnector('taobao', '天猫旗舰店', { ...TAOBAO, apiBase: top.apiBase });
    const all = await rules();
    expect(all.map((r) => r.tag).sort()).toEqual(['首触-抖店', '抖店复购', '首触-淘宝', '天猫复购'].sort());
    expect(all.find((r) => r.tag === '天猫复购')?.condition).toEqual({ type: 'event_count', event: 'Order Completed', where: { platform: 'taobao' }, op: 'gte', value: 3 });
    // The tags exist as tag definitions too (the console lists them).
    const defs = await h.inject({ method: 'GET', url: '/v1/tags', headers: bearer(h.adminKey) });
    expect(defs.body).toContain('天猫复购');
    expect(taobaoId).toMatch(/^con_/);
  });

  it('a customer first seen on Douyin gets 首触-抖店; one the mall knew first does not', async () => {
    await douyinPaid('6919395948153930001', '1@#douyin-first');
    // A mall customer whose Douyin id the mall already knew a day earlier.
    const mall = await makeSource(h);
    const r = await h.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: basic(mall.writeKey),
      payload: {
        batch: [
          {
            type: 'identify',
            userId: 'mall-user-1',
            timestamp: new Date(NOW - 86_400_000).toISOString(),
            traits: { name: '韩梅梅' },
            context: { externalIds: [{ type: 'douyin_open_id', id: '1@#mall-first', encoding: 'none' }] },
          },
        ],
      },
    });
    expect(r.statusCode).toBe(200);
    await h.drain();
    await douyinPaid('6919395948153930002', '1@#mall-first');
    await h.drain();
    expect(await tagsOf('douyin_open_id', '1@#douyin-first')).toContain('首触-抖店');
    const mallFirst = await tagsOf('douyin_open_id', '1@#mall-first');
    expect(mallFirst).not.toBeNull();
    expect(mallFirst).not.toContain('首触-抖店');
    expect(mallFirst).not.toContain('抖店复购');
  });

  it('a buyer with 3 Tmall orders gets 天猫复购 (and 首触-淘宝); a buyer with 2 does not', async () => {
    await tmallOrders('AAHk5d-EsBvVr0gQ9hm4Ee0m', 3, 3000000000000000001n);
    await tmallOrders('AAFxq9-Two0rders0000000x', 2, 3000000000000000101n);
    const three = await tagsOf('taobao_open_uid', 'AAHk5d-EsBvVr0gQ9hm4Ee0m');
    expect(three).toEqual(expect.arrayContaining(['天猫复购', '首触-淘宝']));
    const two = await tagsOf('taobao_open_uid', 'AAFxq9-Two0rders0000000x');
    expect(two).toContain('首触-淘宝');
    expect(two).not.toContain('天猫复购');
    // The third order moves the second buyer over the threshold.
    await tmallOrders('AAFxq9-Two0rders0000000x', 1, 3000000000000000201n);
    expect(await tagsOf('taobao_open_uid', 'AAFxq9-Two0rders0000000x')).toContain('天猫复购');
  });

  it('the rules are ordinary: disabling one removes its tags and nothing re-creates it', async () => {
    const rule = (await rules()).find((r) => r.tag === '天猫复购');
    const off = await h.inject({ method: 'PATCH', url: `/v1/tag-rules/${rule?.id}`, headers: bearer(h.adminKey), payload: { enabled: false } });
    expect(off.statusCode).toBe(200);
    expect(await tagsOf('taobao_open_uid', 'AAHk5d-EsBvVr0gQ9hm4Ee0m')).not.toContain('天猫复购');
    await createConnector('taobao', '天猫二店', { ...TAOBAO, apiBase: top.apiBase, groupName: 'second' });
    const again = (await rules()).filter((r) => r.tag === '天猫复购');
    expect(again.map((r) => [r.id, r.enabled])).toEqual([[rule?.id, false]]);
  });

  it('each tenant gets its own rules', async () => {
    const other = await h.newTenant();
    const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(other.adminKey), payload: { platform: 'meituan', name: '美团店', config: { appId: '143183', appSecret: 'mt-secret' } } });
    expect(r.statusCode).toBe(201);
    const list = await h.inject({ method: 'GET', url: '/v1/tag-rules', headers: bearer(other.adminKey) });
    expect(list.json<{ data: RuleOut[] }>().data.map((x) => x.tag)).toEqual(['首触-美团', '美团复购']);
    expect((await rules()).some((x) => x.tag === '首触-美团')).toBe(false);
  });
});
