import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalRecord } from '@datong/core';
import type { PlatformMessage } from '../kit/connector.js';
import { parseYouzanConfig } from './config.js';
import { youzan } from './index.js';
import { closeStatus, normalizeYouzanMessage, orderFromDetail, orderStatusOf } from './normalize.js';
import type { YouzanPushPayload } from './verify.js';
import { youzanEventSign } from './verify.js';
import { addAmounts, beijingIso, plainPhone, toBeijing, yuan } from './values.js';

/* Every fixture (a push body exactly as Youzan sends it, see fixtures/README.md) goes through
 * verify — signed here with the fixture secret — and normalize, and must equal its
 * .expected.json. A new recorded payload needs no new code. */

const FIXTURES = join(import.meta.dirname, 'fixtures');
const config = parseYouzanConfig({ clientId: '5f1c0e2a9b3d4c6e77', clientSecret: 'youzan-fixture-secret', kdtId: '46030001' });
const ctx = { config, connectorId: 'con_youzan_1' };
const verifyCtx = { now: new Date('2026-11-22T00:00:00Z'), publicUrl: 'https://datong.example.com/v1/hooks/youzan/con_youzan_1' };

const inputs = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .sort();

function verified(file: string): PlatformMessage {
  const rawBody = readFileSync(join(FIXTURES, file));
  const headers = { 'content-type': 'application/json', 'event-sign': youzanEventSign(config.clientId, rawBody, config.clientSecret) };
  const result = youzan.verify({ method: 'POST', url: '/v1/hooks/youzan/con_youzan_1', headers, rawBody }, config, verifyCtx);
  if (result.kind !== 'messages') return expect.unreachable('a Youzan push is never a handshake');
  return result.messages[0]!;
}

describe('fixtures', () => {
  it('has a fixture for every message type the connector handles', () => {
    const types = new Set(inputs.map((f) => f.split('.')[0]));
    for (const type of [
      'trade_TradeCreate',
      'trade_TradePaid',
      'trade_TradeBuyerPay',
      'trade_TradeSellerShip',
      'trade_TradeSuccess',
      'trade_TradeClose',
      'trade_refund_BuyerCreated',
      'trade_refund_RefundSellerAgree',
      'trade_refund_RefundSellerRefuse',
      'trade_refund_RefundSuccess',
      'trade_refund_RefundClosed',
      'youzan_trade_RefundSuccess',
      'SCRM_CUSTOMER_EVENT',
      'SCRM_CUSTOMER_CARD',
      'POINTS',
      'test-message',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it.each(inputs)('%s normalizes to its .expected.json', (file) => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, file.replace(/\.json$/, '.expected.json')), 'utf8')) as unknown;
    expect(youzan.normalize(verified(file), ctx)).toStrictEqual(expected);
  });
});

describe('order status', () => {
  it('maps order_info.status, the paid-but-waiting states included', () => {
    expect(orderStatusOf('WAIT_BUYER_PAY', 0)).toBe('created');
    for (const s of ['TRADE_PAID', 'WAIT_CONFIRM', 'WAIT_SELLER_SEND_GOODS']) expect(orderStatusOf(s, 0)).toBe('paid');
    expect(orderStatusOf('WAIT_BUYER_CONFIRM_GOODS', 0)).toBe('shipped');
    expect(orderStatusOf('TRADE_SUCCESS', 0)).toBe('completed');
    expect(orderStatusOf('TRADE_CLOSED', 4)).toBe('cancelled');
    expect(orderStatusOf('TRADE_CLOSED', 2)).toBe('closed');
  });

  it('tells cancellations from refund closes by close_type', () => {
    for (const t of [1, 3, 4, 5, 10, 17, 31, '5']) expect(closeStatus(t)).toBe('cancelled');
    for (const t of [2, 6, 22, 0, 99, undefined, 'x']) expect(closeStatus(t)).toBe('closed');
  });

  it('reads a polled order (youzan.trades.sold.get shape): status from order_info, version from update_time', () => {
    const msg = (verified('trade_TradeBuyerPay.json').payload as YouzanPushPayload).msg;
    const order = orderFromDetail({ full_order_info: msg['full_order_info'] as never }, '46030001');
    expect(order?.status).toBe('paid');
    expect(order?.statusAt).toBe('2026-11-01T04:05:08.000Z'); // pay_time
    expect(order?.version).toBe('1793505910000'); // update_time, same clock as the push's version
    expect(order?.lines[0]?.lineId).toBe('2793339624048292001');
  });
});

