import { buildYouzanPush, fakeYouzanTradeDetail } from '@datong/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, type Harness } from '../test-support/harness.js';
import { createCommerceRegistry } from './registry.js';

// The platforms shipped with Datong are registered without any injection: connectors can be
// created for each (config validated by the platform, secrets never returned), and a real
// platform's signed push goes end to end (Youzan, with its own push builder).

let h: Harness;

const CONFIGS: Record<string, { config: Record<string, unknown>; secrets: string[] }> = {
  youzan: { config: { clientId: '5f1c0e2a9b3d4c6e77', clientSecret: 'youzan-registry-secret', kdtId: '46030001' }, secrets: ['clientSecret'] },
  taobao: { config: { appKey: '12345678', appSecret: 'taobao-registry-secret', sessionKey: 'taobao-session-key' }, secrets: ['appSecret', 'sessionKey'] },
  doudian: { config: { appKey: '7000000000000000001', appSecret: 'doudian-registry-secret', shopId: '123456' }, secrets: ['appSecret'] },
  meituan: { config: { appId: '4567', appSecret: 'meituan-registry-secret' }, secrets: ['appSecret'] },
};

beforeAll(async () => {
  h = await createHarness({ env: { DATONG_PUBLIC_URL: 'https://crm.example.com' } });
  h.setNow(new Date('2026-11-22T00:00:00.000Z'));
});
afterAll(async () => {
  await h?.close();
});

describe('the built-in e-commerce platforms', () => {
  it('are youzan, taobao, doudian and meituan', () => {
    expect(createCommerceRegistry().platforms()).toEqual(['doudian', 'meituan', 'taobao', 'youzan']);
  });

  it.each(Object.keys(CONFIGS))('%s: a connector is created with its secrets stored encrypted and never returned', async (platform) => {
    const spec = CONFIGS[platform];
    const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform, config: spec?.config } });
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json<{ id: string; config: Record<string, unknown> }>();
    for (const s of spec?.secrets ?? []) {
      expect(body.config[s]).toBe('********');
      expect(r.body).not.toContain(String(spec?.config[s]));
    }
    const detail = await h.inject({ method: 'GET', url: `/v1/connectors/${body.id}`, headers: bearer(h.adminKey) });
    expect(detail.json()).toMatchObject({ commerce: { webhookUrl: `https://crm.example.com/v1/hooks/${platform}/${body.id}`, channel: 'push' } });
    // The template export knows the platform's secrets too.
    const template = await h.inject({ method: 'GET', url: `/v1/connectors/${body.id}/template`, headers: bearer(h.adminKey) });
    expect(template.json<{ secrets: string[] }>().secrets.sort()).toEqual([...(spec?.secrets ?? [])].sort());
  });

  it('youzan: signed pushes are answered exactly and become an order on the buyer’s timeline', async () => {
    const config: Record<string, unknown> = CONFIGS['youzan']?.config ?? {};
    const r = await h.inject({ method: 'POST', url: '/v1/connectors', headers: bearer(h.adminKey), payload: { platform: 'youzan', config } });
    const id = r.json<{ id: string }>().id;
    const tid = 'E20261101093015046030001';
    const input = {
      tid,
      status: 'WAIT_SELLER_SEND_GOODS',
      created: '2026-11-01 09:30:15',
      updateTime: '2026-11-01 09:31:05',
      payTime: '2026-11-01 09:31:02',
      yzOpenId: 'LnhGm4rh576452722916618240',
      buyerPhone: '13912340000',
      lines: [{ oid: '2793339624048291001', itemId: 900770653, skuId: 37186796, title: '桂花乌龙茶', num: 2, price: '59.00' }],
      postFee: '8.00',
    };
    const push = buildYouzanPush({
      clientId: String(config['clientId']),
      clientSecret: String(config['clientSecret']),
      kdtId: String(config['kdtId']),
      id: tid,
      type: 'trade_TradeBuyerPay',
      status: 'WAIT_SELLER_SEND_GOODS',
      msg: fakeYouzanTradeDetail(input) as unknown as Record<string, unknown>,
      msgId: 'yz-m2',
      version: 1_793_496_665,
    });
    const answer = await h.inject({ method: 'POST', url: `/v1/hooks/youzan/${id}`, headers: push.headers, payload: push.body });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('{"code":0,"msg":"success"}');
    const forged = await h.inject({ method: 'POST', url: `/v1/hooks/youzan/${id}`, headers: { ...push.headers, 'event-sign': '0'.repeat(32) }, payload: push.body });
    expect(forged.body).not.toBe('{"code":0,"msg":"success"}');
    await h.drain();
    const c = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=phone&value=13912340000', headers: bearer(h.adminKey) });
    expect(c.statusCode).toBe(200);
    const customerId = c.json<{ id: string }>().id;
    const byOpenId = await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=youzan_open_id&value=LnhGm4rh576452722916618240', headers: bearer(h.adminKey) });
    expect(byOpenId.json<{ id: string }>().id).toBe(customerId);
    const t = await h.inject({ method: 'GET', url: `/v1/customers/${customerId}/timeline`, headers: bearer(h.adminKey) });
    const completed = t.json<{ data: { event: string | null; channel: string; properties: Record<string, unknown> }[] }>().data.filter((e) => e.event === 'Order Completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ channel: 'youzan', properties: { order_id: tid, platform: 'youzan', shop_id: '46030001', currency: 'CNY' } });
  });
});
