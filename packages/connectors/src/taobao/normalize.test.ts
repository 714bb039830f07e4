import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatongError, type CanonicalRecord } from '@datong/core';
import type { PlatformMessage } from '../kit/connector.js';
import { parseTaobaoConfig } from './config.js';
import { parseJsonKeepingBigInts } from './json.js';
import { tmcMessageToPlatformMessage, withFetchedTrade } from './messages.js';
import { normalizeTaobaoMessage, normalizeTaobaoTrade, REFUND_TOPICS, TRADE_TOPICS } from './normalize.js';
import type { TopTrade } from './payloads.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const config = parseTaobaoConfig({ appKey: '12345678', appSecret: 'helloworld', sessionKey: 'test' });
const ctx = { config, connectorId: 'con_taobao_1' };

function read(path: string): unknown {
  // Fixtures are stored as TOP sends them: 19-digit ids as bare JSON numbers.
  return parseJsonKeepingBigInts(readFileSync(FIXTURES + path, 'utf8'));
}

function inputs(dir: string): string[] {
  return readdirSync(FIXTURES + dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .sort();
}

/** A fixture `{ message, trade? }` as the client hands it to Datong. */
function messageOf(fixture: unknown): PlatformMessage {
  const { message, trade } = fixture as { message: unknown; trade?: TopTrade };
  const pm = tmcMessageToPlatformMessage(message);
  if (pm === undefined) throw new Error('fixture message has no id or topic');
  return trade === undefined ? pm : withFetchedTrade(pm, trade);
}

function outcome(fn: () => CanonicalRecord[]): unknown {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DatongError) return { error: e.code };
    throw e;
  }
}

describe('fixtures/tmc: every consumed message gives its .expected.json', () => {
  const files = inputs('tmc');
  it('has fixtures for every trade and refund topic Datong handles', () => {
    const topics = new Set(files.map((f) => (messageOf(read(`tmc/${f}`)).type)));
    for (const topic of ['taobao_trade_TradeCreate', 'taobao_trade_TradeBuyerPay', 'taobao_trade_TradeSellerShip', 'taobao_trade_TradeSuccess', 'taobao_trade_TradeClose', 'taobao_trade_TradeChanged', 'taobao_trade_TradeLogisticsAddressChanged', ...Object.keys(REFUND_TOPICS)]) {
      expect(topics, topic).toContain(topic);
    }
  });

  it.each(files)('%s', (file) => {
    const expected = read(`tmc/${file.replace(/\.json$/, '.expected.json')}`);
    const actual = outcome(() => normalizeTaobaoMessage(messageOf(read(`tmc/${file}`)), ctx));
    expect(JSON.parse(JSON.stringify(actual))).toStrictEqual(expected);
  });
});

describe('fixtures/trades: every TOP trade answer gives its .expected.json', () => {
  it.each(inputs('trades'))('%s', (file) => {
    const raw = read(`trades/${file}`) as Record<string, Record<string, unknown>>;
    const answer = Object.values(raw)[0]!;
    const trades = 'trade' in answer ? [answer['trade']] : ((answer['trades'] as { trade: unknown[] }).trade);
    const actual = trades.map((t) => normalizeTaobaoTrade(t));
    const expected = read(`trades/${file.replace(/\.json$/, '.expected.json')}`);
    expect(JSON.parse(JSON.stringify(actual))).toStrictEqual(expected);
  });
});

describe('normalizeTaobaoMessage', () => {
  const buyerPay = () => messageOf(read('tmc/trade-buyer-pay.json'));

  it('uses the configured shopId over the seller nick', () => {
    const records = normalizeTaobaoMessage(buyerPay(), { ...ctx, config: { ...config, shopId: 'shop-hz-1' } });
    expect(records[0]).toMatchObject({ kind: 'order', order: { shopId: 'shop-hz-1' } });
  });

  it('keeps 19-digit ids exact', () => {
    const [record] = normalizeTaobaoMessage(buyerPay(), ctx);
    expect(record).toMatchObject({ order: { orderId: '3702118873904567891', lines: [{ lineId: '3702118873905567891' }, {}] } });
  });

  it('never uses masked or encrypted receiver data as an identifier', () => {
    for (const file of ['tmc/trade-buyer-pay.json', 'tmc/trade-logistics-address-changed.json', 'tmc/trade-close.after-refund.json']) {
      const [record] = normalizeTaobaoMessage(messageOf(read(file)), ctx);
      if (record?.kind !== 'order') throw new Error(`${file}: expected an order`);
      expect(record.order.buyer.identifiers.map((i) => i.type)).toEqual(['taobao_open_uid']);
      expect(record.order.buyer.maskedPhone).toMatch(/\*|\$/);
    }
  });

  it('ignores a trade whose fetched trade belongs to another tid and falls back to the message', () => {
    const m = messageOf(read('tmc/trade-buyer-pay.json'));
    const other = withFetchedTrade(m, { ...(m.payload as { trade: TopTrade }).trade, tid: '1', tid_str: '1' });
    const [record] = normalizeTaobaoMessage(other, ctx);
    expect(record).toMatchObject({ kind: 'order', order: { orderId: '3702118873904567891', lines: [] } });
  });
});

