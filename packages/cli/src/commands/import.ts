import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { DatongError } from '@datong/core';
import { MAX_EVENT_BYTES, processInboxBatch, startDatong, storeInbox, type Datong, type Db } from '@datong/server';

import { commandLogger, loadCliConfig, withLockHint } from '../config.js';
import { CliExit, writeLine, type CliIo } from '../io.js';
import { createByteProgress } from '../progress.js';
import { isTableImport, runTableImport, type TableImportOptions } from './import-table.js';

export interface ImportOptions {
  readonly source: string;
  readonly tenant?: string;
  readonly batch?: string;
  readonly process?: boolean;
}

export interface ImportReport {
  readonly file: string;
  readonly sourceId: string;
  readonly tenantId: string;
  /** Every line read; lines = accepted + duplicates + invalid + blank. */
  readonly lines: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly blank: number;
  /** Messages without a messageId: storeInbox gives them a random one, so a re-import stores them again. */
  readonly withoutMessageId: number;
  /** Where invalid lines were written; null when there were none. */
  readonly rejectedFile: string | null;
  /** Set with --process: what draining the inbox did (all pending messages, not only this file's). */
  readonly processed: { readonly messages: number; readonly quarantined: number; readonly stalled: boolean } | null;
}

/**
 * Segment's per-event limit, which the HTTP ingest enforces too (server
 * routes/v1/ingest.routes.ts MAX_EVENT_BYTES):
 * https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size
 */
const MAX_BATCH = 5000;
const DRAIN_BATCH = 500;
/** Rounds in a row that claim messages but finish none, at batch size 1, before --process gives up. */
const MAX_FAILED_ROUNDS = 10;

export function parseBatchSize(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH) throw new DatongError('VALIDATION_FAILED', `--batch must be an integer from 1 to ${MAX_BATCH}`);
  return n;
}

