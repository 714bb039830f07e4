import { parseSegmentCondition } from '@datong/core';
import { describe, expect, it } from 'vitest';
import { buildCondition, describeCondition, newGroup, newLeaf, parseCondition } from './rule-form';

// The segment editor's has_tag and trait leaves build what POST /v1/segments accepts, and read back.
describe('segment leaves in the rule form', () => {
  it('builds has_tag and trait (eq, in, exists, numeric gte) and parses them back', () => {
    const tag = { ...newLeaf('has_tag'), tag: ' VIP ' };
    const city = { ...newLeaf('trait'), traitKey: 'city', traitOp: 'eq' as const, value: '上海' };
    const tier = { ...newLeaf('trait'), traitKey: 'tier', traitOp: 'in' as const, traitValues: ['gold', 'silver'] };
    const phone = { ...newLeaf('trait'), traitKey: 'phone', traitOp: 'exists' as const };
    const age = { ...newLeaf('trait'), traitKey: 'age', traitOp: 'gte' as const, value: '30' };
    const { condition, errors } = buildCondition(newGroup('all', [tag, city, tier, phone, age]));
    expect(errors).toEqual([]);
    expect(condition).toEqual({
      all: [
        { type: 'has_tag', tag: 'VIP' },
        { type: 'trait', key: 'city', op: 'eq', value: '上海' },
        { type: 'trait', key: 'tier', op: 'in', value: ['gold', 'silver'] },
        { type: 'trait', key: 'phone', op: 'exists' },
        { type: 'trait', key: 'age', op: 'gte', value: 30 },
      ],
    });
    expect(() => parseSegmentCondition(condition)).not.toThrow();
    const form = parseCondition(condition);
    expect(form && buildCondition(form).condition).toEqual(condition);
    expect(describeCondition({ type: 'has_tag', tag: 'VIP' }, (k, v) => `${k}${JSON.stringify(v ?? {})}`)).toBe('rules.sHasTag{"tag":"VIP"}');
  });

  it('reports an empty tag, attribute name or value', () => {
    const { errors } = buildCondition(newGroup('any', [newLeaf('has_tag'), newLeaf('trait')]));
    expect(errors).toEqual(['1:rules.err.tag', '2:rules.err.traitKey', '2:rules.err.traitValue']);
  });
});
