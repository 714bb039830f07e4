import { parseRuleCondition } from '@datong/core';
import { describe, expect, it } from 'vitest';
import { buildCondition, describeCondition, newGroup, newLeaf, parseCondition, type GroupForm, type LeafForm } from './rule-form';

const leaf = (patch: Partial<LeafForm> & Pick<LeafForm, 'type'>): LeafForm => ({ ...newLeaf(patch.type), ...patch });

describe('the rule-tag form', () => {
  it('builds conditions the server accepts, for every leaf type and nested groups', () => {
    const form: GroupForm = newGroup('all', [
      leaf({ type: 'event_count', event: 'Product Viewed', where: [{ key: 'category', kind: 'text', value: 'shoes' }, { key: 'vip', kind: 'boolean', value: 'true' }], withinDays: 7, op: 'gte', value: '3' }),
      newGroup('any', [
        leaf({ type: 'total_spend', currency: 'CNY', value: '1000.00', withinDays: null, op: 'gte' }),
        leaf({ type: 'order_count', value: '5', withinDays: 90, op: 'gt' }),
        leaf({ type: 'days_since_last_order', value: '30', op: 'lte' }),
        leaf({ type: 'first_channel', channels: ['miniprogram', 'douyin'] }),
      ]),
    ]);
    const { condition, errors } = buildCondition(form);
    expect(errors).toEqual([]);
    expect(() => parseRuleCondition(condition)).not.toThrow();
    expect(condition).toEqual({
      all: [
        { type: 'event_count', event: 'Product Viewed', where: { category: 'shoes', vip: true }, withinDays: 7, op: 'gte', value: 3 },
        {
          any: [
            { type: 'total_spend', currency: 'CNY', op: 'gte', value: '1000.00' },
            { type: 'order_count', withinDays: 90, op: 'gt', value: 5 },
            { type: 'days_since_last_order', op: 'lte', value: 30 },
            { type: 'first_channel', in: ['miniprogram', 'douyin'] },
          ],
        },
      ],
    });
  });

  it('sends a single leaf without a group, and reads it back', () => {
    const { condition } = buildCondition(newGroup('all', [leaf({ type: 'order_count', value: '2', withinDays: 30, op: 'gte' })]));
    expect(condition).toEqual({ type: 'order_count', withinDays: 30, op: 'gte', value: 2 });
    const back = parseCondition(condition);
    expect(back && buildCondition(back).condition).toEqual(condition);
  });

  it('round-trips a stored condition through the form', () => {
    const stored = { any: [{ type: 'event_count', event: 'Order Completed', op: 'gte', value: 2 }, { all: [{ type: 'first_channel', in: ['web'] }, { type: 'total_spend', currency: 'USD', op: 'lt', value: '10.5' }] }] };
    const form = parseCondition(stored);
    expect(form).not.toBeNull();
    expect(form && buildCondition(form).condition).toEqual(stored);
  });

  it('lists what is missing instead of sending a bad rule', () => {
    const { errors } = buildCondition(
      newGroup('all', [leaf({ type: 'event_count', event: ' ', value: '-1' }), leaf({ type: 'total_spend', value: '12,00' }), leaf({ type: 'first_channel', channels: [] })]),
    );
    expect(errors).toEqual(['1:rules.err.event', '1:rules.err.count', '2:rules.err.amount', '3:rules.err.channels']);
  });

  it('describes a condition in words', () => {
    const t = (k: string, v?: Record<string, unknown>) => `${k}${v ? JSON.stringify(v) : ''}`;
    const s = describeCondition({ all: [{ type: 'order_count', op: 'gte', value: 2 }, { type: 'first_channel', in: ['web'] }] }, t);
    expect(s).toContain('rules.sOrderCount');
    expect(s).toContain('rules.and');
    expect(s).toContain('≥');
  });
});
