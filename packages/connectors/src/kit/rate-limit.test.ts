import { describe, expect, it } from 'vitest';
import { blockBucket, createRateLimiter, fullBucket, refill, takeToken } from './rate-limit.js';

const SPEC = { capacity: 2, refillPerSecond: 1 };

describe('token bucket', () => {
  it('hands out the burst at once, then one token per refill interval', () => {
    let s = fullBucket(SPEC, 0);
    const a = takeToken(s, SPEC, 0);
    expect(a.ok).toBe(true);
    s = a.state;
    const b = takeToken(s, SPEC, 0);
    expect(b.ok).toBe(true);
    s = b.state;
    const c = takeToken(s, SPEC, 0);
    expect(c).toMatchObject({ ok: false, waitMs: 1000 });
    expect(takeToken(c.state, SPEC, 999).ok).toBe(false);
    expect(takeToken(c.state, SPEC, 1000).ok).toBe(true);
  });

  it('never fills above its capacity however long it idles', () => {
    expect(refill({ tokens: 0, at: 0, blockedUntil: 0 }, SPEC, 3_600_000).tokens).toBe(2);
  });

  it('refuses every token while the platform asked to back off', () => {
    const s = blockBucket(fullBucket(SPEC, 0), SPEC, 0, 5_000);
    expect(takeToken(s, SPEC, 4_999)).toMatchObject({ ok: false, waitMs: 1 });
    // Five seconds of refill accrued meanwhile, capped at capacity.
    expect(takeToken(s, SPEC, 5_000).ok).toBe(true);
  });

  it('keeps one bucket per API, so a busy API does not starve another', async () => {
    let now = 0;
    const slept: number[] = [];
    const limiter = createRateLimiter(SPEC, {
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    await limiter.take('orders.list');
    await limiter.take('orders.list');
    expect(limiter.available('orders.list')).toBe(0);
    expect(limiter.available('orders.get')).toBe(2);
    await limiter.take('orders.get');
    expect(slept).toEqual([]);
    await limiter.take('orders.list');
    expect(slept).toEqual([1000]);
    limiter.block('orders.get', 30_000);
    expect(limiter.available('orders.get')).toBe(0);
  });

  it('rejects a bucket that could never hand out a token', () => {
    expect(() => createRateLimiter({ capacity: 0, refillPerSecond: 1 }, { now: () => 0, sleep: async () => undefined })).toThrow(RangeError);
  });
});
