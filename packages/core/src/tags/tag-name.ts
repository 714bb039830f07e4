import { DatongError } from '../errors/datong-error.js';

export const MAX_TAG_LENGTH = 64;

/** Canonical tag name (C6): NFC, trimmed, inner whitespace collapsed, no control characters. */
export function canonicalTagName(raw: unknown): string {
  if (typeof raw !== 'string') throw new DatongError('TAG_INVALID', 'tag must be a string');
  const s = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
  if (s.length === 0) throw new DatongError('TAG_INVALID', 'tag is empty');
  if ([...s].length > MAX_TAG_LENGTH) throw new DatongError('TAG_INVALID', `tag is longer than ${MAX_TAG_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new DatongError('TAG_INVALID', 'tag contains control characters');
  return s;
}
