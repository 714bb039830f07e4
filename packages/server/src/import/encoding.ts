import iconv from 'iconv-lite';
import { DatongError } from '@datong/core';

export interface DetectedEncoding {
  /** An iconv-lite encoding name. */
  readonly encoding: string;
  /** How it was decided, for the dry run's report. */
  readonly how: 'bom' | 'valid-utf8' | 'not-utf8' | 'given';
}

/**
 * The text encoding of a CSV file from its first bytes: a byte-order mark decides; else text
 * that decodes as UTF-8 is UTF-8; else it is taken as GB18030, the superset of GBK and GB2312
 * that Chinese Excel and POS systems write (Excel's "CSV" in a Chinese Windows is GBK).
 */
export function detectEncoding(sample: Buffer): DetectedEncoding {
  if (sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf8', how: 'bom' };
  if (sample.length >= 2 && sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf16le', how: 'bom' };
  if (sample.length >= 2 && sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf16be', how: 'bom' };
  try {
    // `stream: true` leaves a multi-byte character cut at the end of the sample undecoded
    // instead of calling it invalid.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return { encoding: 'utf8', how: 'valid-utf8' };
  } catch {
    return { encoding: 'gb18030', how: 'not-utf8' };
  }
}

/** An encoding named by the user (`--encoding gbk`), checked; `auto` or nothing means detect. */
export function givenEncoding(name: string | undefined): DetectedEncoding | null {
  if (name === undefined || name === '' || name.toLowerCase() === 'auto') return null;
  if (!iconv.encodingExists(name)) {
    throw new DatongError('VALIDATION_FAILED', `Unknown encoding "${name}" (use utf8, gbk, gb18030, big5, utf16le… or auto)`);
  }
  // GBK files often hold a few GB18030-only characters (rare names); GB18030 reads both.
  const lower = name.toLowerCase();
  return { encoding: lower === 'gbk' || lower === 'gb2312' || lower === 'cp936' ? 'gb18030' : name, how: 'given' };
}

/** iconv-lite's union of encoding names; names given at run time are checked with encodingExists first. */
export type IconvEncoding = Parameters<typeof iconv.decodeStream>[0];

export function decodeStream(encoding: string): NodeJS.ReadWriteStream {
  // iconv-lite strips a leading BOM by default (stripBOM), so "\uFEFF" never reaches the header.
  return iconv.decodeStream(encoding as IconvEncoding);
}
