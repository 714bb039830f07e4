import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RETRY_JITTER_RATIO, nextRetryDelay } from './retry-schedule.js';

const delay = fc.integer({ min: 0, max: 30 * 86_400_000 });
const schedules = fc.array(delay, { maxLength: 12 });
const nonEmptySchedules = fc.array(delay, { minLength: 1, maxLength: 12 });
const unitInterval = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('nextRetryDelay (properties)', () => {
  it('returns a delay within ±20% of the scheduled one for every retry the schedule has', () => {
    fc.assert(
      fc.property(nonEmptySchedules, fc.nat(), unitInterval, (schedule, n, r) => {
        const attemptsSoFar = (n % schedule.length) + 1;
        const base = schedule[attemptsSoFar - 1] ?? Number.NaN;
        const delay = nextRetryDelay(schedule, attemptsSoFar, () => r);
        expect(delay).not.toBeNull();
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - RETRY_JITTER_RATIO)));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * (1 + RETRY_JITTER_RATIO)));
      }),
    );
  });

  it('returns null exactly once schedule.length retries have failed after the first attempt', () => {
    fc.assert(
      fc.property(schedules, fc.integer({ min: 1, max: 40 }), unitInterval, (schedule, attemptsSoFar, r) => {
        const retriesFailed = attemptsSoFar - 1;
        const delay = nextRetryDelay(schedule, attemptsSoFar, () => r);
        expect(delay === null).toBe(retriesFailed >= schedule.length);
      }),
    );
  });

  it('depends only on its arguments', () => {
    fc.assert(
      fc.property(schedules, fc.integer({ min: 1, max: 15 }), unitInterval, (schedule, attemptsSoFar, r) => {
        expect(nextRetryDelay(schedule, attemptsSoFar, () => r)).toBe(nextRetryDelay(schedule, attemptsSoFar, () => r));
      }),
    );
  });
});
