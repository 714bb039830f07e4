import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { DatongError } from '@datong/core';
import { decodeStream, detectEncoding, givenEncoding, type DetectedEncoding, type IconvEncoding } from './encoding.js';
import type { Cell, ImportFormat, TableRow } from './types.js';

/** A table opened for reading: its columns, then its data rows, pulled one at a time. */
export interface OpenedTable {
  readonly format: ImportFormat;
  readonly columns: readonly string[];
  /** CSV only: the encoding used and how it was chosen. */
  readonly encoding: DetectedEncoding | null;
  /** CSV only: the delimiter used. */
  readonly delimiter: string | null;
  /** The header's row number. */
  readonly headerRow: number;
  /** Data rows after the header, in order. Iterate once. */
  readonly rows: AsyncIterable<TableRow>;
  /** Bytes of the file read so far (for progress; the file is read ahead a little). */
  bytesRead(): number;
  /** Stops reading and releases the file. */
  close(): void;
}

export interface TableOptions {
  readonly format?: ImportFormat;
  readonly encoding?: string;
  readonly delimiter?: string;
  readonly headerRow?: number;
  readonly sheet?: string | number;
}

const SAMPLE_BYTES = 64 * 1024;
/** Read-ahead of the file stream: small, so that a paused import holds little of the file. */
const HIGH_WATER_MARK = 64 * 1024;

async function readSample(file: string, bytes = SAMPLE_BYTES): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** CSV or XLSX by content: an XLSX file is a ZIP archive ("PK\3\4"); an old .xls is refused. */
export async function detectFormat(file: string): Promise<ImportFormat> {
  const head = await readSample(file, 8);
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'xlsx';
  if (head.length >= 4 && head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0) {
    throw new DatongError('IMPORT_FILE_INVALID', 'This is an old Excel .xls file: save it as .xlsx (or CSV) and import that');
  }
  return 'csv';
}

