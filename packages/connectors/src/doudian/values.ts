/*
 * Small, exact value conversions shared by verify.ts and normalize.ts. No floats touch money or
 * ids: fen are integers (or digit strings) and become yuan by moving the decimal point.
 */

/** A record view of an unknown value, or undefined when it is not a plain object. */
export function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * An id as a decimal string: digit strings as given (leading zeros kept), safe non-negative
 * integers printed exactly, anything else (floats, rounded numbers, empty) undefined.
 */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return /^\d{1,40}$/.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n) return value.toString();
  return undefined;
}

/** An id that is present and not the platform's "none" value 0. */
export function nonZeroIdOf(value: unknown): string | undefined {
  const id = idOf(value);
  return id === undefined || /^0+$/.test(id) ? undefined : id;
}

/** A non-negative integer count of fen, from a number or a digit string. */
export function fenOf(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return BigInt(value);
  return undefined;
}

/** Fen to a yuan decimal string with two places: 12850 → "128.50". Exact. */
export function yuanOfFen(fen: bigint): string {
  const whole = fen / 100n;
  const cents = fen % 100n;
  return `${whole.toString()}.${cents.toString().padStart(2, '0')}`;
}

/** Unix seconds (number or digit string), positive, or undefined. */
export function secondsOf(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n < 1e11 ? n : undefined;
}

const CST_OFFSET_MS = 8 * 3600 * 1000;

/** Unix seconds → ISO 8601 in China Standard Time, the platform's own clock: "2024-05-01T12:00:00+08:00". */
export function isoOfSeconds(seconds: number): string {
  const shifted = new Date(seconds * 1000 + CST_OFFSET_MS).toISOString(); // "…Z" in CST wall time
  return `${shifted.slice(0, 19)}+08:00`;
}

/**
 * A platform time (seconds, or "yyyy-MM-dd HH:mm:ss" in China time, or ISO with offset) → ISO
 * with +08:00, or undefined.
 */
export function isoOfPlatformTime(value: unknown): string | undefined {
  const seconds = secondsOf(value);
  if (seconds !== undefined) return isoOfSeconds(seconds);
  if (typeof value !== 'string') return undefined;
  const local = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (local !== null) {
    const ms = Date.parse(`${local[1]}-${local[2]}-${local[3]}T${local[4]}:${local[5]}:${local[6]}+08:00`);
    return Number.isNaN(ms) ? undefined : isoOfSeconds(Math.floor(ms / 1000));
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : isoOfSeconds(Math.floor(ms / 1000));
  }
  return undefined;
}

/** A non-empty string, trimmed, or undefined. */
export function textOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A safe integer (number or digit string), or undefined. */
export function intOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}
