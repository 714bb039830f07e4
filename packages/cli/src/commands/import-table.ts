import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { DatongError, isDatongError } from '@datong/core';
import { tableImport as ti } from '@datong/server';
import { writeLine, type CliIo, type OutStream } from '../io.js';
import { formatBytes } from '../progress.js';

/** Options of `datong import <file.csv|file.xlsx>` (commander camel-cases the flags). */
export interface TableImportOptions {
  readonly type?: string;
  readonly mapping?: string;
  readonly dryRun?: boolean;
  readonly dryRunRows?: string;
  readonly resume?: boolean;
  readonly encoding?: string;
  readonly sheet?: string;
  readonly url?: string;
  readonly writeKey?: string;
  readonly concurrency?: string;
  readonly json?: boolean;
  /** Tests stop an import with this, as Ctrl-C does. */
  readonly signal?: AbortSignal;
}

export interface TableImportReport {
  readonly file: string;
  readonly type: ti.ImportType;
  readonly importId: string;
  readonly dryRun: boolean;
  /** Rows of the file read by this run (including the ones a resume skipped). */
  readonly rowsRead: number;
  readonly skipped: number;
  /** Rows imported: customers, or order lines. */
  readonly valid: number;
  /** Rows rejected (quarantined); a rejected order counts every line. */
  readonly invalid: number;
  readonly blank: number;
  /** Orders imports: orders made of the valid rows (one order may have several lines), and orders rejected whole. */
  readonly orders: number;
  readonly ordersRejected: number;
  /** Messages sent (or, in a dry run, that would be sent). */
  readonly sent: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly quarantined: number;
  readonly lastRow: number;
  readonly interrupted: boolean;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly peakRssBytes: number;
  readonly maxInFlightRows: number;
  readonly checkpointFile: string | null;
}

/** What `<file>.datong-import.json` holds between runs. */
interface Checkpoint {
  readonly version: 1;
  readonly file: string;
  readonly sha256: string;
  readonly type: ti.ImportType;
  readonly mappingFingerprint: string;
  readonly importId: string;
  readonly lastRow: number;
  readonly counts: Partial<ti.ImportCounts>;
  readonly done: boolean;
  readonly updatedAt: string;
}

const TABLE_EXTENSIONS = new Set(['.csv', '.tsv', '.txt', '.xlsx']);

/** True when `datong import <file>` should run a table import rather than the JSONL one. */
export function isTableImport(file: string, opts: { readonly type?: string | undefined }): boolean {
  return opts.type !== undefined || TABLE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

export function checkpointPath(file: string): string {
  return `${file}.datong-import.json`;
}

function positiveInt(raw: string | undefined, name: string, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new DatongError('VALIDATION_FAILED', `${name} must be an integer from 1 to ${max}`);
  return n;
}

async function readMapping(file: string): Promise<ti.ImportMappingSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new DatongError('MAPPING_INVALID', `Cannot read the mapping ${file}: ${(e as Error).message}`, { cause: e });
  }
  const { spec, problems } = ti.parseMappingSpec(raw);
  if (!spec) throw ti.mappingInvalid(problems);
  return spec;
}

async function readCheckpoint(file: string): Promise<Checkpoint | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Checkpoint;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DatongError('VALIDATION_FAILED', `The checkpoint ${file} cannot be read (${(e as Error).message}); delete it to start over`);
  }
}

async function writeCheckpoint(file: string, c: Checkpoint): Promise<void> {
  // Written beside and renamed over: a crash mid-write never leaves half a checkpoint.
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** Transient answers worth another try: the server restarting, overloaded or unreachable. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const MAX_ATTEMPTS = 8;

/**
 * POSTs JSON with the write key, retrying network failures and 408/429/5xx with exponential
 * backoff and jitter (0.5 s doubling up to 30 s, 8 attempts). Other answers fail at once
 * with the server's problem detail.
 */
async function postJson(url: string, writeKey: string, body: unknown, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  let lastError = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: payload });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as Record<string, unknown>;
      let problem: { code?: string; detail?: string; title?: string } = {};
      try {
        problem = JSON.parse(text) as typeof problem;
      } catch {
        // not a problem+json answer
      }
      lastError = `${res.status} ${problem.code ?? ''} ${problem.detail ?? problem.title ?? text.slice(0, 200)}`.trim();
      if (!retryable(res.status)) {
        if (res.status === 401) throw new DatongError('AUTH_WRITE_KEY_INVALID', `${url} refused the write key: ${lastError}`);
        throw new DatongError('VALIDATION_FAILED', `${url} answered ${lastError}`);
      }
    } catch (e) {
      if (isDatongError(e)) throw e;
      lastError = (e as Error).message;
    }
    if (attempt === MAX_ATTEMPTS || signal?.aborted) break;
    const wait = Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new DatongError('PLATFORM_UNREACHABLE', `${url} did not take the batch after ${MAX_ATTEMPTS} attempts (last: ${lastError}); run again with --resume`);
}

