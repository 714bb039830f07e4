import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRateLimiter, fullBucket, takeToken, type BucketSpec, type BucketState } from './rate-limit.js';

const spec = fc.record({ capacity: fc.integer({ min: 1, max: 50 }), refillPerSecond: fc.double({ min: 0.1, max: 100, noNaN: true }) });
/** Gaps between calls in ms (0: calls at the same instant). */
const gaps = fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 200 });

describe('token bucket (property)', () => {
  it('never hands out more than capacity + rate × elapsed tokens', () => {
    fc.assert(
      fc.property(spec, gaps, (s: BucketSpec, ds) => {
        const t0 = 1_700_000_000_000;
        let now = t0;
        let state: BucketState = fullBucket(s, now);
        let granted = 0;
        for (const d of ds) {
          now += d;
          const r = takeToken(state, s, now);
          state = r.state;
          if (r.ok) granted++;
          // 1e-9: floating-point slack of the refill arithmetic.
          expect(granted).toBeLessThanOrEqual(s.capacity + ((now - t0) / 1000) * s.refillPerSecond + 1e-9);
        }
      }),
    );
  });

  it('a refused call succeeds when retried after the wait it was given', () => {
    fc.assert(
      fc.property(spec, gaps, (s: BucketSpec, ds) => {
        let now = 1_700_000_000_000;
        let state: BucketState = fullBucket(s, now);
        for (const d of ds) {
          now += d;
          const r = takeToken(state, s, now);
          state = r.state;
          if (!r.ok) {
            now += r.waitMs;
            const again = takeToken(state, s, now);
            expect(again.ok).toBe(true);
            state = again.state;
          }
        }
      }),
      // Found by a CI run: refilling for exactly the wait handed out gave 0.9999999999 tokens.
      { examples: [[{ capacity: 1, refillPerSecond: 0.1 }, [0, 1787, 0]]] },
    );
  });

  it('every waiting caller gets its token in the end (work waits, it is not lost)', async () => {
    await fc.assert(
      fc.asyncProperty(spec, fc.integer({ min: 1, max: 60 }), async (s: BucketSpec, callers) => {
        let now = 1_700_000_000_000;
        const start = now;
        const limiter = createRateLimiter(s, {
          now: () => now,
          sleep: async (ms) => {
            now += ms;
          },
        });
        let done = 0;
        await Promise.all(Array.from({ length: callers }, () => limiter.take('orders.list').then(() => done++)));
        expect(done).toBe(callers);
        // The clock moved only as far as the bucket required: no caller was served early.
        const served = s.capacity + ((now - start) / 1000) * s.refillPerSecond + 1e-9;
        expect(callers).toBeLessThanOrEqual(served);
      }),
      { numRuns: 100 },
    );
  });
});