/* ----------------------------------------- properties ----------------------------------------- */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const validFixtures = inputs('tmc')
  .filter((f) => !f.includes('bad-content'))
  .map((f) => messageOf(read(`tmc/${f}`)));

/** Fields a message cannot lose and still be a message of its topic. */
function required(topic: string): ReadonlySet<string> {
  if (REFUND_TOPICS[topic] !== undefined) return new Set(['tid', 'refund_id', 'refund_fee']);
  if (TRADE_TOPICS[topic] !== undefined) return new Set(['tid']);
  return new Set();
}

const fuzzValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.constantFrom('', '12.345', '-1.00', '99999999999999999999', '2024-13-40 99:99:99', 'TRADE_FINISHED', 'WAIT_BUYER_PAY', '138****0000'),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }),
);

/** Removes or replaces keys of `obj` (and of nested objects) except `keep`; `choices` drive it. */
function mutate(obj: Json, keep: ReadonlySet<string>, choices: readonly number[], values: readonly Json[], depth = 0): Json {
  if (typeof obj !== 'object' || obj === null) return obj;
  if (Array.isArray(obj)) return obj.map((v, i) => mutate(v, keep, choices.slice(i + 1), values.slice(i + 1), depth + 1));
  const out: { [k: string]: Json } = {};
  let i = 0;
  for (const [k, v] of Object.entries(obj)) {
    const choice = choices[(i + depth) % Math.max(1, choices.length)] ?? 0;
    const value = values[(i * 7 + depth) % Math.max(1, values.length)] ?? null;
    i += 1;
    if (depth === 0 && keep.has(k)) {
      out[k] = v;
      continue;
    }
    if (choice === 0) continue; // removed
    out[k] = choice === 1 ? value : mutate(v, new Set(), choices.slice(1), values.slice(1), depth + 1);
  }
  return out;
}

describe('normalizeTaobaoMessage properties', () => {
  const arbitraryMessage = fc
    .record({
      index: fc.nat({ max: validFixtures.length - 1 }),
      contentChoices: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 30 }),
      tradeChoices: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 60 }),
      values: fc.array(fuzzValue, { minLength: 1, maxLength: 10 }),
      dropTrade: fc.boolean(),
    })
    .map(({ index, contentChoices, tradeChoices, values, dropTrade }) => {
      const base = validFixtures[index]!;
      const payload = base.payload as { content: Json; trade?: Json };
      const content = mutate(payload.content, required(base.type), contentChoices, values);
      const trade = payload.trade === undefined || dropTrade ? undefined : mutate(payload.trade, new Set(), tradeChoices, values);
      const { trade: _old, ...rest } = payload;
      return { ...base, payload: { ...rest, content, ...(trade === undefined ? {} : { trade }) } } as PlatformMessage;
    });

  it('never throws when optional fields are removed or fuzzed, and is deterministic', () => {
    fc.assert(
      fc.property(arbitraryMessage, (message) => {
        const first = normalizeTaobaoMessage(message, ctx);
        const again = normalizeTaobaoMessage(structuredClone(message), ctx);
        expect(again).toStrictEqual(first);
        for (const record of first) {
          if (record.kind === 'order') {
            expect(record.order.orderId).toMatch(/^\d+$/);
            expect(record.order.totalAmount).toMatch(/^\d+\.\d{2}$/);
            for (const line of record.order.lines) expect(line.amount).toMatch(/^\d+\.\d{2}$/);
            expect(Number.isNaN(Date.parse(record.order.statusAt))).toBe(false);
          }
          if (record.kind === 'refund') expect(record.refund.amount).toMatch(/^\d+\.\d{2}$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('normalizeTaobaoTrade never throws on a fuzzed trade', () => {
    const trade = (read('trades/fullinfo.tmall-two-lines.json') as { trade_fullinfo_get_response: { trade: Json } })
      .trade_fullinfo_get_response.trade;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 60 }), fc.array(fuzzValue, { minLength: 1, maxLength: 10 }), (choices, values) => {
        const fuzzed = mutate(trade, new Set(), choices, values);
        expect(normalizeTaobaoTrade(fuzzed)).toStrictEqual(normalizeTaobaoTrade(structuredClone(fuzzed)));
      }),
      { numRuns: 300 },
    );
  });
});
