import { describe, expect, it } from 'vitest';
import { SIM_PLATFORMS, type Delivery, type OrderStep, type SimOrder, type SimPlatform } from './model.js';
import { planDeliveries, stepTime, type PlanOptions } from './plan.js';
import { createPopulation } from './population.js';

const ALL: readonly SimPlatform[] = SIM_PLATFORMS;
const START = Date.UTC(2026, 10, 22, 2, 0, 0);

function options(over: Partial<PlanOptions> = {}): PlanOptions {
  return { seed: '1', runId: 'r1', platforms: ALL, startAt: START, rate: 20, duplicates: 0.05, outOfOrder: 0.05, ...over };
}

function take(n: number, over: Partial<PlanOptions> = {}, shoppers = 300): Delivery[] {
  const population = createPopulation({ seed: over.seed ?? '1', shoppers, platforms: over.platforms ?? ALL });
  const out: Delivery[] = [];
  for (const d of planDeliveries(population, options(over))) {
    out.push(d);
    if (out.length >= n) break;
  }
  return out;
}

/** Where a step may come in a lifecycle: each step's rank is above the ones it follows. */
const RANK: Readonly<Record<OrderStep, number>> = {
  created: 0,
  paid: 1,
  confirmed: 2,
  shipped: 3,
  completed: 4,
  refund_requested: 5,
  refund_approved: 6,
  refunded: 7,
  cancelled: 8,
  closed: 9,
};

