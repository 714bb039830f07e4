import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ORDER_STATUS_RANK, ORDER_STATUSES, orderUpdateApplies, type OrderStatus } from './order.js';

const state = fc.record({
  status: fc.constantFrom<OrderStatus>(...ORDER_STATUSES),
  statusAt: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }).map((t) => new Date(t).toISOString()),
  version: fc.option(fc.bigInt({ min: 0n, max: 10n ** 19n }).map(String), { nil: undefined }),
});

/** Applies updates in the given order, forward-only; returns the final state. */
function fold(updates: readonly { status: OrderStatus; statusAt: string; version?: string | undefined }[]) {
  let cur = updates[0]!;
  for (const u of updates.slice(1)) if (orderUpdateApplies(cur, u)) cur = u;
  return cur;
}

describe('orderUpdateApplies', () => {
  it('never moves an order back to an earlier state, and never leaves a final state', () => {
    fc.assert(
      fc.property(state, state, (a, b) => {
        if (!orderUpdateApplies(a, b)) return;
        expect(ORDER_STATUS_RANK[b.status]).toBeGreaterThanOrEqual(ORDER_STATUS_RANK[a.status]);
        expect(a.status === 'cancelled' || a.status === 'closed').toBe(false);
      }),
    );
  });
  it('the same message twice has one effect', () => {
    fc.assert(
      fc.property(state, (a) => {
        expect(orderUpdateApplies(a, a)).toBe(false);
      }),
    );
  });
  it('a late paid after shipped changes nothing; completed is never cancelled', () => {
    const t = '2026-11-01T00:00:00.000Z';
    expect(orderUpdateApplies({ status: 'shipped', statusAt: t }, { status: 'paid', statusAt: '2026-11-02T00:00:00.000Z' })).toBe(false);
    expect(orderUpdateApplies({ status: 'completed', statusAt: t }, { status: 'cancelled', statusAt: '2026-11-02T00:00:00.000Z' })).toBe(false);
    expect(orderUpdateApplies({ status: 'paid', statusAt: t }, { status: 'cancelled', statusAt: t })).toBe(true);
    expect(orderUpdateApplies({ status: 'paid', statusAt: t, version: '9' }, { status: 'paid', statusAt: t, version: '10' })).toBe(true);
  });
  it('messages of one order arriving in any order end in the state of the furthest message', () => {
    fc.assert(
      fc.property(fc.array(state, { minLength: 1, maxLength: 8 }).chain((xs) => fc.tuple(fc.constant(xs), fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length }))), ([xs, shuffled]) => {
        const noFinal = xs.filter((x) => x.status !== 'cancelled' && x.status !== 'closed');
        if (noFinal.length !== xs.length) return; // final states depend on arrival order by design (first final wins)
        const a = fold(xs);
        const b = fold(shuffled);
        expect(a.status).toBe(b.status);
      }),
    );
  });
});
