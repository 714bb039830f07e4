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