async function fileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new DatongError('VALIDATION_FAILED', `${file} is not a file`);
    return s.size;
  } catch (e) {
    if (e instanceof DatongError) throw e;
    throw new DatongError('VALIDATION_FAILED', `Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

/** The tenant of a source; fails clearly when it does not exist, is ambiguous or is disabled. */
async function sourceTenant(db: Db, sourceId: string, tenant: string | undefined): Promise<string> {
  const r = tenant
    ? await db.query<{ tenant_id: string; disabled_at: Date | null }>('SELECT tenant_id, disabled_at FROM sources WHERE id = $1 AND tenant_id = $2', [sourceId, tenant])
    : await db.query<{ tenant_id: string; disabled_at: Date | null }>('SELECT tenant_id, disabled_at FROM sources WHERE id = $1', [sourceId]);
  const [first, ...others] = r.rows;
  if (!first) {
    throw new DatongError(
      'SOURCE_NOT_FOUND',
      `No source ${sourceId}${tenant ? ` in tenant ${tenant}` : ''}. Create one first (POST /v1/sources with an admin key) and pass its id (src_…) to --source.`,
    );
  }
  if (others.length > 0) {
    throw new DatongError('VALIDATION_FAILED', `Source ${sourceId} exists in several tenants (${r.rows.map((x) => x.tenant_id).join(', ')}); choose one with --tenant`);
  }
  if (first.disabled_at !== null) throw new DatongError('VALIDATION_FAILED', `Source ${sourceId} is disabled; its write key no longer works and it takes no new messages`);
  return first.tenant_id;
}

/** Invalid lines, with their line number and reason, written as JSONL next to the input. */
class RejectedLines {
  readonly path: string;
  count = 0;
  #stream: WriteStream | null = null;

  constructor(file: string) {
    this.path = `${file}.rejected.jsonl`;
  }

  async add(line: number, reason: string, raw: string): Promise<void> {
    // Opened on the first rejection: a clean import leaves no empty file behind.
    this.#stream ??= createWriteStream(this.path, { flags: 'w', mode: 0o600 });
    this.count++;
    if (!this.#stream.write(`${JSON.stringify({ line, reason, raw })}\n`)) await once(this.#stream, 'drain');
  }

  /** Closes the file; without rejections, removes one left by an earlier run of the same file, which no longer applies. */
  async close(): Promise<void> {
    if (this.#stream) {
      this.#stream.end();
      await finished(this.#stream);
      return;
    }
    await unlink(this.path).catch(() => undefined);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Processes every pending inbox message, as the workers would, until none is left. */
async function drainInbox(datong: Datong): Promise<{ messages: number; quarantined: number; stalled: boolean }> {
  let messages = 0;
  let quarantined = 0;
  let limit = DRAIN_BATCH;
  let failedRounds = 0;
  for (;;) {
    const r = await processInboxBatch(datong.deps, limit);
    if (r.claimed === 0) return { messages, quarantined, stalled: false };
    messages += r.processed;
    quarantined += r.quarantined;
    if (r.processed + r.quarantined > 0) {
      limit = DRAIN_BATCH;
      failedRounds = 0;
      continue;
    }
    // The whole batch failed (logged by the server as inbox.batch_failed). Only a message
    // that fails alone is quarantined, so narrow the batch down until the culprit is alone.
    if (limit > 1) limit = Math.max(1, Math.floor(limit / 2));
    else if (++failedRounds >= MAX_FAILED_ROUNDS) return { messages, quarantined, stalled: true };
  }
}

export async function runImport(io: CliIo, file: string, opts: ImportOptions): Promise<ImportReport> {
  const batchSize = parseBatchSize(opts.batch ?? '500');
  const abs = path.resolve(file);
  const size = await fileSize(abs);
  const loaded = loadCliConfig(io);
  const logger = commandLogger(loaded, io);
  let datong: Datong;
  try {
    datong = await startDatong({ config: loaded.config, logger, workers: false });
  } catch (e) {
    throw withLockHint(e, 'While the server runs, send the messages to its API instead (POST /v1/batch with the source write key).');
  }
  try {
    if (datong.generatedAdminKey !== null) {
      writeLine(io.stdout, `This database had no admin key yet; the bootstrap admin key is ${datong.generatedAdminKey}`);
      writeLine(io.stdout, 'Store it now, it will not be shown again.');
    }
    const { db, keyring, clock } = datong.deps;
    const tenantId = await sourceTenant(db, opts.source, opts.tenant);

    const rejected = new RejectedLines(abs);
    const counts = { lines: 0, accepted: 0, duplicates: 0, blank: 0, withoutMessageId: 0 };
    let batch: Record<string, unknown>[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const r = await storeInbox(db, keyring, tenantId, opts.source, batch, clock());
      counts.accepted += r.accepted;
      counts.duplicates += r.duplicates;
      batch = [];
    };
    const progress = createByteProgress(io.stderr, `import ${path.basename(abs)}`, size);
    let bytes = 0;
    try {
      const lines = createInterface({ input: createReadStream(abs), crlfDelay: Infinity });
      for await (const raw of lines) {
        counts.lines++;
        bytes += Buffer.byteLength(raw) + 1;
        progress.update(bytes, counts.lines);
        const text = counts.lines === 1 ? raw.replace(/^\uFEFF/, '') : raw;
        if (text.trim() === '') {
          counts.blank++;
          continue;
        }
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch (e) {
          await rejected.add(counts.lines, `invalid JSON: ${(e as Error).message}`, raw);
          continue;
        }
        if (!isPlainObject(message)) {
          await rejected.add(counts.lines, 'not a JSON object (each line must hold one Segment message)', raw);
          continue;
        }
        const eventBytes = Buffer.byteLength(text);
        if (eventBytes > MAX_EVENT_BYTES) {
          await rejected.add(counts.lines, `message is ${eventBytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes (32 KB)`, raw);
          continue;
        }
        if (typeof message['messageId'] !== 'string' || message['messageId'] === '') counts.withoutMessageId++;
        batch.push(message);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
    } finally {
      progress.stop();
      await rejected.close();
    }

    const processed = opts.process === true ? await drainInbox(datong) : null;
    const report: ImportReport = {
      file: abs,
      sourceId: opts.source,
      tenantId,
      ...counts,
      invalid: rejected.count,
      rejectedFile: rejected.count > 0 ? rejected.path : null,
      processed,
    };
    io.stdout.write(formatImportReport(report));
    return report;
  } finally {
    await datong.close();
  }
}

export function formatImportReport(r: ImportReport): string {
  const row = (label: string, n: number, note = ''): string => `  ${label.padEnd(12)}${String(n).padStart(9)}${note ? `  ${note}` : ''}`;
  const lines = [
    `Imported ${r.file} into source ${r.sourceId} (tenant ${r.tenantId}):`,
    row('lines', r.lines),
    row('accepted', r.accepted, 'stored in the inbox'),
    row('duplicates', r.duplicates, 'messageId already stored for this source: ignored'),
    row('invalid', r.invalid, r.rejectedFile ? `written with line number and reason to ${r.rejectedFile}` : ''),
  ];
  if (r.blank > 0) lines.push(row('blank', r.blank, 'empty lines: skipped'));
  if (r.withoutMessageId > 0) {
    lines.push(`${r.withoutMessageId} message(s) had no messageId and got a generated one: importing this file again would store them again.`);
  }
  if (r.processed === null) {
    lines.push(
      'The accepted messages wait in the inbox; the server\'s workers process them (`datong serve`, or `datong worker` with PostgreSQL). ' +
        'Run with --process to process them now.',
    );
  } else {
    lines.push(
      `Processed ${r.processed.messages} pending inbox message(s)${r.processed.quarantined > 0 ? `, quarantined ${r.processed.quarantined} (see GET /v1/quarantine)` : ''}. ` +
        'Webhooks for the changes are sent by the server\'s workers.',
    );
    if (r.processed.stalled) lines.push('Stopped early: a message keeps failing to process (see the inbox.batch_failed log lines); the workers will retry it.');
  }
  return `${lines.join('\n')}\n`;
}

export function registerImport(program: Command, io: CliIo): void {
  program
    .command('import')
    .description(
      'import a CSV or XLSX file of customers or orders into a running Datong (--type, --write-key), ' +
        'or store a JSONL file of Segment messages in the inbox of a source (--source)',
    )
    .argument(
      '<file>',
      'CSV/XLSX file (a header row, then one customer a row, or one order or order line a row: consecutive rows with the same order id are one order), ' +
        'or JSONL, one Segment message a line',
    )
    .option('--type <type>', 'CSV/XLSX: customers or orders')
    .option('--mapping <file.json>', 'CSV/XLSX: column mapping (default: guessed from the headers; see --dry-run)')
    .option('--dry-run', 'CSV/XLSX: print the mapping, the first 20 rows as they would be sent and every error; send nothing')
    .option('--dry-run-rows <n>', 'CSV/XLSX: with --dry-run, check only the first n rows')
    .option('--resume', 'CSV/XLSX: continue an interrupted import from <file>.datong-import.json')
    .option('--encoding <name>', 'CSV: text encoding (auto: UTF-8 with or without BOM, else GB18030/GBK; or utf8, gbk, big5…)')
    .option('--sheet <name|n>', 'XLSX: the sheet (default the first)')
    .option('--url <url>', 'CSV/XLSX: the Datong server (default DATONG_URL or http://127.0.0.1:3000)')
    .option('--write-key <key>', 'CSV/XLSX: write key of the source the rows come from (default DATONG_WRITE_KEY)')
    .option('--concurrency <n>', 'CSV/XLSX: batches in flight at once', '4')
    .option('--json', 'CSV/XLSX: print the report as JSON')
    .option('--source <sourceId>', 'JSONL: source the messages come from (src_…)')
    .option('--tenant <id>', "JSONL: tenant of the source (default: looked up from the source)")
    .option('--batch <n>', 'JSONL: messages stored per statement', '500')
    .option('--process', 'JSONL: also process the inbox now instead of leaving it to the workers')
    .action(async (file: string, opts: ImportOptions & TableImportOptions) => {
      if (isTableImport(file, opts)) {
        const report = await runTableImport(io, file, opts);
        if (report.interrupted) throw new CliExit(130);
        return;
      }
      if (opts.source === undefined) throw new DatongError('VALIDATION_FAILED', '--source is required for a JSONL import (for CSV or XLSX, pass --type customers|orders)');
      await runImport(io, file, { ...opts, source: opts.source });
    });
}