describe('planDeliveries', () => {
  it('gives the same deliveries for the same seed and run, and different ones otherwise', () => {
    const a = take(2000);
    expect(take(2000)).toEqual(a);
    expect(take(2000, { seed: '2' })).not.toEqual(a);
    expect(take(2000, { runId: 'r2' })).not.toEqual(a);
  });

  it('is due at start + seq / rate, and never moves an event after its delivery', () => {
    const ds = take(3000);
    ds.forEach((d, i) => {
      expect(d.seq).toBe(i);
      expect(d.dueAt).toBe(START + i * 50);
      expect(d.at).toBeLessThanOrEqual(d.dueAt);
    });
  });

  it('moves every order through its lifecycle in order, by the platform time of each step', () => {
    const n = 6000;
    const ds = take(n);
    const byOrder = new Map<string, { step: OrderStep; seq: number; stepIndex: number; order: SimOrder }[]>();
    for (const d of ds) {
      if (d.event.kind !== 'order' || d.duplicate) continue;
      const list = byOrder.get(d.event.order.orderId) ?? [];
      list.push({ step: d.event.step, seq: d.seq, stepIndex: d.event.order.stepIndex, order: d.event.order });
      byOrder.set(d.event.order.orderId, list);
    }
    expect(byOrder.size).toBeGreaterThan(200);
    let completed = 0;
    for (const steps of byOrder.values()) {
      const sorted = [...steps].sort((x, y) => x.stepIndex - y.stepIndex);
      const furthest = sorted[sorted.length - 1];
      if (!furthest) continue;
      const path = furthest.order.path;
      // Each step at most once, each in its place in the path.
      for (const s of sorted) expect(path[s.stepIndex]).toBe(s.step);
      expect(new Set(sorted.map((s) => s.stepIndex)).size).toBe(sorted.length);
      // Every step up to the furthest one was delivered (a late step may still be on its way at the cut).
      if (Math.max(...sorted.map((s) => s.seq)) < n - 10) expect(sorted.map((s) => s.stepIndex)).toEqual(path.slice(0, sorted.length).map((_, i) => i));
      // Platform times rise along the path; ranks only move forward until cancelled/closed ends it.
      const times = path.slice(0, furthest.stepIndex + 1).map((step) => stepTime(furthest.order, step));
      for (let i = 1; i < times.length; i++) {
        expect(times[i]).toBeGreaterThan(times[i - 1] ?? Infinity);
        const prev = path[i - 1];
        const cur = path[i];
        if (prev && cur && cur !== 'cancelled' && cur !== 'closed') expect(RANK[cur]).toBeGreaterThan(RANK[prev]);
      }
      if (sorted.some((s) => s.step === 'completed')) completed++;
    }
    expect(completed).toBeGreaterThan(50);
  });

  it('delivers out of order only what it marks late: each late step after the next step of its order', () => {
    const ds = take(6000, { outOfOrder: 0.2 });
    const seen = new Map<string, number>();
    let late = 0;
    for (const d of ds) {
      if (d.event.kind !== 'order' || d.duplicate) continue;
      const { orderId, stepIndex } = d.event.order;
      const furthest = seen.get(orderId) ?? -1;
      if (d.late) {
        late++;
        expect(stepIndex).toBeLessThan(furthest);
      } else expect(stepIndex).toBeGreaterThan(furthest);
      seen.set(orderId, Math.max(furthest, stepIndex));
    }
    expect(late).toBeGreaterThan(100);
    expect(take(3000, { outOfOrder: 0 }).filter((d) => d.late)).toEqual([]);
  });

  it('repeats about the requested share of deliveries, each identical to an earlier one', () => {
    const ds = take(8000, { duplicates: 0.1 });
    const originals = new Map<string, Delivery>();
    let duplicates = 0;
    let duplicable = 0;
    for (const d of ds) {
      const key = d.event.kind === 'order' ? d.event.key : d.event.kind === 'segment' ? String(d.event.message['messageId']) : `login:${d.event.code}`;
      if (d.duplicate) {
        duplicates++;
        const first = originals.get(key);
        expect(first).toBeDefined();
        expect(d.event).toEqual(first?.event);
        expect(d.at).toBe(first?.at);
        expect(d.seq).toBeGreaterThan(first?.seq ?? Infinity);
      } else {
        expect(originals.has(key)).toBe(false);
        originals.set(key, d);
        if (d.event.kind !== 'wechat_login') duplicable++;
      }
    }
    expect(duplicates / duplicable).toBeGreaterThan(0.08);
    expect(duplicates / duplicable).toBeLessThan(0.12);
    expect(take(3000, { duplicates: 0 }).filter((d) => d.duplicate)).toEqual([]);
    // Logins are never repeated: a wx.login code works once.
    expect(ds.filter((d) => d.duplicate && d.event.kind === 'wechat_login')).toEqual([]);
  });

  it('keeps amounts exact: totals are items + shipping − discount, and lines add up to what is paid', () => {
    for (const d of take(4000)) {
      if (d.event.kind !== 'order') continue;
      const o = d.event.order;
      expect(Number.isInteger(o.totalFen)).toBe(true);
      expect(o.totalFen).toBe(o.itemsFen + o.shippingFen - o.discountFen);
      expect(o.lines.reduce((s, l) => s + l.payFen, 0)).toBe(o.itemsFen - o.discountFen);
      expect(o.lines.reduce((s, l) => s + l.unitPriceFen * l.quantity, 0)).toBe(o.itemsFen);
      if (o.refund) expect(o.refund.amountFen).toBeLessThanOrEqual(o.totalFen);
    }
  });

  it('logs shoppers in before their first identify, and sends only to the platforms asked for', () => {
    const ds = take(4000, { platforms: ['mall', 'taobao'] });
    expect(new Set(ds.map((d) => (d.event.kind === 'order' ? d.event.platform : 'mall')))).toEqual(new Set(['mall', 'taobao']));
    const loggedIn = new Set<number>();
    for (const d of ds) {
      if (d.event.kind === 'wechat_login' && d.event.app === 'mall') loggedIn.add(d.event.shopper);
      if (d.event.kind === 'segment' && d.event.message['type'] === 'identify') expect(loggedIn.has(d.event.shopper)).toBe(true);
      if (d.event.kind === 'segment' && !d.duplicate && d.event.message['anonymousId'] !== undefined && d.event.message['type'] !== 'identify') {
        expect(loggedIn.has(d.event.shopper)).toBe(false);
      }
    }
    expect(loggedIn.size).toBeGreaterThan(50);
  });
});
