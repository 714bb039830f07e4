import { DatongError, isDatongError } from '@datong/core';
import type { Config } from '../config/schema.js';
import { validateWebhookUrl } from '../webhooks/index.js';

/**
 * Operational settings of an e-commerce connector (not credentials: stored in clear in
 * `connectors.settings`). Unset values fall back to the server configuration.
 */
export interface StoredSettings {
  readonly fallbackAfterMs?: number;
  readonly pollIntervalMs?: number;
  /** Daily reconciliation at this local time ("03:00"); null or absent: none. */
  readonly reconcileDaily?: string | null;
  /** IANA time zone of `reconcileDaily`. */
  readonly timezone?: string;
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Overrides the platform API's base URL (simulator, private gateway). */
  readonly apiBaseUrl?: string;
}

export interface EffectiveSettings {
  readonly fallbackAfterMs: number;
  readonly pollIntervalMs: number;
  readonly reconcileDaily: string | null;
  readonly timezone: string;
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly apiBaseUrl: string | null;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function intIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Validates settings from the API; reports every problem at once (CONNECTOR_SETTINGS_INVALID). */
export function parseSettings(raw: unknown, opts: { readonly allowPrivateNetwork: boolean }): StoredSettings {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new DatongError('CONNECTOR_SETTINGS_INVALID', 'settings must be an object');
  const r = raw as Record<string, unknown>;
  const problems: { pointer: string; message: string }[] = [];
  const out: { -readonly [K in keyof StoredSettings]: StoredSettings[K] } = {};
  const known = new Set(['fallbackAfterMs', 'pollIntervalMs', 'reconcileDaily', 'timezone', 'rateLimit', 'apiBaseUrl']);
  for (const k of Object.keys(r)) if (!known.has(k)) problems.push({ pointer: `/settings/${k}`, message: 'is not a known setting' });
  if (r['fallbackAfterMs'] !== undefined) {
    if (intIn(r['fallbackAfterMs'], 10_000, 86_400_000)) out.fallbackAfterMs = r['fallbackAfterMs'];
    else problems.push({ pointer: '/settings/fallbackAfterMs', message: 'must be an integer from 10000 to 86400000 (ms)' });
  }
  if (r['pollIntervalMs'] !== undefined) {
    if (intIn(r['pollIntervalMs'], 1_000, 3_600_000)) out.pollIntervalMs = r['pollIntervalMs'];
    else problems.push({ pointer: '/settings/pollIntervalMs', message: 'must be an integer from 1000 to 3600000 (ms)' });
  }
  if (r['reconcileDaily'] !== undefined) {
    const v = r['reconcileDaily'];
    if (v === null) out.reconcileDaily = null;
    else if (typeof v === 'string' && HHMM.test(v)) out.reconcileDaily = v;
    else problems.push({ pointer: '/settings/reconcileDaily', message: 'must be a time of day as "HH:MM" (24-hour), or null' });
  }
  if (r['timezone'] !== undefined) {
    if (typeof r['timezone'] === 'string' && isTimeZone(r['timezone'])) out.timezone = r['timezone'];
    else problems.push({ pointer: '/settings/timezone', message: 'must be an IANA time zone such as Asia/Shanghai' });
  }
  if (r['rateLimit'] !== undefined) {
    const rl = r['rateLimit'] as Record<string, unknown> | null;
    if (rl && typeof rl === 'object' && intIn(rl['perSecond'], 1, 1_000) && intIn(rl['burst'], 1, 10_000) && Object.keys(rl).length === 2) {
      out.rateLimit = { perSecond: rl['perSecond'], burst: rl['burst'] };
    } else problems.push({ pointer: '/settings/rateLimit', message: 'must be {perSecond: 1..1000, burst: 1..10000}' });
  }
  if (r['apiBaseUrl'] !== undefined) {
    try {
      if (typeof r['apiBaseUrl'] !== 'string') throw new DatongError('WEBHOOK_URL_INVALID', 'must be a string');
      const url = validateWebhookUrl(r['apiBaseUrl'], opts);
      if (url.search !== '' || url.hash !== '') throw new DatongError('WEBHOOK_URL_INVALID', 'must not have a query string or a fragment');
      out.apiBaseUrl = url.href.replace(/\/+$/, '');
    } catch (e) {
      if (!isDatongError(e)) throw e;
      problems.push({ pointer: '/settings/apiBaseUrl', message: (e.detail ?? e.title).replace(/^webhook URL /, '') });
    }
  }
  if (problems.length > 0) {
    throw new DatongError('CONNECTOR_SETTINGS_INVALID', problems.map((p) => `${p.pointer} ${p.message}`).join('; '), { extensions: { errors: problems } });
  }
  return out;
}

/** Stored settings read back from the database (already validated when written; unknown keys ignored). */
export function storedSettings(raw: unknown): StoredSettings {
  if (typeof raw !== 'object' || raw === null) return {};
  return raw as StoredSettings;
}

export function effectiveSettings(stored: StoredSettings, config: Config): EffectiveSettings {
  return {
    fallbackAfterMs: stored.fallbackAfterMs ?? config.connectors.fallbackAfterMs,
    pollIntervalMs: stored.pollIntervalMs ?? config.connectors.pollIntervalMs,
    reconcileDaily: stored.reconcileDaily ?? null,
    timezone: stored.timezone ?? config.connectors.timezone,
    rateLimit: stored.rateLimit ?? { perSecond: config.connectors.rateLimitPerSecond, burst: config.connectors.rateLimitBurst },
    apiBaseUrl: stored.apiBaseUrl ?? null,
  };
}

/** Offset of `tz` from UTC at instant `at`, in ms (positive east of Greenwich). */
function zoneOffsetMs(at: Date, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const n = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? '0');
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The latest instant at or before `now` when the local time in `tz` was `hhmm` (today's run if
 * it is past, else yesterday's). Uses the zone's offset at that day (DST-safe to the hour).
 */
export function lastScheduledAt(now: Date, hhmm: string, tz: string): Date {
  const m = HHMM.exec(hhmm);
  if (!m) throw new DatongError('CONNECTOR_SETTINGS_INVALID', `reconcileDaily "${hhmm}" is not HH:MM`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  const offset = zoneOffsetMs(now, tz);
  const local = new Date(now.getTime() + offset);
  const candidate = (dayShift: number): Date => {
    const utcGuess = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + dayShift, h, min) - offset;
    // Re-evaluate the offset at the candidate itself (a DST change between it and now).
    const off2 = zoneOffsetMs(new Date(utcGuess), tz);
    return new Date(utcGuess + offset - off2);
  };
  const today = candidate(0);
  return today.getTime() <= now.getTime() ? today : candidate(-1);
}
