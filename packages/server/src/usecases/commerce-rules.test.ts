import fc from 'fast-check';
import { REFUND_STATUSES, type RefundStatus } from '@datong/core';
import { describe, expect, it } from 'vitest';
import { orderTransitionEvents, REFUND_STATUS_RANK, refundUpdateApplies } from './commerce-rules.js';

describe('orderTransitionEvents', () => {
  it('counts the sale once, whichever paid-or-later state is seen first', () => {
    expect(orderTransitionEvents(null, 'completed', false)).toEqual(['Order Completed']);
    expect(orderTransitionEvents('created', 'paid', false)).toEqual(['Order Completed']);
    expect(orderTransitionEvents('paid', 'shipped', true)).toEqual(['Order Shipped']);
    expect(orderTransitionEvents(null, 'shipped', false)).toEqual(['Order Completed', 'Order Shipped']);
    expect(orderTransitionEvents('shipped', 'completed', true)).toEqual([]);
  });

  it('cancels on entering cancelled or closed, and an unpaid order never counts as a sale', () => {
    expect(orderTransitionEvents('created', 'cancelled', false)).toEqual(['Order Cancelled']);
    expect(orderTransitionEvents('paid', 'closed', true)).toEqual(['Order Cancelled']);
    expect(orderTransitionEvents(null, 'created', false)).toEqual([]);
  });
});

const refund = fc.record({
  status: fc.constantFrom<RefundStatus>(...REFUND_STATUSES),
  statusAt: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }).map((t) => new Date(t).toISOString()),
  version: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n }).map(String), { nil: undefined }),
});

describe('refundUpdateApplies (property)', () => {
  it('never moves a refund back, never leaves a final state for another, and the same message twice has one effect', () => {
    fc.assert(
      fc.property(refund, refund, (a, b) => {
        expect(refundUpdateApplies(a, a)).toBe(false);
        if (!refundUpdateApplies(a, b)) return;
        expect(REFUND_STATUS_RANK[b.status]).toBeGreaterThanOrEqual(REFUND_STATUS_RANK[a.status]);
        if (REFUND_STATUS_RANK[a.status] === 2) expect(b.status).toBe(a.status);
      }),
    );
  });

  it('a late approval after the money went back changes nothing', () => {
    expect(refundUpdateApplies({ status: 'refunded', statusAt: '2026-03-02T00:00:00Z' }, { status: 'approved', statusAt: '2026-03-03T00:00:00Z' })).toBe(false);
    expect(refundUpdateApplies({ status: 'requested', statusAt: '2026-03-02T00:00:00Z' }, { status: 'refunded', statusAt: '2026-03-01T00:00:00Z' })).toBe(true);
  });
});