/** The HTTP sink: messages to /v1/batch, rejected rows to /v1/imports/{id}/rows, both with the source's write key. */
function httpSink(base: string, writeKey: string, importId: string, fileName: string, signal: AbortSignal | undefined): ti.ImportSink {
  const root = base.replace(/\/+$/, '');
  return {
    async send(unit) {
      let accepted = 0;
      let duplicates = 0;
      let quarantined = 0;
      if (unit.messages.length > 0) {
        const r = await postJson(`${root}/v1/batch`, writeKey, { batch: unit.messages }, signal);
        accepted = Number(r['accepted'] ?? 0);
        duplicates = Number(r['duplicates'] ?? 0);
      }
      // At most 500 rows a request (a rejected order of many lines may make a unit of more).
      for (let i = 0; i < unit.rejected.length; i += 500) {
        const rows = unit.rejected.slice(i, i + 500).map((r) => ({ row: r.row, problems: r.problems.slice(0, 100), messageId: r.messageId.slice(0, 200), message: r.message, data: r.data }));
        const r = await postJson(`${root}/v1/imports/${importId}/rows`, writeKey, { file: fileName.slice(0, 255), rows }, signal);
        quarantined += Number(r['quarantined'] ?? 0);
      }
      return { accepted, duplicates, quarantined };
    },
  };
}

interface RowProgress {
  update(bytes: number, rows: number): void;
  stop(): void;
}

