import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import {
  buildMeituanPush,
  meituan,
  meituanCancelParams,
  meituanOrderParams,
  meituanPushAsInbound,
  meituanRefundParams,
  meituanRefundStatusParams,
  startFakeMeituanServer,
  type FakeMeituanServer,
} from './index.js';

// Test credentials, not real ones.
const APP_ID = '143183';
const SECRET = 'fake0secret0for0tests0a1b2c3d4e5';
const PUBLIC_URL = 'https://datong.example.com/v1/hooks/meituan/con_mt_1';
const NOW = 1767240000;

const servers: FakeMeituanServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('meituan connector', () => {
  const config = meituan.parseConfig({ appId: APP_ID, appSecret: SECRET, appPoiCode: 't_1' });
  const ctx = { now: new Date(NOW * 1000), publicUrl: PUBLIC_URL };

  it('declares its platform, schema and exact replies', () => {
    expect(meituan.platform).toBe('meituan');
    expect(meituan.successReply.body).toBe('{"data":"ok"}');
    expect(meituan.failureReply('CONNECTOR_SIGNATURE_INVALID').body).not.toBe('{"data":"ok"}');
    expect(Object.keys(meituan.configSchema.properties as object)).toEqual(['appId', 'appSecret', 'apiBase', 'appPoiCode']);
  });

  it('fails closed on a config without secret', () => {
    expect(() => meituan.parseConfig({ appId: APP_ID })).toThrowError(DatongError);
  });

  it('takes a signed order push through verify and normalize to the same order the API gives', async () => {
    const params = meituanOrderParams({
      orderId: '27061900338318741',
      appPoiCode: 't_1',
      status: 4,
      ctime: NOW - 120,
      utime: NOW - 60,
      items: [{ appFoodCode: 'a', name: '酸辣粉', quantity: 2, price: '12.8', boxNum: 2, boxPrice: '0.5' }],
      shippingFee: '4',
      discounts: [{ actDetailId: '77', type: 2, remark: '满20减5', reduceFee: '5' }],
      userId: '2875412376',
    });
    const push = buildMeituanPush({ pushUrl: PUBLIC_URL, appId: APP_ID, appSecret: SECRET, params, timestamp: NOW });
    const result = meituan.verify(meituanPushAsInbound(push), config, ctx);
    if (result.kind !== 'messages') return expect.unreachable('expected messages');
    const [message] = result.messages;
    if (message === undefined) return expect.unreachable('no message');
    const [pushed] = meituan.normalize(message, { config, connectorId: 'con_mt_1' });
    if (pushed?.kind !== 'order') return expect.unreachable('expected an order');
    expect(pushed.order).toMatchObject({
      orderId: '27061900338318741',
      status: 'paid',
      totalAmount: '25.60', // 25.6 goods + 1.0 boxes + 4.0 shipping − 5.0
      discountAmount: '5.00',
      buyer: { identifiers: [{ type: 'meituan_user_id', value: '2875412376' }] },
    });

    const server = await startFakeMeituanServer({ appId: APP_ID, appSecret: SECRET, poiCodes: ['t_1'] });
    servers.push(server);
    server.addOrder(params);
    const client = meituan.createClient(config, { baseUrl: server.apiBase });
    const fetched = await client.getOrder?.('27061900338318741');
    // day_seq is added by the platform's answer; everything Datong keeps is the same.
    expect(fetched).toStrictEqual(pushed.order);
  });

  it('orders a refund lifecycle by Meituan time: apply → agree → refunded', () => {
    const apply = buildMeituanPush({
      pushUrl: PUBLIC_URL,
      appId: APP_ID,
      appSecret: SECRET,
      params: meituanRefundParams({ orderId: '5', notifyType: 'apply', refundId: 'r1', ctime: NOW - 100 }),
      timestamp: NOW - 90,
      method: 'GET',
    });
    const agree = buildMeituanPush({
      pushUrl: PUBLIC_URL,
      appId: APP_ID,
      appSecret: SECRET,
      params: meituanRefundParams({ orderId: '5', notifyType: 'agree', refundId: 'r1', ctime: NOW - 100 }),
      timestamp: NOW - 30,
      method: 'GET',
    });
    const done = buildMeituanPush({
      pushUrl: PUBLIC_URL,
      appId: APP_ID,
      appSecret: SECRET,
      params: meituanRefundStatusParams({ orderId: '5', refundId: 'r1', refundStatus: 3, money: '25.6', ctime: NOW - 100, utime: NOW - 20 }),
      timestamp: NOW - 10,
    });
    const refunds = [apply, agree, done].map((push) => {
      const result = meituan.verify(meituanPushAsInbound(push), config, ctx);
      if (result.kind !== 'messages' || result.messages[0] === undefined) return expect.unreachable('expected a message');
      const [record] = meituan.normalize(result.messages[0], { config, connectorId: 'c' });
      if (record?.kind !== 'refund') return expect.unreachable('expected a refund');
      return record.refund;
    });
    expect(refunds.map((r) => [r.refundId, r.status, r.amount])).toEqual([
      ['r1', 'requested', '0.00'],
      ['r1', 'approved', '0.00'],
      ['r1', 'refunded', '25.60'],
    ]);
    const versions = refunds.map((r) => BigInt(r.version ?? '0'));
    expect(versions[0]! < versions[1]! && versions[1]! < versions[2]!).toBe(true);
  });

  it('turns a cancel push into a status-only cancelled order', () => {
    const push = buildMeituanPush({ pushUrl: PUBLIC_URL, appId: APP_ID, appSecret: SECRET, params: meituanCancelParams({ orderId: '9' }), timestamp: NOW });
    const result = meituan.verify(meituanPushAsInbound(push), config, ctx);
    if (result.kind !== 'messages' || result.messages[0] === undefined) return expect.unreachable('expected a message');
    expect(meituan.normalize(result.messages[0], { config, connectorId: 'c' })).toMatchObject([
      { kind: 'order', order: { orderId: '9', status: 'cancelled', lines: [], totalAmount: '0.00' } },
    ]);
  });
});
