import { describe, expect, it } from 'vitest';
import { evaluateCondition, isTimeDependent, parseRuleCondition, triggeringEvents } from './rule-condition.js';

describe('parseRuleCondition', () => {
  it('accepts "Product Viewed with product_id=X at least 3 times in 7 days"', () => {
    const c = parseRuleCondition({ type: 'event_count', event: 'Product Viewed', where: { product_id: 'X' }, withinDays: 7, op: 'gte', value: 3 });
    expect(triggeringEvents(c)).toEqual(new Set(['Product Viewed']));
    expect(isTimeDependent(c)).toBe(true);
  });

  it('lists every problem at once with a path', () => {
    expect(() => parseRuleCondition({ all: [{ type: 'event_count', op: 'about', value: -1 }, { type: 'nope' }] })).toThrow(
      expect.objectContaining({
        code: 'TAG_RULE_INVALID',
        extensions: {
          problems: [
            'condition.all[0].event: must be a non-empty string',
            'condition.all[0].op: must be one of gte, gt, lte, lt, eq, neq',
            'condition.all[0].value: must be an integer ≥ 0',
            'condition.all[1].type: must be one of event_count, total_spend, order_count, days_since_last_order, first_channel (or use all/any)',
          ],
        },
      }),
    );
  });

  it('refuses a spend that is not an exact amount', () => {
    expect(() => parseRuleCondition({ type: 'total_spend', op: 'gte', value: '10.001' })).toThrow(expect.objectContaining({ code: 'TAG_RULE_INVALID' }));
  });
});

describe('evaluateCondition', () => {
  const c = parseRuleCondition({
    all: [
      { type: 'total_spend', op: 'gte', value: '1000.00' },
      { any: [{ type: 'order_count', op: 'gte', value: 3 }, { type: 'first_channel', in: ['douyin'] }] },
    ],
  });
  it('combines leaves with all/any in order', () => {
    expect(evaluateCondition(c, [100000n, 1, 'douyin'])).toBe(true);
    expect(evaluateCondition(c, [100000n, 3, 'web'])).toBe(true);
    expect(evaluateCondition(c, [99999n, 5, 'douyin'])).toBe(false);
    expect(evaluateCondition(c, [100000n, 2, null])).toBe(false);
  });
  it('treats a customer who never ordered as not matching days_since_last_order', () => {
    const d = parseRuleCondition({ type: 'days_since_last_order', op: 'gte', value: 30 });
    expect(evaluateCondition(d, [null])).toBe(false);
    expect(evaluateCondition(d, [45])).toBe(true);
  });
});
