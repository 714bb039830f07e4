import { formatMinorUnits, isCurrencyCode, ORDER_STATUSES, toMinorUnits, type OrderStatus } from '@datong/core';
import type { Cell } from './types.js';

/** A parsed value, or why the cell cannot be read as one (the reason never repeats the value). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** True for a cell that holds nothing (blank, or only spaces). */
export function isBlank(cell: unknown): boolean {
  return cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '');
}

/**
 * A cell as text: trimmed strings, integers without exponent, dates as ISO 8601. Numbers past
 * 2^53 are refused: Excel keeps 15 significant digits, so a long id typed into a number cell
 * has already lost its last digits.
 */
export function cellText(cell: unknown): Parsed<string | undefined> {
  if (isBlank(cell)) return ok(undefined);
  if (typeof cell === 'string') return ok(cell.trim());
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return bad('is not a finite number');
    if (Number.isInteger(cell) && !Number.isSafeInteger(cell)) {
      return bad('is a number too long for a spreadsheet to keep exactly (format the column as text and export again)');
    }
    return ok(String(cell));
  }
  if (typeof cell === 'boolean') return ok(cell ? 'true' : 'false');
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? bad('is not a valid date') : ok(cell.toISOString());
  return bad('is not a text value');
}

/** `+08:00`, `-05:30`, `Z`, `UTC` → minutes east of UTC. */
export function parseUtcOffset(raw: string): number | undefined {
  const s = raw.trim();
  if (s === 'Z' || s.toUpperCase() === 'UTC') return 0;
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(s);
  if (!m) return undefined;
  const h = Number(m[2]);
  const min = Number(m[3] ?? '0');
  if (h > 14 || min > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + min);
}

/** Days from 1899-12-30 (Excel's day 0 once its 1900 leap-year bug is accounted for) to 1970-01-01. */
const EXCEL_EPOCH_DAYS = 25569;
/** 9999-12-31, the largest date Excel shows. */
const EXCEL_MAX_SERIAL = 2958465;

function wallClock(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMinutes: number): Parsed<Date> {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return bad('is not a valid date');
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(t);
  // 2026-02-30 rolls over into March in Date.UTC: refuse it instead.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return bad('is not a valid date');
  return ok(new Date(t - offsetMinutes * 60_000));
}

const DATE_TEXT =
  /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:(?:\s+|T|\s*日\s*)(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A date and time from a cell. Accepts what Chinese POS systems and Excel export:
 * `2026/11/01 10:00`, `2026-11-01 10:00:00`, `2026.11.1`, `2026年11月1日 10:00`, `20261101`,
 * ISO 8601 with an offset, Unix seconds (10 digits) or milliseconds (13 digits), Excel serial
 * day numbers (`46327.4166…`, also as text) and the dates an XLSX reader gives. Times without
 * an offset are wall-clock times at `offsetMinutes` (the import's time zone, default +08:00).
 */
export function parseDateCell(cell: Cell, offsetMinutes: number): Parsed<Date | undefined> {
  if (isBlank(cell)) return ok(undefined);
  if (cell instanceof Date) {
    // XLSX readers turn a date cell's serial number into a Date whose UTC fields are the
    // wall-clock time written in the sheet; the sheet itself has no time zone.
    if (Number.isNaN(cell.getTime())) return bad('is not a valid date');
    return ok(new Date(cell.getTime() - offsetMinutes * 60_000));
  }
  if (typeof cell === 'number') return excelSerialOrEpoch(cell, String(cell), offsetMinutes);
  if (typeof cell !== 'string') return bad('is not a date');
  const s = cell.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    if (/^\d{8}$/.test(s)) return wallClock(Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8)), 0, 0, 0, 0, offsetMinutes);
    return excelSerialOrEpoch(Number(s), s, offsetMinutes);
  }
  const m = DATE_TEXT.exec(s);
  if (m) {
    const zone = m[8];
    const offset = zone !== undefined ? parseUtcOffset(zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone) : offsetMinutes;
    if (offset === undefined) return bad('has an unknown time zone offset');
    const frac = m[7] ?? '0';
    return wallClock(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? '0'), Number(m[5] ?? '0'), Number(m[6] ?? '0'), Number(frac.padEnd(3, '0').slice(0, 3)), offset);
  }
  // Anything else that carries its own offset, as ISO 8601 / RFC 3339 (2026-11-01T10:00:00+08:00).
  if (/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/i.test(s)) {
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return ok(new Date(t));
  }
  return bad('is not a date (write it as 2026-11-01 10:00, 2026/11/01 10:00 or an ISO 8601 time)');
}

