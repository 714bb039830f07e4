import { DatongError } from '@datong/core';
import { describe, expect, it } from 'vitest';
import { resolveWindow } from './monitor.js';

const NOW = new Date('2024-05-10T12:00:00.000Z');
const hoursBefore = (h: number): string => new Date(NOW.getTime() - h * 3_600_000).toISOString();

describe('resolveWindow', () => {
  it('defaults to the 24 hours before now, in UTC', () => {
    expect(resolveWindow({}, NOW)).toEqual({ from: new Date('2024-05-09T12:00:00.000Z'), to: NOW, bucket: 'hour', tz: 'UTC' });
  });

  it('picks minute buckets up to 6 hours, hour buckets up to 7 days, day buckets beyond', () => {
    expect(resolveWindow({ from: hoursBefore(6) }, NOW).bucket).toBe('minute');
    expect(resolveWindow({ from: hoursBefore(6.01) }, NOW).bucket).toBe('hour');
    expect(resolveWindow({ from: hoursBefore(7 * 24) }, NOW).bucket).toBe('hour');
    expect(resolveWindow({ from: hoursBefore(7 * 24 + 1) }, NOW).bucket).toBe('day');
  });

  it('keeps an explicit bucket and time zone', () => {
    expect(resolveWindow({ from: hoursBefore(48), bucket: 'day', tz: 'Asia/Shanghai' }, NOW)).toMatchObject({ bucket: 'day', tz: 'Asia/Shanghai' });
  });

  it('refuses what it cannot answer with MONITOR_WINDOW_INVALID', () => {
    const code = (q: Parameters<typeof resolveWindow>[0]): string | null => {
      try {
        resolveWindow(q, NOW);
        return null;
      } catch (e) {
        return e instanceof DatongError ? e.code : 'other';
      }
    };
    expect(code({ from: NOW.toISOString() })).toBe('MONITOR_WINDOW_INVALID');
    expect(code({ from: hoursBefore(31 * 24 + 0.001) })).toBe('MONITOR_WINDOW_INVALID');
    expect(code({ from: hoursBefore(25), bucket: 'minute' })).toBe('MONITOR_WINDOW_INVALID');
    expect(code({ tz: 'Nowhere/Land' })).toBe('MONITOR_WINDOW_INVALID');
    expect(code({ to: 'not a date' })).toBe('MONITOR_WINDOW_INVALID');
    expect(code({ from: hoursBefore(31 * 24) })).toBeNull();
  });
});
