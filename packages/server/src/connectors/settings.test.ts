import { describe, expect, it } from 'vitest';
import { lastScheduledAt, parseSettings } from './settings.js';

describe('parseSettings', () => {
  it('reports every problem at once, without echoing values', () => {
    try {
      parseSettings({ fallbackAfterMs: 5, reconcileDaily: '24:00', surprise: true }, { allowPrivateNetwork: false });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({
        code: 'CONNECTOR_SETTINGS_INVALID',
        extensions: {
          errors: [
            { pointer: '/settings/surprise', message: 'is not a known setting' },
            { pointer: '/settings/fallbackAfterMs', message: 'must be an integer from 10000 to 86400000 (ms)' },
            { pointer: '/settings/reconcileDaily', message: 'must be a time of day as "HH:MM" (24-hour), or null' },
          ],
        },
      });
    }
  });

  it('refuses an API base URL on a loopback or private address unless private networks are allowed', () => {
    // The base URL is where the connector sends its credentials: the same SSRF rule as webhooks.
    expect(() => parseSettings({ apiBaseUrl: 'http://127.0.0.1:8080' }, { allowPrivateNetwork: false })).toThrow(/apiBaseUrl/);
    expect(() => parseSettings({ apiBaseUrl: 'http://10.0.0.8/api' }, { allowPrivateNetwork: false })).toThrow(/apiBaseUrl/);
    expect(parseSettings({ apiBaseUrl: 'http://127.0.0.1:8080/' }, { allowPrivateNetwork: true })).toEqual({ apiBaseUrl: 'http://127.0.0.1:8080' });
    expect(parseSettings({ apiBaseUrl: 'https://open.example.com/api' }, { allowPrivateNetwork: false })).toEqual({ apiBaseUrl: 'https://open.example.com/api' });
  });

  it('accepts null to turn the daily reconciliation off', () => {
    expect(parseSettings({ reconcileDaily: null, timezone: 'Europe/Paris' }, { allowPrivateNetwork: false })).toEqual({ reconcileDaily: null, timezone: 'Europe/Paris' });
  });
});

describe('lastScheduledAt', () => {
  it("is today's run once the local time has passed, else yesterday's", () => {
    // 03:00 in Shanghai (UTC+8) is 19:00 UTC the day before.
    expect(lastScheduledAt(new Date('2026-03-01T19:00:00.000Z'), '03:00', 'Asia/Shanghai').toISOString()).toBe('2026-03-01T19:00:00.000Z');
    expect(lastScheduledAt(new Date('2026-03-01T18:59:59.000Z'), '03:00', 'Asia/Shanghai').toISOString()).toBe('2026-02-28T19:00:00.000Z');
    expect(lastScheduledAt(new Date('2026-03-02T10:00:00.000Z'), '23:30', 'UTC').toISOString()).toBe('2026-03-01T23:30:00.000Z');
  });

  it('follows daylight saving time', () => {
    // Paris: UTC+1 in winter, UTC+2 from 29 March 2026.
    expect(lastScheduledAt(new Date('2026-03-28T12:00:00.000Z'), '03:00', 'Europe/Paris').toISOString()).toBe('2026-03-28T02:00:00.000Z');
    expect(lastScheduledAt(new Date('2026-03-30T12:00:00.000Z'), '03:00', 'Europe/Paris').toISOString()).toBe('2026-03-30T01:00:00.000Z');
  });
});
