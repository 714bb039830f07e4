import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DatongError, orderUpdateApplies, type CanonicalOrder } from '@datong/core';
import type { PlatformMessage } from '../kit/connector.js';
import { buildYouzanPush, fakeTradeDetail, sendYouzanPush } from './fake-server.js';
import { youzan } from './index.js';

const CLIENT_ID = '5f1c0e2a9b3d4c6e77';
const SECRET = 'youzan-index-test-secret';
const KDT_ID = '46030001';
const config = youzan.parseConfig({ clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID });
const verifyCtx = { now: new Date('2026-11-22T00:00:00Z'), publicUrl: 'http://127.0.0.1/v1/hooks/youzan/con_1' };

describe('the youzan connector definition', () => {
  it('declares its platform, schema and replies', () => {
    expect(youzan.platform).toBe('youzan');
    expect(Object.keys(youzan.configSchema['properties'] as object)).toEqual(['clientId', 'clientSecret', 'kdtId', 'apiBase']);
    expect(youzan.successReply.body).toBe('{"code":0,"msg":"success"}');
    expect(() => youzan.parseConfig({ clientId: CLIENT_ID, kdtId: KDT_ID })).toThrow(DatongError);
  });
});

describe('an order’s pushes, twice, late and out of order', () => {
  const tid = 'E20261101093015046030001';
  const base = { clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID, id: tid };
  const createdInput = {
    tid,
    status: 'WAIT_BUYER_PAY',
    created: '2026-11-01 09:30:15',
    updateTime: '2026-11-01 09:30:15',
    yzOpenId: 'LnhGm4rh576452722916618240',
    buyerPhone: '13800138000',
    lines: [{ oid: '2793339624048291001', itemId: 900770653, skuId: 37186796, title: '桂花乌龙茶', num: 2, price: '59.00' }],
    postFee: '8.00',
  };
  const created = fakeTradeDetail(createdInput);
  const paid = fakeTradeDetail({ ...createdInput, status: 'WAIT_SELLER_SEND_GOODS', payTime: '2026-11-01 09:31:02', updateTime: '2026-11-01 09:31:05' });
  const pushes = [
    buildYouzanPush({ ...base, type: 'trade_TradeCreate', status: 'WAIT_BUYER_PAY', msg: created as Record<string, unknown>, msgId: 'm1', version: 1_793_496_615 }),
    buildYouzanPush({ ...base, type: 'trade_TradeBuyerPay', status: 'WAIT_SELLER_SEND_GOODS', msg: paid as Record<string, unknown>, msgId: 'm2', version: 1_793_496_665 }),
    buildYouzanPush({ ...base, type: 'trade_TradeSellerShip', status: 'WAIT_BUYER_CONFIRM_GOODS', msg: { tid, update_time: '2026-11-02 15:20:00' }, msgId: 'm3', version: 1_793_604_000 }),
    buildYouzanPush({ ...base, type: 'trade_TradeSuccess', status: 'TRADE_SUCCESS', msg: { tid, update_time: '2026-11-09 15:20:05' }, msgId: 'm4', version: 1_794_208_805 }),
  ];

  function receive(order: readonly number[]): { status: string; handled: number } {
    const seen = new Set<string>();
    let stored: CanonicalOrder | undefined;
    let handled = 0;
    for (const i of order) {
      const p = pushes[i]!;
      const result = youzan.verify({ method: 'POST', url: '/', headers: p.headers, rawBody: Buffer.from(p.body) }, config, verifyCtx);
      if (result.kind !== 'messages') throw new Error('unexpected handshake');
      const message: PlatformMessage = result.messages[0]!;
      if (seen.has(message.messageId)) continue; // dedupe on msg_id
      seen.add(message.messageId);
      handled += 1;
      for (const record of youzan.normalize(message, { config, connectorId: 'con_1' })) {
        if (record.kind !== 'order') continue;
        if (stored === undefined || orderUpdateApplies(stored, record.order)) stored = record.order;
      }
    }
    return { status: stored?.status ?? 'none', handled };
  }

  it('ends completed whatever the arrival order, and a duplicate has one effect', () => {
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2, 3, 1],
      [2, 2, 0, 3, 1, 0],
    ]) {
      const { status, handled } = receive(order);
      expect(status, JSON.stringify(order)).toBe('completed');
      expect(handled).toBe(4);
    }
  });

  it('a late paid message after shipped changes nothing', () => {
    expect(receive([0, 2, 1]).status).toBe('shipped');
  });
});

describe('sendYouzanPush against an HTTP endpoint that uses the connector', () => {
  it('gets the documented success answer for a good push and a failure for a forged one', async () => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
        let reply = youzan.successReply;
        try {
          youzan.verify({ method: req.method ?? 'POST', url: req.url ?? '/', headers, rawBody: Buffer.concat(chunks) }, config, verifyCtx);
        } catch (e) {
          reply = youzan.failureReply(e instanceof DatongError ? e.code : 'INTERNAL');
        }
        res.writeHead(reply.status, { 'content-type': reply.contentType });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/hooks/youzan/con_1`;
    try {
      const good = buildYouzanPush({ clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID, type: 'trade_TradeSuccess', id: 'E1', msg: { tid: 'E1', update_time: '2026-11-09 15:20:05' } });
      expect(await sendYouzanPush(url, good)).toStrictEqual({ status: 200, body: '{"code":0,"msg":"success"}' });
      const forged = buildYouzanPush({ clientId: CLIENT_ID, clientSecret: 'guess', kdtId: KDT_ID, type: 'trade_TradeSuccess', id: 'E1', msg: {} });
      const answer = await sendYouzanPush(url, forged);
      expect(answer.status).toBe(401);
      expect(answer.body).not.toContain('success');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
