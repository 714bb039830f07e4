import { describe, expect, it } from 'vitest';
import { evaluateCondition, isTimeDependent, parseRuleCondition, parseSegmentCondition, traitMatches, triggeringEvents, type TraitCondition } from './rule-condition.js';

// Segments (C3) reuse the rule-tag grammar and add has_tag and trait leaves.
describe('parseSegmentCondition', () => {
  it('accepts has_tag and trait leaves next to the rule-tag leaves', () => {
    const c = parseSegmentCondition({
      all: [
        { type: 'has_tag', tag: '  VIP  ' },
        { type: 'trait', key: 'city', op: 'eq', value: '上海' },
        { type: 'trait', key: 'tier', op: 'in', value: ['gold', 'platinum'] },
        { type: 'order_count', op: 'gte', value: 1 },
      ],
    });
    expect(c).toEqual({
      all: [
        { type: 'has_tag', tag: 'VIP' },
        { type: 'trait', key: 'city', op: 'eq', value: '上海' },
        { type: 'trait', key: 'tier', op: 'in', value: ['gold', 'platinum'] },
        { type: 'order_count', op: 'gte', value: 1 },
      ],
    });
    expect(triggeringEvents(c)).toEqual(new Set(['#tag:VIP', '#traits', 'Order Completed', 'Order Refunded']));
    // Tags can expire, so a has_tag segment is recomputed periodically.
    expect(isTimeDependent(c)).toBe(true);
    expect(isTimeDependent(parseSegmentCondition({ type: 'trait', key: 'city', op: 'exists' }))).toBe(false);
  });

  it('lists every problem of segment leaves with SEGMENT_INVALID', () => {
    expect(() =>
      parseSegmentCondition({ any: [{ type: 'has_tag', tag: '' }, { type: 'trait', key: 'a..b', op: 'like', value: 1 }, { type: 'trait', key: 'tier', op: 'in', value: [] }] }),
    ).toThrow(
      expect.objectContaining({
        code: 'SEGMENT_INVALID',
        extensions: {
          problems: [
            'condition.any[0].tag: tag is empty',
            'condition.any[1].key: must be a trait name or a dotted path such as address.city',
            'condition.any[1].op: must be one of eq, neq, exists, in, gte, lte',
            'condition.any[2].value: must be a non-empty list (at most 100) of strings, numbers or booleans',
          ],
        },
      }),
    );
  });

  it('keeps has_tag and trait out of rule tags', () => {
    expect(() => parseRuleCondition({ all: [{ type: 'order_count', op: 'gte', value: 1 }, { type: 'has_tag', tag: 'VIP' }] })).toThrow(
      expect.objectContaining({ code: 'TAG_RULE_INVALID', extensions: { problems: ['condition.all[1].type: has_tag is for segments only (a rule tag cannot depend on tags or traits)'] } }),
    );
  });
});

describe('traitMatches', () => {
  const t = (op: TraitCondition['op'], value?: TraitCondition['value']): TraitCondition => ({ type: 'trait', key: 'k', op, ...(value !== undefined ? { value } : {}) });
  it('compares eq and in as text, element-wise for array traits', () => {
    expect(traitMatches(t('eq', '上海'), '上海')).toBe(true);
    expect(traitMatches(t('eq', 5), '5')).toBe(true);
    expect(traitMatches(t('in', ['gold', 'silver']), 'gold')).toBe(true);
    expect(traitMatches(t('in', ['gold']), ['bronze', 'gold'])).toBe(true);
    expect(traitMatches(t('eq', 'gold'), undefined)).toBe(false);
    expect(traitMatches(t('eq', 'gold'), { nested: 'gold' })).toBe(false);
  });
  it('treats neq as not eq: a customer without the trait is "not 上海"', () => {
    expect(traitMatches(t('neq', '上海'), '北京')).toBe(true);
    expect(traitMatches(t('neq', '上海'), undefined)).toBe(true);
    expect(traitMatches(t('neq', '上海'), '上海')).toBe(false);
  });
  it('compares gte/lte numerically when both sides are numbers, otherwise as text', () => {
    expect(traitMatches(t('gte', 10), '9.5')).toBe(false);
    expect(traitMatches(t('gte', 9), 10)).toBe(true);
    expect(traitMatches(t('lte', '1990-01-01'), '1985-06-30')).toBe(true);
    expect(traitMatches(t('gte', 1), undefined)).toBe(false);
  });
  it('exists is false for a missing or null trait', () => {
    expect(traitMatches(t('exists'), null)).toBe(false);
    expect(traitMatches(t('exists'), undefined)).toBe(false);
    expect(traitMatches(t('exists'), 0)).toBe(true);
  });
  it('evaluates has_tag and trait leaves from their leaf values', () => {
    const c = parseSegmentCondition({ all: [{ type: 'has_tag', tag: 'VIP' }, { type: 'trait', key: 'city', op: 'eq', value: '上海' }] });
    expect(evaluateCondition(c, [1, { trait: '上海' }])).toBe(true);
    expect(evaluateCondition(c, [0, { trait: '上海' }])).toBe(false);
    expect(evaluateCondition(c, [2, null])).toBe(false);
  });
});
