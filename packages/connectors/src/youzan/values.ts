/*
 * Value conversions for Youzan fields (pure). Money stays exact: amounts are decimal strings
 * handled as scaled BigInts, never floats. Youzan times are Beijing time (UTC+8) without an
 * offset, `yyyy-MM-dd HH:mm:ss`.
 */

interface Scaled {
  readonly units: bigint;
  readonly scale: number;
}

const DECIMAL = /^(-?)(\d{1,30})(?:\.(\d{1,12}))?$/;

function toScaled(value: unknown): Scaled | undefined {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e15) {
    // A JSON number's shortest round-trip form is the decimal the platform wrote (≤ 15 digits).
    text = String(value);
  } else return undefined;
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const fraction = m[3] ?? '';
  const units = BigInt(`${m[2]}${fraction}`) * (m[1] === '-' ? -1n : 1n);
  return { units, scale: fraction.length };
}

function rescale(a: Scaled, scale: number): bigint {
  return a.units * 10n ** BigInt(scale - a.scale);
}

function format({ units, scale }: Scaled): string {
  // At least 2 decimals (yuan and fen); more only when the platform sent non-zero digits there.
  let s = units;
  let sc = scale;
  while (sc > 2 && s % 10n === 0n) {
    s /= 10n;
    sc -= 1;
  }
  if (sc < 2) {
    s *= 10n ** BigInt(2 - sc);
    sc = 2;
  }
  const negative = s < 0n;
  const digits = (negative ? -s : s).toString().padStart(sc + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, digits.length - sc)}.${digits.slice(digits.length - sc)}`;
}

/**
 * A yuan amount as an exact decimal string with at least two decimals ("9.8" → "9.80").
 * Undefined for anything that is not a plain decimal.
 *
 * @example
 * yuan('0.01'); // '0.01'
 * yuan(12.5);   // '12.50'
 */
export function yuan(value: unknown): string | undefined {
  const s = toScaled(value);
  return s === undefined ? undefined : format(s);
}

/** Exact sum of decimal amounts; undefined when any is not a decimal. */
export function addAmounts(...values: readonly unknown[]): string | undefined {
  const parts = values.map(toScaled);
  if (parts.some((p) => p === undefined)) return undefined;
  const scaled = parts as Scaled[];
  const scale = Math.max(2, ...scaled.map((p) => p.scale));
  return format({ units: scaled.reduce((sum, p) => sum + rescale(p, scale), 0n), scale });
}

/** True when the decimal is > 0. */
export function isPositiveAmount(value: string): boolean {
  const s = toScaled(value);
  return s !== undefined && s.units > 0n;
}

const BEIJING = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** Epoch ms of a Youzan Beijing-time string; undefined for empty or malformed values. */
export function beijingMillis(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = BEIJING.exec(value.trim());
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1971 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(utc);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined; // 2 月 30 日
  return utc - BEIJING_OFFSET_MS;
}

/** ISO instant (UTC) of a Youzan Beijing-time string. */
export function beijingIso(value: unknown): string | undefined {
  const ms = beijingMillis(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Formats an instant as Youzan's Beijing time, `yyyy-MM-dd HH:mm:ss` (API query parameters). */
export function toBeijing(instant: Date | number): string {
  const d = new Date((typeof instant === 'number' ? instant : instant.getTime()) + BEIJING_OFFSET_MS);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** A Youzan id (string or integer) as a string; undefined for empty, 0 or non-integers. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const t = value.trim();
    return t === '' || t === '0' ? undefined : t;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value !== 0) return String(value);
  return undefined;
}

/** A non-empty trimmed string, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A small integer from a number or a digit string, or undefined. */
export function int(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

/**
 * A real, unmasked mainland or international phone as given by Youzan, normalized to what the
 * platform wrote minus spaces and dashes; undefined for masked (`138****5678`), encrypted or
 * otherwise unusable values. Identity rules normalize it to E.164 later.
 */
export function plainPhone(value: unknown): string | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  const compact = t.replace(/[\s-]/g, '');
  if (/^1[3-9]\d{9}$/.test(compact)) return compact;
  if (/^\+?86(1[3-9]\d{9})$/.test(compact)) return compact.startsWith('+') ? compact : `+${compact}`;
  if (/^\+[1-9]\d{6,14}$/.test(compact)) return compact;
  return undefined;
}

/** Exact `amount × n` for a decimal amount and a non-negative integer; undefined for non-decimals. */
export function multiplyAmount(amount: unknown, n: number): string | undefined {
  const s = toScaled(amount);
  if (s === undefined || !Number.isSafeInteger(n) || n < 0) return undefined;
  return format({ units: s.units * BigInt(n), scale: s.scale });
}
