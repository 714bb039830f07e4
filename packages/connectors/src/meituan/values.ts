import { formatMinorUnits, toMinorUnits } from '@datong/core';

/*
 * Meituan values as text → Datong values, exactly.
 *
 * Money: Meituan gives yuan with decimals ("25.5" in a form field, 25.5 in JSON). The raw text is
 * read by core's toMinorUnits (decimal.js, no binary floats) into integer fen, summed and
 * multiplied as bigint, and written back with formatMinorUnits ("25.50"). JSON numbers never
 * become JS numbers on the way: json.ts keeps their source text. Text with more than 2 decimals
 * is not an amount in fen and is refused (undefined), never rounded.
 *
 * Time: Meituan gives epoch seconds; Datong writes ISO 8601 in China time (+08:00), the zone the
 * merchant's back office shows.
 */

export const CURRENCY = 'CNY';

/** Yuan text → integer fen, or undefined when it is not an exact amount. */
export function fenOf(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  return toMinorUnits(text, CURRENCY);
}

/** Integer fen → "25.50". */
export function yuanText(fen: bigint): string {
  return formatMinorUnits(fen, CURRENCY);
}

/** Yuan text → canonical "25.50", or undefined. */
export function yuan(text: string | undefined): string | undefined {
  const fen = fenOf(text);
  return fen === undefined ? undefined : yuanText(fen);
}

const EPOCH_SECONDS = /^\d{1,12}$/;
const CHINA_OFFSET_MS = 8 * 3600 * 1000;
/** 9999-12-31T23:59:59+08:00: later times have no four-digit year. */
const MAX_SECONDS = 253_402_271_999;

/** Epoch seconds text → "2026-11-22T13:41:27+08:00", or undefined (also for 0, Meituan's "not set"). */
export function isoFromSeconds(text: string | undefined): string | undefined {
  if (text === undefined || !EPOCH_SECONDS.test(text)) return undefined;
  const seconds = Number(text);
  if (seconds <= 0 || seconds > MAX_SECONDS) return undefined;
  const shifted = new Date(seconds * 1000 + CHINA_OFFSET_MS).toISOString(); // …Z, shifted by +8h
  return `${shifted.slice(0, 19)}+08:00`;
}

/** The calendar day (China time) of an instant, as yyyyMMdd (the `date_time` of the day_seq APIs). */
export function chinaDay(at: Date): string {
  const shifted = new Date(at.getTime() + CHINA_OFFSET_MS).toISOString();
  return shifted.slice(0, 10).replaceAll('-', '');
}

/** The day after a yyyyMMdd day. */
export function nextChinaDay(day: string): string {
  const ms = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) + 86_400_000;
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** The day before a yyyyMMdd day. */
export function previousChinaDay(day: string): string {
  const ms = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) - 86_400_000;
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** A non-empty trimmed string, or undefined. */
export function present(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
