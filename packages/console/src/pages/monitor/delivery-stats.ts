import { percentile } from '../../components/format';
import type { WebhookDelivery } from '../../api/types';

export interface Bucket {
  start: number;
  succeeded: number;
  dead: number;
  pending: number;
  p50: number | null;
  p95: number | null;
}

export interface DeliveryStats {
  total: number;
  succeeded: number;
  dead: number;
  pending: number;
  /** Of the finished deliveries (succeeded or dead); null when none finished. */
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  bucketMs: number;
  buckets: Bucket[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Volume, success and latency per hour (or per day over longer spans) from the listed deliveries. */
export function deliveryStats(list: readonly WebhookDelivery[]): DeliveryStats {
  const latencies = list.map((d) => d.latencyMs).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  const succeeded = list.filter((d) => d.status === 'succeeded').length;
  const dead = list.filter((d) => d.status === 'dead').length;
  const pending = list.length - succeeded - dead;
  const times = list.map((d) => Date.parse(d.createdAt));
  const min = times.length > 0 ? Math.min(...times) : 0;
  const max = times.length > 0 ? Math.max(...times) : 0;
  const bucketMs = max - min > 3 * DAY ? DAY : HOUR;
  const buckets = new Map<number, { b: Bucket; lat: number[] }>();
  if (times.length > 0) {
    for (let s = Math.floor(min / bucketMs) * bucketMs; s <= max; s += bucketMs) {
      buckets.set(s, { b: { start: s, succeeded: 0, dead: 0, pending: 0, p50: null, p95: null }, lat: [] });
    }
  }
  list.forEach((d, i) => {
    const s = Math.floor((times[i] ?? 0) / bucketMs) * bucketMs;
    const e = buckets.get(s);
    if (!e) return;
    if (d.status === 'succeeded') e.b.succeeded++;
    else if (d.status === 'dead') e.b.dead++;
    else e.b.pending++;
    if (typeof d.latencyMs === 'number') e.lat.push(d.latencyMs);
  });
  const out = [...buckets.values()].map(({ b, lat }) => {
    lat.sort((a, c) => a - c);
    return { ...b, p50: percentile(lat, 50), p95: percentile(lat, 95) };
  });
  return {
    total: list.length,
    succeeded,
    dead,
    pending,
    successRate: succeeded + dead > 0 ? succeeded / (succeeded + dead) : null,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    bucketMs,
    buckets: out,
  };
}