/** Progress by bytes of the file read, with rows, rows/s and ETA: a bar on a terminal, a line per 10% elsewhere. */
function rowProgress(out: OutStream, label: string, total: number): RowProgress {
  const started = Date.now();
  const rate = (rows: number): number => Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));
  if (total <= 0) return { update: () => undefined, stop: () => undefined };
  if (out.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { stream: out, format: `${label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | eta {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rows: 0, rate: 0 });
    let last = 0;
    return {
      update(bytes, rows) {
        const now = Date.now();
        if (now - last < 200 && bytes < total) return;
        last = now;
        bar.update(Math.min(bytes, total), { rows, rate: rate(rows) });
      },
      stop: () => bar.stop(),
    };
  }
  let next = 10;
  return {
    update(bytes, rows) {
      const percent = Math.floor((Math.min(bytes, total) * 100) / total);
      if (percent < next) return;
      writeLine(out, `${label}: ${percent}% (${formatBytes(Math.min(bytes, total))} of ${formatBytes(total)}, ${rows} rows, ${rate(rows)} rows/s)`);
      next = Math.floor(percent / 10) * 10 + 10;
    },
    stop: () => undefined,
  };
}

/** The rows of a table, reporting its progress as they are read. */
async function* withProgress(t: ti.OpenedTable, progress: RowProgress): AsyncGenerator<ti.TableRow> {
  let n = 0;
  try {
    for await (const r of t.rows) {
      n++;
      if (n % 256 === 0) progress.update(t.bytesRead(), n);
      yield r;
    }
    progress.update(Number.MAX_SAFE_INTEGER, n);
  } finally {
    progress.stop();
  }
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * `datong import <file.csv|.xlsx> --type customers|orders`: reads the file as a stream, maps and
 * validates each row and sends the messages to a running Datong (`/v1/batch`, the source's
 * write key) in batches of 500 with a few requests in flight; rejected rows go to quarantine.
 * A checkpoint beside the file makes `--resume` continue after a crash or Ctrl-C.
 */
export async function runTableImport(io: CliIo, file: string, opts: TableImportOptions): Promise<TableImportReport> {
  const type = opts.type;
  if (type !== 'customers' && type !== 'orders') throw new DatongError('VALIDATION_FAILED', '--type must be customers or orders');
  const abs = path.resolve(file);
  let size: number;
  try {
    const s = await stat(abs);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch (e) {
    throw new DatongError('VALIDATION_FAILED', `Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const concurrency = positiveInt(opts.concurrency, '--concurrency', 4, 32);
  const givenMapping = opts.mapping !== undefined ? await readMapping(opts.mapping) : null;
  const sheet = opts.sheet === undefined ? undefined : /^\d+$/.test(opts.sheet) ? Number(opts.sheet) : opts.sheet;
  const readerOptions = (spec: ti.ImportMappingSpec | null): ti.TableOptions => {
    const enc = opts.encoding ?? spec?.encoding;
    const sh = sheet ?? spec?.sheet;
    return {
      ...(enc !== undefined ? { encoding: enc } : {}),
      ...(sh !== undefined ? { sheet: sh } : {}),
      ...(spec?.delimiter !== undefined ? { delimiter: spec.delimiter } : {}),
      ...(spec?.headerRow !== undefined ? { headerRow: spec.headerRow } : {}),
    };
  };
  const sha256 = await ti.fileSha256(abs);
  const table = await ti.openTable(abs, readerOptions(givenMapping));
  const spec = givenMapping ?? ti.guessedSpec(type, table.columns);
  let mapping: ti.CompiledImportMapping;
  try {
    mapping = ti.compileImportMapping(type, spec, table.columns);
  } catch (e) {
    table.close();
    if (givenMapping === null && isDatongError(e)) {
      throw new DatongError(
        'MAPPING_INVALID',
        `${e.detail ?? e.title}\nThe mapping was guessed from the headers (${table.columns.join(', ')}); write one and pass it with --mapping <file.json>.`,
        { cause: e, ...(e.extensions ? { extensions: e.extensions } : {}) },
      );
    }
    throw e;
  }
  const plan = ti.makePlan(mapping, sha256);
  const started = Date.now();
  // Orders: a first reading of the file finds the orders whose lines are not on consecutive rows
  // (the pipeline rejects them whole rather than import them without their late lines).
  const scanTable = type === 'orders' ? await ti.openTable(abs, readerOptions(givenMapping)) : null;
  const closeTables = (): void => {
    table.close();
    scanTable?.close();
  };

  if (opts.dryRun === true) {
    let r: ti.PipelineResult;
    try {
      const maxRows = opts.dryRunRows === undefined ? undefined : positiveInt(opts.dryRunRows, '--dry-run-rows', 1, Number.MAX_SAFE_INTEGER);
      r = await ti.runImportPipeline({
        rows: table.rows,
        ...(scanTable ? { scanRows: scanTable.rows } : {}),
        plan,
        sink: null,
        sampleRows: 20,
        keepErrors: 50,
        ...(maxRows !== undefined ? { maxRows } : {}),
      });
    } finally {
      closeTables();
    }
    const report = toReport(abs, type, plan.importId, true, r, started, null);
    if (opts.json === true) io.stdout.write(`${JSON.stringify({ ...report, mapping: spec, columns: table.columns, samples: r.samples, errors: r.errors })}\n`);
    else io.stdout.write(formatDryRun(abs, table, spec, givenMapping === null, mapping, r, report));
    return report;
  }

  const writeKey = opts.writeKey ?? io.env['DATONG_WRITE_KEY'];
  if (writeKey === undefined || writeKey === '') {
    closeTables();
    throw new DatongError('VALIDATION_FAILED', 'Pass the source write key with --write-key (or DATONG_WRITE_KEY); create a source with POST /v1/sources');
  }
  const url = opts.url ?? io.env['DATONG_URL'] ?? 'http://127.0.0.1:3000';
  const cpFile = checkpointPath(abs);
  const previous = await readCheckpoint(cpFile);
  let resumeAfterRow = 0;
  let initial: Partial<ti.ImportCounts> = {};
  if (opts.resume === true) {
    if (!previous) {
      closeTables();
      throw new DatongError('VALIDATION_FAILED', `No checkpoint ${cpFile}: there is nothing to resume (run without --resume)`);
    }
    if (previous.sha256 !== sha256) {
      closeTables();
      throw new DatongError('VALIDATION_FAILED', `${file} changed since the interrupted import (its sha256 differs from the checkpoint's); run without --resume to import it anew`);
    }
    if (previous.mappingFingerprint !== mapping.fingerprint || previous.type !== type) {
      closeTables();
      throw new DatongError('VALIDATION_FAILED', 'The interrupted import used another --type or mapping; resume with the same ones, or run without --resume');
    }
    resumeAfterRow = previous.lastRow;
    initial = previous.counts;
  } else if (previous && !previous.done) {
    writeLine(io.stderr, `Starting over; the checkpoint of an interrupted import of this file (row ${previous.lastRow}) is replaced. Use --resume to continue it instead.`);
  }

  const checkpoint = (lastRow: number, counts: Readonly<ti.ImportCounts>, done: boolean): Checkpoint => ({
    version: 1,
    file: abs,
    sha256,
    type,
    mappingFingerprint: mapping.fingerprint,
    importId: plan.importId,
    lastRow,
    counts: {
      valid: counts.valid,
      invalid: counts.invalid,
      blank: counts.blank,
      orders: counts.orders,
      ordersRejected: counts.ordersRejected,
      messages: counts.messages,
      accepted: counts.accepted,
      duplicates: counts.duplicates,
      quarantined: counts.quarantined,
    },
    done,
    updatedAt: new Date().toISOString(),
  });
  if (previous?.done === true && opts.resume === true) writeLine(io.stderr, `${file} was imported completely already (checkpoint ${cpFile}): nothing to send.`);

  const abort = new AbortController();
  const quit = (): never => process.exit(130);
  const onSigint = (): void => {
    writeLine(io.stderr, '\nStopping after the rows in flight are stored (Ctrl-C again to quit at once)…');
    abort.abort();
    process.once('SIGINT', quit);
  };
  process.once('SIGINT', onSigint);
  const stopFromTest = (): void => abort.abort();
  opts.signal?.addEventListener('abort', stopFromTest);
  const progress = rowProgress(io.stderr, `import ${path.basename(abs)}`, size);
  let lastWrite = 0;
  let result: ti.PipelineResult;
  try {
    result = await ti.runImportPipeline({
      rows: table.rows,
      ...(scanTable ? { scanRows: withProgress(scanTable, rowProgress(io.stderr, `check orders of ${path.basename(abs)}`, size)) } : {}),
      plan,
      sink: httpSink(url, writeKey, plan.importId, path.basename(abs), abort.signal),
      resumeAfterRow,
      initial,
      concurrency,
      signal: abort.signal,
      onProgress: (c) => progress.update(table.bytesRead(), c.rowsRead),
      onCheckpoint: async (row, counts) => {
        // At most twice a second: after a crash, at most that much is sent again (and then ignored as duplicates).
        if (Date.now() - lastWrite < 500) return;
        lastWrite = Date.now();
        await writeCheckpoint(cpFile, checkpoint(row, counts, false));
      },
    });
  } catch (e) {
    progress.stop();
    writeLine(io.stderr, `The import stopped; ${cpFile} holds where it got to: run again with --resume to continue.`);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGINT', quit);
    opts.signal?.removeEventListener('abort', stopFromTest);
    closeTables();
  }
  progress.update(size, result.counts.rowsRead);
  progress.stop();
  await writeCheckpoint(cpFile, checkpoint(result.counts.lastRow, result.counts, !result.interrupted));
  const report = toReport(abs, type, plan.importId, false, result, started, cpFile);
  if (opts.json === true) io.stdout.write(`${JSON.stringify(report)}\n`);
  else io.stdout.write(formatTableReport(report, url));
  if (!result.interrupted) await unlink(`${cpFile}.tmp`).catch(() => undefined);
  return report;
}

function toReport(file: string, type: ti.ImportType, importId: string, dryRun: boolean, r: ti.PipelineResult, started: number, checkpointFile: string | null): TableImportReport {
  const seconds = (Date.now() - started) / 1000;
  const c = r.counts;
  return {
    file,
    type,
    importId,
    dryRun,
    rowsRead: c.rowsRead,
    skipped: c.skipped,
    valid: c.valid,
    invalid: c.invalid,
    blank: c.blank,
    orders: c.orders,
    ordersRejected: c.ordersRejected,
    sent: c.messages,
    accepted: c.accepted,
    duplicates: c.duplicates,
    quarantined: c.quarantined,
    lastRow: c.lastRow,
    interrupted: r.interrupted,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round((c.rowsRead - c.skipped) / Math.max(seconds, 0.001)),
    peakRssBytes: peakRssBytes(),
    maxInFlightRows: c.maxInFlightRows,
    checkpointFile,
  };
}

const row = (label: string, n: number | string, note = ''): string => `  ${label.padEnd(12)}${String(n).padStart(10)}${note ? `  ${note}` : ''}`;

export function formatTableReport(r: TableImportReport, url: string): string {
  const lines = [
    `${r.interrupted ? 'Interrupted' : 'Imported'} ${r.file} (${r.type}) into ${url}, import ${r.importId}:`,
    row('rows read', r.rowsRead, r.skipped > 0 ? `${r.skipped} of them imported by an earlier run: skipped` : ''),
    row('valid', r.valid, `${r.type === 'orders' ? 'order lines; ' : ''}totals over every run of this file`),
    ...(r.type === 'orders' ? [row('orders', r.orders, `made of the valid lines${r.ordersRejected > 0 ? `; ${r.ordersRejected} more rejected whole (every line is invalid)` : ''}`)] : []),
    row('sent', r.sent, 'Segment messages'),
    row('accepted', r.accepted, 'stored in the inbox'),
    row('duplicates', r.duplicates, 'already stored (same messageId): ignored'),
    row('invalid', r.invalid, `quarantined with row number and reasons: ${r.quarantined} new (GET /v1/quarantine)`),
  ];
  if (r.blank > 0) lines.push(row('blank', r.blank, 'empty rows: skipped'));
  lines.push(row('time', `${r.seconds.toFixed(1)} s`, `${r.rowsPerSecond} rows/s`));
  lines.push(row('peak RSS', formatBytes(r.peakRssBytes)));
  if (r.interrupted) lines.push(`Stopped at row ${r.lastRow}; every row up to it is stored. Run the same command with --resume to continue.`);
  else lines.push("The server's workers turn the stored messages into customers and orders.");
  return `${lines.join('\n')}\n`;
}

function formatDryRun(
  file: string,
  table: ti.OpenedTable,
  spec: ti.ImportMappingSpec,
  guessed: boolean,
  mapping: ti.CompiledImportMapping,
  r: ti.PipelineResult,
  report: TableImportReport,
): string {
  const out: string[] = [];
  out.push(`Dry run of ${file} (${report.type}): nothing is sent.`);
  out.push(
    `Format ${table.format}${table.encoding ? `, encoding ${table.encoding.encoding} (${table.encoding.how})` : ''}${table.delimiter ? `, delimiter ${JSON.stringify(table.delimiter)}` : ''}, header at row ${table.headerRow}.`,
  );
  out.push(`Columns: ${table.columns.join(', ')}`);
  out.push(`Mapping${guessed ? ' (guessed from the headers; save it, edit it and pass it with --mapping)' : ''}:`);
  out.push(JSON.stringify(spec, null, 2));
  if (mapping.unmappedColumns.length > 0) out.push(`Not imported: ${mapping.unmappedColumns.join(', ')}`);
  out.push('', `First ${r.samples.length} row(s) as they would be sent:`);
  for (const s of r.samples) {
    if (s.blank) out.push(`row ${s.row}: blank, skipped`);
    else if (s.problems) out.push(`row ${s.row}: INVALID: ${s.problems.map((p) => p.message).join('; ')}`);
    else {
      const where = s.toRow !== undefined ? `rows ${s.row}-${s.toRow} (${s.lines ?? 0} lines)` : `row ${s.row}`;
      for (const m of s.messages ?? []) out.push(`${where}: ${JSON.stringify(m)}`);
    }
  }
  out.push('', `Errors (${r.counts.invalid} row(s)${r.truncated ? ` in the first ${r.counts.rowsRead} rows` : ''}${r.errors.length < r.counts.invalid ? `, first ${r.errors.length} shown` : ''}):`);
  for (const e of r.errors) out.push(`row ${e.row}: ${e.problems.map((p) => p.message).join('; ')}`);
  if (r.errors.length === 0) out.push('none');
  out.push(
    '',
    `${r.truncated ? `Checked the first ${r.counts.rowsRead} rows` : `Checked all ${r.counts.rowsRead} rows`}: ${
      report.type === 'orders' ? `${r.counts.valid} valid line(s) → ${r.counts.orders} order(s)` : `${r.counts.valid} valid`
    } → ${r.counts.messages} messages, ${r.counts.invalid} invalid (would be quarantined${
      report.type === 'orders' && r.counts.ordersRejected > 0 ? `; ${r.counts.ordersRejected} order(s) rejected whole` : ''
    }), ${r.counts.blank} blank.`,
  );
  return `${out.join('\n')}\n`;
}
