import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanonicalRecord } from '@datong/core';
import type { PlatformMessage } from '../kit/connector.js';
import { parseDoudianConfig } from './config.js';
import { parseJsonLossless } from './json.js';
import { doudianOrderIdOf, normalizeDoudianMessage, normalizeShopOrder } from './normalize.js';
import { computeEventSign, verifyDoudianPush } from './verify.js';

/*
 * Walks fixtures/: every `push.*.json` is a push body (signed here, verified, split, normalized);
 * every `api.*.json` is an Open API answer whose order is normalized. Each is compared with its
 * `.expected.json`, so a new recorded payload needs no new code.
 */

const APP_KEY = '7001234567890123456';
const APP_SECRET = 'fixture-secret';
const CONFIG = parseDoudianConfig({ appKey: APP_KEY, appSecret: APP_SECRET, shopId: '4463798' });
const CTX = { config: CONFIG, connectorId: 'con_doudian_1' };
const DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

const inputs = readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .sort();

function messagesOf(file: string): PlatformMessage[] | 'handshake' {
  const raw = readFileSync(`${DIR}${file}`);
  if (file.startsWith('push.')) {
    const sign = computeEventSign(APP_KEY, raw, APP_SECRET);
    const result = verifyDoudianPush({ method: 'POST', url: '/v1/hooks/doudian/con_doudian_1', headers: { 'app-id': APP_KEY, 'event-sign': sign }, rawBody: raw }, CONFIG);
    return result.kind === 'handshake' ? 'handshake' : [...result.messages];
  }
  const answer = parseJsonLossless(raw.toString('utf8')) as { data: Record<string, unknown> };
  return [{ messageId: `fixture:${file}`, type: 'order.orderDetail', payload: answer.data }];
}

/** What a fixture produces, in JSON form (null-prototype objects and all). */
function actualOf(file: string): unknown {
  const messages = messagesOf(file);
  if (messages === 'handshake') return { kind: 'handshake' };
  return JSON.parse(
    JSON.stringify(messages.map((m) => ({ messageId: m.messageId, type: m.type, records: normalizeDoudianMessage(m, CTX) }))),
  ) as unknown;
}

describe('fixtures', () => {
  it('has a push fixture for every order and after-sale tag Datong handles', () => {
    const tags = new Set<string>();
    for (const file of inputs.filter((f) => f.startsWith('push.'))) {
      for (const element of JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as { tag: string }[]) tags.add(element.tag);
    }
    for (const tag of ['0', '100', '101', '102', '103', '105', '106', '108', '109', '110', '200', '201', '202', '203', '204', '205', '206', '207', '208']) {
      expect(tags.has(tag), `tag ${tag}`).toBe(true);
    }
  });

  it.each(inputs)('%s normalizes to its .expected.json', (file) => {
    const expectedFile = `${DIR}${file.replace(/\.json$/, '.expected.json')}`;
    const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as unknown;
    expect(actualOf(file)).toStrictEqual(expected);
  });
});

