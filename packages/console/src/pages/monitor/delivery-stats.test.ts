import { describe, expect, it } from 'vitest';
import type { WebhookDelivery } from '../../api/types';
import { deliveryStats } from './delivery-stats';

const d = (createdAt: string, status: WebhookDelivery['status'], latencyMs: number | null): WebhookDelivery => ({
  id: createdAt + status,
  subscriptionId: 'whk_1',
  eventType: 'tag.added',
  status,
  attempts: 1,
  nextAttemptAt: null,
  lastStatus: status === 'succeeded' ? 200 : 500,
  lastError: null,
  latencyMs,
  createdAt,
  deliveredAt: null,
});

describe('delivery statistics for the monitor chart', () => {
  it('counts volume and success per hour with latency percentiles', () => {
    const s = deliveryStats([
      d('2026-01-01T10:05:00Z', 'succeeded', 10),
      d('2026-01-01T10:30:00Z', 'succeeded', 30),
      d('2026-01-01T10:59:00Z', 'dead', 200),
      d('2026-01-01T12:00:00Z', 'pending', null),
    ]);
    expect(s).toMatchObject({ total: 4, succeeded: 2, dead: 1, pending: 1, p50: 30, p95: 200 });
    expect(s.successRate).toBeCloseTo(2 / 3);
    expect(s.buckets.map((b) => [new Date(b.start).toISOString(), b.succeeded, b.dead, b.pending])).toEqual([
      ['2026-01-01T10:00:00.000Z', 2, 1, 0],
      ['2026-01-01T11:00:00.000Z', 0, 0, 0],
      ['2026-01-01T12:00:00.000Z', 0, 0, 1],
    ]);
    expect(s.buckets[0]).toMatchObject({ p50: 30, p95: 200 });
  });

  it('is empty without deliveries, and uses days over long spans', () => {
    expect(deliveryStats([])).toMatchObject({ total: 0, successRate: null, p50: null, buckets: [] });
    const long = deliveryStats([d('2026-01-01T00:00:00Z', 'succeeded', 5), d('2026-01-10T00:00:00Z', 'succeeded', 5)]);
    expect(long.bucketMs).toBe(86_400_000);
    expect(long.buckets).toHaveLength(10);
  });
});
