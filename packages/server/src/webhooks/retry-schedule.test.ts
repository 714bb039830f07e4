import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { DEFAULT_RETRY_SCHEDULE, nextRetryDelay, parseRetrySchedule } from './retry-schedule.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

function configError(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  throw new Error('expected a DatongError');
}

describe('parseRetrySchedule', () => {
  it('parses the default schedule into milliseconds', () => {
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H]);
  });

  it('makes the default schedule span 17 h 35 min 5 s, as the Standard Webhooks example does to its 7th attempt', () => {
    const total = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE).reduce((a, b) => a + b, 0);
    expect(total).toBe(17 * H + 35 * M + 5 * S);
  });

  it('accepts every unit, spaces around items and between number and unit, and decimals', () => {
    expect(parseRetrySchedule(' 250ms , 1.5s,2 m,1h ,1d ')).toEqual([250, 1_500, 2 * M, H, 24 * H]);
  });

  it('accepts a single item', () => {
    expect(parseRetrySchedule('30s')).toEqual([30 * S]);
  });

  it.each(['', '   '])('rejects an empty schedule %j with CONFIG_INVALID', (text) => {
    const e = configError(() => parseRetrySchedule(text));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.detail).toContain('empty');
  });

  it.each([
    ['a number without a unit', '5,5m', 'item 1 "5"'],
    ['an unknown unit', '5s,3w', 'item 2 "3w"'],
    ['a negative number', '-5s', 'item 1 "-5s"'],
    ['an empty item', '5s,,5m', 'item 2 ""'],
    ['a trailing comma', '5s,5m,', 'item 3 ""'],
    ['an upper-case unit', '5S', 'item 1 "5S"'],
    ['a number too large to be exact', '99999999999999999d', 'item 1'],
  ])('rejects %s with CONFIG_INVALID naming the item', (_case, text, named) => {
    const e = configError(() => parseRetrySchedule(text));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.detail).toContain(named);
  });

  it('names every bad item at once, so one edit fixes the config', () => {
    const e = configError(() => parseRetrySchedule('5x,5m,abc'));
    expect(e.detail).toContain('item 1 "5x"');
    expect(e.detail).toContain('item 3 "abc"');
  });
});

describe('nextRetryDelay', () => {
  const schedule = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE);

  it('waits the first delay after the first, immediate attempt fails', () => {
    expect(nextRetryDelay(schedule, 1, () => 0.5)).toBe(5 * S);
  });

  it('moves the delay by at most 20% either way', () => {
    expect(nextRetryDelay(schedule, 2, () => 0)).toBe(4 * M);
    expect(nextRetryDelay(schedule, 2, () => 0.999_999_999)).toBe(6 * M);
  });

  it('gives up after the initial attempt and one retry per schedule item', () => {
    expect(nextRetryDelay(schedule, schedule.length, () => 0.5)).toBe(10 * H);
    expect(nextRetryDelay(schedule, schedule.length + 1, () => 0.5)).toBeNull();
  });

  it('keeps the delay inside the jitter band when the random source misbehaves', () => {
    expect(nextRetryDelay([1_000], 1, () => Number.NaN)).toBe(800);
    expect(nextRetryDelay([1_000], 1, () => 7)).toBe(1_200);
  });

  it.each([0, -1, 1.5])('rejects attemptsSoFar = %d: at least one attempt has failed before a retry', (n) => {
    expect(() => nextRetryDelay(schedule, n, () => 0.5)).toThrow(DatongError);
  });
});