/** sha256 of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

class Counter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Column names: trimmed; blank ones become `column_<n>`; repeated ones get `_2`, `_3`. */
export function columnNames(header: readonly unknown[]): string[] {
  const seen = new Map<string, number>();
  return header.map((h, i) => {
    let name = (h instanceof Date ? h.toISOString() : h === null || h === undefined ? '' : String(h)).replace(/^\uFEFF/, '').trim();
    if (name === '') name = `column_${i + 1}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

/** The delimiter of a header line: the most frequent of , tab ; | outside quotes (default ,). */
export function guessDelimiter(firstLine: string): string {
  const counts = new Map<string, number>([[',', 0], ['\t', 0], [';', 0], ['|', 0]]);
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  let max = 0;
  for (const [d, n] of counts) {
    if (n > max) {
      best = d;
      max = n;
    }
  }
  return best;
}

/** Opens a CSV or XLSX file as a table (format by content unless given). */
export async function openTable(file: string, opts: TableOptions = {}): Promise<OpenedTable> {
  const format = opts.format ?? (await detectFormat(file));
  return format === 'xlsx' ? openXlsx(file, opts) : openCsv(file, opts);
}

export async function openCsv(file: string, opts: TableOptions = {}): Promise<OpenedTable> {
  const sample = await readSample(file);
  const encoding = givenEncoding(opts.encoding) ?? detectEncoding(sample);
  let delimiter = opts.delimiter;
  if (delimiter === undefined) {
    const text = iconv.decode(sample, encoding.encoding as IconvEncoding);
    delimiter = guessDelimiter(text.split(/\r?\n/, 1)[0] ?? '');
  }
  const headerRow = opts.headerRow ?? 1;
  const input = createReadStream(file, { highWaterMark: HIGH_WATER_MARK });
  const counter = new Counter();
  const parser = parse({
    delimiter,
    relax_column_count: true,
    // A stray quote inside an unquoted field ("12" screen) is kept as text rather than ending the import.
    relax_quotes: true,
    skip_empty_lines: false,
  });
  input.pipe(counter).pipe(decodeStream(encoding.encoding)).pipe(parser);
  const fail = (e: unknown): void => void parser.destroy(e instanceof Error ? e : new Error(String(e)));
  input.on('error', fail);
  const iterator = (parser as AsyncIterable<string[]>)[Symbol.asyncIterator]();
  let n = 0;
  let header: string[] | null = null;
  try {
    while (header === null) {
      const next = await iterator.next();
      if (next.done) break;
      n++;
      if (n === headerRow) header = columnNames(next.value);
    }
  } catch (e) {
    input.destroy();
    throw csvError(e);
  }
  if (header === null) {
    input.destroy();
    throw new DatongError('IMPORT_FILE_INVALID', `The file has no header row${headerRow > 1 ? ` at row ${headerRow}` : ''}`);
  }
  const columns = header;
  async function* rows(): AsyncGenerator<TableRow> {
    try {
      for (;;) {
        let next: IteratorResult<string[]>;
        try {
          next = await iterator.next();
        } catch (e) {
          throw csvError(e);
        }
        if (next.done) return;
        n++;
        const values: Record<string, Cell> = {};
        const cells = next.value;
        for (let i = 0; i < columns.length; i++) values[columns[i] ?? ''] = cells[i] ?? null;
        // Cells past the last header usually mean a delimiter inside an unquoted field: the
        // row is kept whole (under `column_<n>`) and rejected, never silently cut.
        let extraCells = 0;
        for (let i = columns.length; i < cells.length; i++) {
          if ((cells[i] ?? '') === '') continue;
          values[`column_${i + 1}`] = cells[i] ?? null;
          extraCells++;
        }
        yield extraCells > 0 ? { row: n, values, extraCells } : { row: n, values };
      }
    } finally {
      input.destroy();
    }
  }
  return {
    format: 'csv',
    columns,
    encoding,
    delimiter,
    headerRow,
    rows: rows(),
    bytesRead: () => counter.bytes,
    close: () => {
      input.destroy();
      parser.destroy();
    },
  };
}

function csvError(e: unknown): DatongError {
  const err = e as { message?: string; code?: string; lines?: number };
  return new DatongError('IMPORT_FILE_INVALID', `The CSV cannot be read${err.lines ? ` near line ${err.lines}` : ''}: ${err.message ?? String(e)}`, { cause: e });
}

/** A cell of an XLSX sheet as a plain value: rich text joined, formulas as their cached result, links as their text. */
export function xlsxCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v;
  if (typeof v === 'object') {
    const o = v as { richText?: { text: string }[]; result?: unknown; formula?: string; sharedFormula?: string; text?: unknown; error?: string };
    if (Array.isArray(o.richText)) return o.richText.map((r) => r.text).join('');
    if ('result' in o || o.formula !== undefined || o.sharedFormula !== undefined) return xlsxCell(o.result);
    if (typeof o.text === 'string') return o.text;
    if (o.text !== undefined) return xlsxCell(o.text);
    if (typeof o.error === 'string') return o.error;
  }
  return String(v);
}

function rowCells(row: ExcelJS.Row): Cell[] {
  const values = row.values as unknown[];
  const out: Cell[] = [];
  // `values` is 1-based and sparse.
  for (let i = 1; i < values.length; i++) out.push(xlsxCell(values[i]));
  return out;
}

export async function openXlsx(file: string, opts: TableOptions = {}): Promise<OpenedTable> {
  const input = createReadStream(file, { highWaterMark: HIGH_WATER_MARK });
  const counter = new Counter();
  input.pipe(counter);
  // Streaming reader: one row at a time. Shared strings are cached (an Excel file keeps every
  // distinct text once, in a table rows point into); styles too, so date cells become Dates.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(counter as unknown as Readable, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const sheets = reader[Symbol.asyncIterator]();
  let sheetIndex = 0;
  let sheet: ExcelJS.stream.xlsx.WorksheetReader | null = null;
  try {
    for (;;) {
      const next = await sheets.next();
      if (next.done) break;
      sheetIndex++;
      const ws = next.value as ExcelJS.stream.xlsx.WorksheetReader & { name?: string };
      const wanted = opts.sheet ?? 1;
      if ((typeof wanted === 'number' && wanted === sheetIndex) || (typeof wanted === 'string' && ws.name === wanted)) {
        sheet = ws;
        break;
      }
      // Skip a sheet that is not the one asked for: its rows must still be read through.
      for await (const _row of ws) void _row;
    }
  } catch (e) {
    input.destroy();
    throw new DatongError('IMPORT_FILE_INVALID', `The XLSX file cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (!sheet) {
    input.destroy();
    throw new DatongError('IMPORT_FILE_INVALID', `The workbook has no sheet ${JSON.stringify(opts.sheet ?? 1)}`);
  }
  const rowIter = (sheet as unknown as AsyncIterable<ExcelJS.Row>)[Symbol.asyncIterator]();
  let header: string[] | null = null;
  let headerRow = 0;
  const read = async (): Promise<IteratorResult<ExcelJS.Row>> => {
    try {
      return await rowIter.next();
    } catch (e) {
      throw new DatongError('IMPORT_FILE_INVALID', `The XLSX file cannot be read: ${(e as Error).message}`, { cause: e });
    }
  };
  while (header === null) {
    const next = await read();
    if (next.done) break;
    const cells = rowCells(next.value);
    const wantedRow = opts.headerRow;
    if (wantedRow !== undefined ? next.value.number === wantedRow : cells.some((c) => c !== null && String(c).trim() !== '')) {
      header = columnNames(cells);
      headerRow = next.value.number;
    }
  }
  if (header === null) {
    input.destroy();
    throw new DatongError('IMPORT_FILE_INVALID', 'The sheet has no header row');
  }
  const columns = header;
  async function* rows(): AsyncGenerator<TableRow> {
    try {
      for (;;) {
        const next = await read();
        if (next.done) return;
        const cells = rowCells(next.value);
        const values: Record<string, Cell> = {};
        for (let i = 0; i < columns.length; i++) values[columns[i] ?? ''] = cells[i] ?? null;
        for (let i = columns.length; i < cells.length; i++) if (cells[i] !== null) values[`column_${i + 1}`] = cells[i] ?? null;
        yield { row: next.value.number, values };
      }
    } finally {
      input.destroy();
    }
  }
  return {
    format: 'xlsx',
    columns,
    encoding: null,
    delimiter: null,
    headerRow,
    rows: rows(),
    bytesRead: () => counter.bytes,
    close: () => input.destroy(),
  };
}
