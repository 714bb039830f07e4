import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import type { PlatformMessage } from '../kit/connector.js';
import { parseMeituanConfig } from './config.js';
import { classifyMeituanPush, meituanMessageFromParams } from './messages.js';
import { normalizeMeituanMessage } from './normalize.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const config = parseMeituanConfig({ appId: '143183', appSecret: 'fixture-secret', appPoiCode: 't_8Xh3kQ' });
const ctx = { config, connectorId: 'con_mt_fixture' };

function fixture(name: string): Record<string, string> {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Record<string, string>;
}

const names = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

describe('fixtures: every recorded push → its .expected.json', () => {
  it('has fixtures for every push kind the connector handles', () => {
    const types = new Set(names.map((name) => classifyMeituanPush(fixture(name))));
    for (const type of [
      'paid_order',
      'confirmed_order',
      'completed_order',
      'cancel_order',
      'refund_order',
      'part_refund',
      'refund_status',
      'logistics_status',
      'unknown',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it.each(names)('%s', (name) => {
    const message = meituanMessageFromParams(fixture(name));
    const expected = JSON.parse(readFileSync(new URL(`${name}.expected.json`, FIXTURES), 'utf8')) as unknown;
    const records = normalizeMeituanMessage(message, ctx);
    expect({ type: message.type, occurredAt: message.occurredAt, records }).toStrictEqual(expected);
    // What goes to the store must survive JSON (the message log keeps it as JSON).
    expect(JSON.parse(JSON.stringify(records))).toStrictEqual(records);
  });
});

describe('normalizeMeituanMessage', () => {
  it('never turns the receiver phone into an identifier, masked or not', () => {
    for (const phone of ['13800000000_4321', '138****1234', '13812345678', '隐私号']) {
      const message = meituanMessageFromParams({ ...fixture('paid_order'), recipient_phone: phone });
      const [record] = normalizeMeituanMessage(message, ctx);
      if (record?.kind !== 'order') return expect.unreachable('expected an order');
      expect(record.order.buyer.identifiers).toStrictEqual([]);
      expect(record.order.buyer.maskedPhone).toBe(phone);
    }
  });

  it('reads amounts from their text exactly (no float drift)', () => {
    const params = fixture('completed_order');
    const detail = '[{"app_food_code":"a","food_name":"x","quantity":3,"price":0.1},{"app_food_code":"b","food_name":"y","quantity":7,"price":19.99}]';
    const message = meituanMessageFromParams({ ...params, total: '140.23', shipping_fee: '0.3', detail });
    const [record] = normalizeMeituanMessage(message, ctx);
    if (record?.kind !== 'order') return expect.unreachable('expected an order');
    expect(record.order.totalAmount).toBe('140.23');
    expect(record.order.shippingAmount).toBe('0.30');
    expect(record.order.lines.map((l) => [l.unitPrice, l.amount])).toStrictEqual([
      ['0.10', '0.30'],
      ['19.99', '139.93'],
    ]);
  });

  it('refuses amounts finer than a fen instead of rounding them', () => {
    const message = meituanMessageFromParams({ ...fixture('completed_order'), total: '37.805' });
    expect(() => normalizeMeituanMessage(message, ctx)).toThrowError(DatongError);
  });

  it('keeps a 19-digit order id as written', () => {
    const message = meituanMessageFromParams({ ...fixture('completed_order'), order_id: '9223372036854775807' });
    const [record] = normalizeMeituanMessage(message, ctx);
    expect(record?.kind === 'order' && record.order.orderId).toBe('9223372036854775807');
  });

  it('uses the app id as shop when the connector has no store code', () => {
    const noStore = parseMeituanConfig({ appId: '143183', appSecret: 'fixture-secret' });
    const [record] = normalizeMeituanMessage(meituanMessageFromParams(fixture('cancel_order')), { config: noStore, connectorId: 'c' });
    expect(record?.kind === 'order' && record.order.shopId).toBe('143183');
  });

  it('reports a message without order_id as MESSAGE_INVALID', () => {
    const params = fixture('paid_order');
    delete params['order_id'];
    delete params['wm_order_id_view'];
    try {
      normalizeMeituanMessage(meituanMessageFromParams(params), ctx);
      expect.unreachable('expected an error');
    } catch (e) {
      expect(e instanceof DatongError && e.code).toBe('MESSAGE_INVALID');
    }
  });

  it('ignores test messages', () => {
    const message: PlatformMessage = { ...meituanMessageFromParams(fixture('paid_order')), test: true };
    expect(normalizeMeituanMessage(message, ctx)).toStrictEqual([{ kind: 'ignored', reason: 'Meituan test push' }]);
  });
});

describe('properties', () => {
  // Fields each push kind cannot do without (the normalizer reports their absence as MESSAGE_INVALID).
  const REQUIRED = new Set(['order_id', 'total', 'timestamp', 'notify_type', 'refund_status', 'reason_code', 'logistics_status', 'app_id']);
  const fuzzValue = fc.oneof(
    fc.string(),
    fc.constantFrom('', '0', '-1', 'null', '[]', '[{}]', '{}', '%5B', '1e400', '25.555', '99999999999999999999', '[{"price":"x"}]'),
    fc.json(),
  );

  it.each(names)('%s: deterministic and never throws when optional fields are removed or fuzzed', (name) => {
    const base = fixture(name);
    const optional = Object.keys(base).filter((k) => !REQUIRED.has(k));
    fc.assert(
      fc.property(
        fc.subarray(optional),
        fc.dictionary(fc.constantFrom(...optional), fuzzValue, { maxKeys: 6 }),
        (removed, fuzzed) => {
          const params: Record<string, string> = { ...base, ...fuzzed };
          for (const key of removed) delete params[key];
          const message = meituanMessageFromParams(params);
          const first = normalizeMeituanMessage(message, ctx);
          const second = normalizeMeituanMessage(message, ctx);
          expect(second).toStrictEqual(first);
          for (const record of first) {
            if (record.kind === 'order') {
              expect(record.order.totalAmount).toMatch(/^-?\d+\.\d{2}$/);
              expect(record.order.statusAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
              expect(record.order.buyer.identifiers.every((i) => i.type === 'meituan_user_id')).toBe(true);
            }
            if (record.kind === 'refund') expect(record.refund.amount).toMatch(/^-?\d+\.\d{2}$/);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