function excelSerialOrEpoch(n: number, text: string, offsetMinutes: number): Parsed<Date> {
  if (!Number.isFinite(n) || n <= 0) return bad('is not a date');
  const intDigits = text.split('.')[0]?.length ?? 0;
  if (intDigits === 10 && Number.isInteger(n)) return ok(new Date(n * 1000));
  if (intDigits === 13 && Number.isInteger(n)) return ok(new Date(n));
  if (n > EXCEL_MAX_SERIAL) return bad('is not a date');
  const wall = Math.round((n - EXCEL_EPOCH_DAYS) * 86_400_000);
  return ok(new Date(wall - offsetMinutes * 60_000));
}

/**
 * An amount as an exact decimal string in the currency's minor unit ("1299.00"). Accepts
 * `1,299.00`, `¥1299`, `1299元` and numbers from a spreadsheet (read through their shortest
 * decimal form, so 19.99 stays 19.99; a float like 0.30000000000000004 is refused).
 */
export function parseMoney(cell: Cell, currency: string, allowNegative = false): Parsed<string | undefined> {
  if (isBlank(cell)) return ok(undefined);
  if (!isCurrencyCode(currency)) return bad('has no valid ISO 4217 currency');
  let raw: string | number;
  if (typeof cell === 'number') raw = cell;
  else if (typeof cell === 'string') {
    raw = cell
      .trim()
      .replace(/^(?:RMB|CNY)\s*/i, '')
      .replace(/^[¥￥$]\s*/, '')
      .replace(/\s*元$/, '')
      .replace(/(\d),(?=\d{3}(?:\D|$))/g, '$1');
  } else return bad('is not an amount');
  const minor = toMinorUnits(raw, currency);
  if (minor === undefined) return bad(`is not an exact amount in ${currency} (at most ${currency === 'JPY' ? 0 : 2} decimals, digits only)`);
  if (minor < 0n && !allowNegative) return bad('is negative');
  return ok(formatMinorUnits(minor, currency));
}

/** A whole, non-negative quantity. */
export function parseQuantity(cell: Cell): Parsed<number | undefined> {
  if (isBlank(cell)) return ok(undefined);
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && /^\s*\d+(\.0+)?\s*$/.test(cell) ? Number(cell) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) return bad('is not a whole number of items');
  return ok(n);
}

/** Status words of Chinese and English POS / shop exports, in lower case without spaces. */
const STATUS_WORDS: Readonly<Record<string, OrderStatus>> = {
  created: 'created', new: 'created', pending: 'created', unpaid: 'created', 待付款: 'created', 待支付: 'created', 已下单: 'created', 未付款: 'created', 下单: 'created',
  paid: 'paid', 已付款: 'paid', 已支付: 'paid', 待发货: 'paid', 付款成功: 'paid', 支付成功: 'paid',
  shipped: 'shipped', 已发货: 'shipped', 待收货: 'shipped', 配送中: 'shipped',
  completed: 'completed', complete: 'completed', done: 'completed', success: 'completed', finished: 'completed', fulfilled: 'completed',
  已完成: 'completed', 完成: 'completed', 交易成功: 'completed', 已签收: 'completed', 已收货: 'completed', 已结账: 'completed', 已结算: 'completed',
  cancelled: 'cancelled', canceled: 'cancelled', 已取消: 'cancelled', 取消: 'cancelled', 已作废: 'cancelled', 作废: 'cancelled',
  closed: 'closed', 已关闭: 'closed', 交易关闭: 'closed', 关闭: 'closed',
};

/** An order status from a status cell, with extra words from the mapping (`statuses`). */
export function parseStatus(cell: Cell, extra: Readonly<Record<string, string>> = {}): Parsed<OrderStatus | undefined> {
  const t = cellText(cell);
  if (!t.ok) return t;
  if (t.value === undefined) return ok(undefined);
  const key = t.value.toLowerCase().replace(/\s+/g, '');
  const mapped = extra[t.value] ?? extra[key] ?? STATUS_WORDS[key];
  if (mapped === undefined || !(ORDER_STATUSES as readonly string[]).includes(mapped)) {
    return bad(`is not an order status Datong knows (${ORDER_STATUSES.join(', ')}, 已完成, 已取消…); map it with "statuses" in the mapping`);
  }
  return ok(mapped as OrderStatus);
}