describe('values', () => {
  it('keeps money exact', () => {
    expect(yuan('9.8')).toBe('9.80');
    expect(yuan('0.01')).toBe('0.01');
    expect(yuan(12.5)).toBe('12.50');
    expect(yuan('1.005')).toBe('1.005');
    expect(yuan('abc')).toBeUndefined();
    expect(addAmounts('0.1', '0.2')).toBe('0.30');
    expect(addAmounts('97.88', '18.12')).toBe('116.00');
    expect(addAmounts('1', 'x')).toBeUndefined();
  });

  it('reads Beijing time and writes it back', () => {
    expect(beijingIso('2021-03-12 09:53:18')).toBe('2021-03-12T01:53:18.000Z');
    expect(beijingIso('')).toBeUndefined();
    expect(beijingIso('2021-02-30 00:00:00')).toBeUndefined();
    expect(toBeijing(new Date('2021-03-12T01:53:18.999Z'))).toBe('2021-03-12 09:53:18');
  });

  it('uses only real phones as identifiers', () => {
    expect(plainPhone('13912345678')).toBe('13912345678');
    expect(plainPhone('+86 139-1234-5678')).toBe('+8613912345678');
    for (const masked of ['139****5678', '1391234****', 'OaF/xZqb0fRl8wG2ZkP5Yw==', '', '12345']) expect(plainPhone(masked)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Property: deterministic, never throws, whatever optional fields are missing or fuzzed
// ---------------------------------------------------------------------------------------------

type Path = readonly (string | number)[];

function paths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function mutate(value: unknown, path: Path, replacement: { readonly remove: boolean; readonly value: unknown }): unknown {
  if (path.length === 0) return replacement.value;
  if (typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) }) as Record<string | number, unknown>;
  if (rest.length === 0 && replacement.remove && !Array.isArray(copy)) delete copy[head!];
  else copy[head!] = mutate(copy[head!], rest, replacement);
  return copy;
}

const DECIMAL = /^-?\d+\.\d{2,}$/;

function checkShape(records: CanonicalRecord[]): void {
  expect(records.length).toBeGreaterThan(0);
  for (const r of records) {
    if (r.kind === 'order') {
      expect(r.order.totalAmount).toMatch(DECIMAL);
      expect(Number.isNaN(Date.parse(r.order.statusAt))).toBe(false);
      for (const l of r.order.lines) {
        expect(l.amount).toMatch(DECIMAL);
        expect(Number.isInteger(l.quantity) && l.quantity > 0).toBe(true);
      }
    } else if (r.kind === 'refund') {
      expect(r.refund.amount).toMatch(DECIMAL);
    } else if (r.kind === 'member') {
      expect(r.member.buyer.identifiers.length).toBeGreaterThan(0);
    }
  }
}

describe('normalize (property)', () => {
  const messages = inputs.map(verified);

  it('is deterministic and never throws when fields are removed or replaced by anything', () => {
    const fuzzed = fc
      .constantFrom(...messages)
      .chain((message) => {
        const all = paths(message.payload);
        return fc.tuple(
          fc.constant(message),
          fc.array(
            fc.record({
              path: fc.constantFrom(...all),
              remove: fc.boolean(),
              value: fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.constant(null), fc.constant('')),
            }),
            { maxLength: 6 },
          ),
        );
      })
      .map(([message, edits]) => ({
        ...message,
        payload: edits.reduce<unknown>((p, e) => mutate(p, e.path, { remove: e.remove, value: e.value }), message.payload),
      }));

    fc.assert(
      fc.property(fuzzed, (message) => {
        const a = normalizeYouzanMessage(message, ctx);
        const b = normalizeYouzanMessage(structuredClone(message), ctx);
        expect(b).toStrictEqual(a);
        checkShape(a);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on payloads that are not Youzan payloads at all', () => {
    fc.assert(
      fc.property(fc.anything(), fc.string(), (payload, type) => {
        const records = normalizeYouzanMessage({ messageId: 'm', type, payload }, ctx);
        expect(records.length).toBeGreaterThan(0);
      }),
    );
  });
});
