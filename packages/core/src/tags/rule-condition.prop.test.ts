import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseSegmentCondition, walkLeaves, type LeafValue, type RuleCondition } from './rule-condition.js';

// A condition tree with, for each leaf in walkLeaves order, a value of the right kind.
type Case = { c: RuleCondition; values: LeafValue[] };

const word = fc.constantFrom('上海', '北京', 'gold', 'silver', '5', '10');
const leafCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(fc.constantFrom('VIP', '复购'), fc.nat(3)).map(([tag, n]): Case => ({ c: { type: 'has_tag', tag }, values: [n] })),
  fc
    .tuple(fc.constantFrom('eq', 'neq', 'gte', 'lte') as fc.Arbitrary<'eq' | 'neq' | 'gte' | 'lte'>, word, fc.option(fc.oneof(word, fc.integer({ min: 0, max: 20 }))))
    .map(([op, value, stored]): Case => ({ c: { type: 'trait', key: 'city', op, value }, values: [stored === null ? null : { trait: stored }] })),
  fc.tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.option(word)).map(([list, stored]): Case => ({
    c: { type: 'trait', key: 'tier', op: 'in', value: list },
    values: [stored === null ? null : { trait: stored }],
  })),
  fc.tuple(fc.nat(5), fc.nat(5)).map(([value, n]): Case => ({ c: { type: 'order_count', op: 'gte', value }, values: [n] })),
);
const { tree } = fc.letrec<{ tree: Case }>((tie) => ({
  tree: fc.oneof(
    // At most 4 levels of all/any above a leaf: the parser refuses nesting deeper than 5.
    { depthSize: 'small', withCrossShrink: true, maxDepth: 4, depthIdentifier: 'condition' },
    leafCase,
    fc.tuple(fc.constantFrom('all', 'any'), fc.array(tie('tree'), { minLength: 1, maxLength: 3 })).map(([k, kids]): Case => ({
      c: k === 'all' ? { all: kids.map((x) => x.c) } : { any: kids.map((x) => x.c) },
      values: kids.flatMap((x) => x.values),
    })),
  ),
}));

describe('evaluateCondition (property)', () => {
  it('is deterministic, and all/any behave like and/or of their children', () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const va = evaluateCondition(a.c, a.values);
        expect(evaluateCondition(a.c, a.values)).toBe(va);
        const vb = evaluateCondition(b.c, b.values);
        const both = [...a.values, ...b.values];
        expect(evaluateCondition({ all: [a.c, b.c] }, both)).toBe(va && vb);
        expect(evaluateCondition({ any: [a.c, b.c] }, both)).toBe(va || vb);
        // A one-child combination is its child.
        expect(evaluateCondition({ all: [a.c] }, a.values)).toBe(va);
        expect(evaluateCondition({ any: [a.c] }, a.values)).toBe(va);
      }),
    );
  });

  it('parses back what it accepts, leaf for leaf', () => {
    fc.assert(
      fc.property(tree, (a) => {
        const parsed = parseSegmentCondition(JSON.parse(JSON.stringify(a.c)));
        expect(parsed).toEqual(a.c);
        let n = 0;
        walkLeaves(parsed, () => n++);
        expect(n).toBe(a.values.length);
      }),
    );
  });
});