describe('normalizeDoudianMessage', () => {
  it('keeps 19-digit ids exact from push to record', () => {
    const [message] = messagesOf('push.refund-success.json') as PlatformMessage[];
    const [record] = normalizeDoudianMessage(message as PlatformMessage, CTX);
    expect(record).toMatchObject({ kind: 'refund', refund: { refundId: '7364289001234567001', orderId: '4781320682406083640', amount: '129.00' } });
  });

  it('never turns a masked or encrypted phone into a phone identifier', () => {
    for (const file of inputs) {
      const actual = JSON.stringify(actualOf(file));
      expect(actual).not.toContain('"type":"phone"');
    }
  });

  it('marks test messages ignored, and unknown tags ignored with a reason', () => {
    expect(normalizeDoudianMessage({ messageId: '0', type: '0', payload: {}, test: true }, CTX)).toStrictEqual([
      { kind: 'ignored', reason: 'push URL check (tag 0)' },
    ]);
    expect(normalizeDoudianMessage({ messageId: '1', type: '999', payload: {} }, CTX)[0]?.kind).toBe('ignored');
    expect(normalizeDoudianMessage({ messageId: '2', type: '100', payload: 'nope' }, CTX)[0]?.kind).toBe('ignored');
    expect(normalizeDoudianMessage({ messageId: '3', type: '100', payload: { p_id: 1.5, create_time: 1714538000 } }, CTX)[0]?.kind).toBe('ignored');
  });

  it('names the order to fetch for thin pushes, and nothing for details or test messages', () => {
    const [paid] = messagesOf('push.trade-paid.json') as PlatformMessage[];
    const [refund] = messagesOf('push.refund-created.json') as PlatformMessage[];
    const [detail] = messagesOf('api.order-detail.live.json') as PlatformMessage[];
    const [product] = messagesOf('push.product-change.json') as PlatformMessage[];
    expect(doudianOrderIdOf(paid as PlatformMessage)).toBe('4781320682406083640');
    expect(doudianOrderIdOf(refund as PlatformMessage)).toBe('4781320682406083640');
    expect(doudianOrderIdOf(detail as PlatformMessage)).toBeUndefined();
    expect(doudianOrderIdOf(product as PlatformMessage)).toBeUndefined();
    expect(doudianOrderIdOf({ messageId: '0', type: '0', payload: {}, test: true })).toBeUndefined();
  });

  it('maps every order_status of the order APIs', () => {
    const base = { order_id: '6919395948153934114', shop_id: 4463798, create_time: 1714538000, update_time: 1714540000 };
    const statuses = [1, 103, 105, 2, 101, 3, 4, 5].map((order_status) => normalizeShopOrder({ ...base, order_status }, CONFIG)?.status);
    expect(statuses).toStrictEqual(['created', 'created', 'paid', 'paid', 'shipped', 'shipped', 'cancelled', 'completed']);
    expect(normalizeShopOrder({ ...base, order_status: 77 }, CONFIG)).toBeUndefined();
  });
});

/** Every payload the fixtures produce, as plain objects, for the property test. */
const payloads: Record<string, unknown>[] = inputs.flatMap((file) => {
  const messages = messagesOf(file);
  if (messages === 'handshake') return [];
  return messages.map((m) => ({ type: m.type, payload: JSON.parse(JSON.stringify(m.payload)) as unknown }));
});

const jsonValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.string(),
  fc.constantFrom('4781320682406083640', '0', '', '-1', '2024-05-01 12:00:00', '99999999999999999999999'),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.anything(), { maxKeys: 3 }),
);

/** Removes or replaces fields at any depth, following `choices`. */
function mutate(value: unknown, choices: readonly number[], replacement: unknown, state: { i: number }): unknown {
  if (Array.isArray(value)) return value.map((v) => mutate(v, choices, replacement, state));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const choice = choices[state.i % Math.max(choices.length, 1)] ?? 0;
    state.i += 1;
    if (choice === 1) continue; // removed
    out[key] = choice === 2 ? replacement : mutate(v, choices, replacement, state);
  }
  return out;
}

describe('normalize properties', () => {
  it('is deterministic and never throws when fields are removed or fuzzed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: 1, maxLength: 40 }),
        jsonValue,
        (sample, choices, replacement) => {
          const payload = mutate(sample['payload'], choices, replacement, { i: 0 });
          const message: PlatformMessage = { messageId: 'p', type: String(sample['type']), payload };
          const first: CanonicalRecord[] = normalizeDoudianMessage(message, CTX);
          const second = normalizeDoudianMessage(message, CTX);
          expect(second).toStrictEqual(first);
          expect(first.length).toBeGreaterThan(0);
          for (const record of first) {
            if (record.kind === 'order') {
              expect(record.order.totalAmount).toMatch(/^\d+\.\d{2}$/);
              expect(Number.isNaN(Date.parse(record.order.statusAt))).toBe(false);
            }
            if (record.kind === 'refund') expect(record.refund.amount).toMatch(/^\d+\.\d{2}$/);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
