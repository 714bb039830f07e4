import { DatongError } from '@datong/core';

/** Opaque cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number)[] | null {
  if (!cursor) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v as (string | number)[];
  } catch {
    // fall through
  }
  throw new DatongError('VALIDATION_FAILED', 'cursor is not valid; use nextCursor from the previous page');
}

export function iso(v: Date | string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return new Date(v).toISOString();
}

export function isoReq(v: Date | string): string {
  return new Date(v).toISOString();
}

/**
 * Keyset pagination over `(timestamp, id)` descending: adds the "after the cursor" condition
 * and the LIMIT parameter (one row more than the page, to know whether another page follows).
 * Returns the SQL for `ORDER BY … LIMIT`.
 */
export function keysetPage(params: unknown[], where: string[], cursor: string | undefined, limit: number, tsCol: string, idCol: string): string {
  const cur = decodeCursor(cursor, 2);
  if (cur) {
    params.push(cur[0], cur[1]);
    where.push(`(${tsCol}, ${idCol}) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(limit + 1);
  return `ORDER BY ${tsCol} DESC, ${idCol} DESC LIMIT $${params.length}`;
}

/** The page of rows `keysetPage` fetched, with the cursor of the next page (null on the last). */
export function toPage<R, T>(rows: readonly R[], limit: number, map: (r: R) => T, key: (r: R) => [Date | string, string]): { data: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  if (rows.length <= limit || last === undefined) return { data: page.map(map), nextCursor: null };
  const [ts, id] = key(last);
  return { data: page.map(map), nextCursor: encodeCursor([isoReq(ts), id]) };
}
