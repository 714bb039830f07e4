import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import { isDatongError } from '@datong/core';
import type { Queryable } from '../db/client.js';
import type { ServerDeps } from '../usecases/context.js';
import { storeInbox } from '../usecases/ingest.js';
import { compileImportMapping, guessedSpec, type ImportMappingSpec } from './mapping.js';
import { runImportPipeline, type ImportCounts, type ImportSink, type PipelineResult } from './pipeline.js';
import { quarantineRejectedRows } from './quarantine.js';
import { makePlan } from './records.js';
import { openTable, type OpenedTable } from './table.js';
import type { ImportFormat, ImportType } from './types.js';

export type ImportStatus = 'uploaded' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface ImportRow {
  tenant_id: string;
  id: string;
  source_id: string;
  type: ImportType;
  format: ImportFormat;
  file_name: string;
  file_path: string | null;
  file_host: string;
  file_bytes: string | number;
  file_sha256: string;
  columns: string[];
  mapping: ImportMappingSpec | null;
  status: ImportStatus;
  checkpoint_row: number;
  counts: Partial<ImportCounts>;
  bytes_read: string | number;
  error: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  lease_owner: string | null;
  lease_until: Date | null;
}

/** How long a worker owns a running import without renewing its lease (renewed every unit and every LEASE_MS / 3). */
export const IMPORT_LEASE_MS = 60_000;

/** The counts kept in imports.counts (cumulative over resumes). */
function storedCounts(c: Readonly<ImportCounts>): Record<string, number> {
  return {
    valid: c.valid,
    invalid: c.invalid,
    blank: c.blank,
    orders: c.orders,
    ordersRejected: c.ordersRejected,
    messages: c.messages,
    accepted: c.accepted,
    duplicates: c.duplicates,
    quarantined: c.quarantined,
  };
}

export function thisHost(): string {
  return os.hostname();
}

/**
 * Takes the oldest runnable import whose file is on this host: queued, or running with an
 * expired lease (its worker stopped or crashed). SKIP LOCKED lets several workers share them.
 */
export async function claimImport(q: Queryable, owner: string, now: Date, host = thisHost()): Promise<ImportRow | null> {
  const r = await q.query<ImportRow>(
    `UPDATE imports SET status = 'running', lease_owner = $1, lease_until = $2, started_at = COALESCE(started_at, $3), updated_at = $3
     WHERE (tenant_id, id) = (
       SELECT tenant_id, id FROM imports
       WHERE status IN ('queued', 'running') AND file_host = $4 AND (lease_until IS NULL OR lease_until < $3)
       ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [owner, new Date(now.getTime() + IMPORT_LEASE_MS).toISOString(), now.toISOString(), host],
  );
  return r.rows[0] ?? null;
}

/** The lease was lost (the import was cancelled, or another worker took it over after a stall). */
class LeaseLost extends Error {}

/** Opens an import's file with the reader options of its mapping. */
export async function openImportFile(path: string, format: ImportFormat, spec: ImportMappingSpec | null, encoding?: string): Promise<OpenedTable> {
  const enc = encoding ?? spec?.encoding;
  return openTable(path, {
    format,
    ...(enc !== undefined ? { encoding: enc } : {}),
    ...(spec?.delimiter !== undefined ? { delimiter: spec.delimiter } : {}),
    ...(spec?.headerRow !== undefined ? { headerRow: spec.headerRow } : {}),
    ...(spec?.sheet !== undefined ? { sheet: spec.sheet } : {}),
  });
}

/**
 * Runs one claimed import from its checkpoint to the end (or until `signal`). Each unit of rows
 * is stored in one transaction with the checkpoint and counts, so whatever happens, a restart
 * continues after the last stored unit and never stores a row twice.
 */
export async function runImport(deps: ServerDeps, imp: ImportRow, owner: string, signal?: AbortSignal): Promise<PipelineResult | null> {
  const { db, keyring, clock, logger } = deps;
  const log = logger.child({ importId: imp.id, tenantId: imp.tenant_id });
  const finish = async (status: ImportStatus, fields: { error?: string; counts?: ImportCounts; bytesRead?: number }): Promise<void> => {
    await db.query(
      `UPDATE imports SET status = $3, error = $4, counts = COALESCE($5::jsonb, counts), checkpoint_row = COALESCE($6, checkpoint_row),
              bytes_read = COALESCE($7, bytes_read), finished_at = $8, updated_at = $8, lease_owner = NULL, lease_until = NULL,
              file_path = CASE WHEN $3 = 'failed' THEN file_path ELSE NULL END
       WHERE tenant_id = $1 AND id = $2 AND lease_owner = $9`,
      [
        imp.tenant_id,
        imp.id,
        status,
        fields.error ?? null,
        fields.counts ? JSON.stringify(storedCounts(fields.counts)) : null,
        fields.counts?.lastRow ?? null,
        fields.bytesRead ?? null,
        clock().toISOString(),
        owner,
      ],
    );
  };
  if (!imp.file_path) {
    await finish('failed', { error: 'The uploaded file is gone' });
    return null;
  }
  let table: OpenedTable | null = null;
  let scanTable: OpenedTable | null = null;
  const renew = setInterval(() => {
    db.query('UPDATE imports SET lease_until = $4 WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3', [
      imp.tenant_id,
      imp.id,
      owner,
      new Date(clock().getTime() + IMPORT_LEASE_MS).toISOString(),
    ]).catch((err: unknown) => log.warn({ err, event: 'import.lease_renew_failed' }, 'import lease renewal failed'));
  }, IMPORT_LEASE_MS / 3);
  renew.unref();
  try {
    table = await openImportFile(imp.file_path, imp.format, imp.mapping);
    const mapping = compileImportMapping(imp.type, imp.mapping ?? guessedSpec(imp.type, table.columns), table.columns);
    const plan = makePlan(mapping, imp.file_sha256, imp.id);
    const opened = table;
    const counts: ImportCounts = {
      rowsRead: 0,
      skipped: 0,
      valid: imp.counts.valid ?? 0,
      invalid: imp.counts.invalid ?? 0,
      blank: imp.counts.blank ?? 0,
      orders: imp.counts.orders ?? 0,
      ordersRejected: imp.counts.ordersRejected ?? 0,
      messages: imp.counts.messages ?? 0,
      accepted: imp.counts.accepted ?? 0,
      duplicates: imp.counts.duplicates ?? 0,
      quarantined: imp.counts.quarantined ?? 0,
      lastRow: imp.checkpoint_row,
      maxInFlightRows: 0,
    };
    const sink: ImportSink = {
      async send(unit) {
        const now = clock();
        const ack = await db.tx(async (q) => {
          const stored = await storeInbox(q, keyring, imp.tenant_id, imp.source_id, unit.messages, now);
          const qr = await quarantineRejectedRows(q, keyring, imp.tenant_id, imp.source_id, { id: imp.id, file: imp.file_name }, unit.rejected, now);
          counts.valid += unit.valid;
          counts.blank += unit.blank;
          counts.invalid += unit.rejected.length;
          counts.orders += unit.orders;
          counts.ordersRejected += unit.ordersRejected;
          counts.messages += unit.messages.length;
          counts.accepted += stored.accepted;
          counts.duplicates += stored.duplicates;
          counts.quarantined += qr.quarantined;
          const r = await q.query(
            `UPDATE imports SET checkpoint_row = $4, counts = $5::jsonb, bytes_read = $6, lease_until = $7, updated_at = $8
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND status = 'running'`,
            [imp.tenant_id, imp.id, owner, unit.toRow, JSON.stringify(storedCounts(counts)), opened.bytesRead(), new Date(now.getTime() + IMPORT_LEASE_MS).toISOString(), now.toISOString()],
          );
          if (r.affectedRows !== 1) throw new LeaseLost('the import was cancelled or taken over');
          return { accepted: stored.accepted, duplicates: stored.duplicates, quarantined: qr.quarantined };
        });
        if (unit.messages.length > 0) deps.kick();
        return ack;
      },
    };
    // Orders: a first reading finds the orders whose lines are not together (pipeline.ts).
    if (imp.type === 'orders') scanTable = await openImportFile(imp.file_path, imp.format, imp.mapping);
    const result = await runImportPipeline({
      rows: table.rows,
      ...(scanTable ? { scanRows: scanTable.rows } : {}),
      plan,
      sink,
      resumeAfterRow: imp.checkpoint_row,
      initial: imp.counts,
      // One unit at a time: its transaction moves the checkpoint exactly.
      concurrency: 1,
      ...(signal ? { signal } : {}),
    });
    if (result.interrupted) {
      // Shutting down: leave it running with no lease, so the next start resumes it at once.
      await db.query('UPDATE imports SET lease_owner = NULL, lease_until = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3', [
        imp.tenant_id,
        imp.id,
        owner,
        clock().toISOString(),
      ]);
      log.info({ event: 'import.interrupted', lastRow: result.counts.lastRow }, 'import interrupted; it resumes at the next start');
      return result;
    }
    await finish('done', { counts: result.counts, bytesRead: Number(imp.file_bytes) });
    await unlink(imp.file_path).catch(() => undefined);
    log.info({ event: 'import.done', counts: storedCounts(result.counts) }, 'import done');
    return result;
  } catch (err) {
    if (err instanceof LeaseLost) {
      log.info({ event: 'import.lease_lost' }, 'import stopped: cancelled or taken over');
      return null;
    }
    if (isDatongError(err) && !err.transient) {
      await finish('failed', { error: err.detail ?? err.title });
      log.warn({ event: 'import.failed', code: err.code }, 'import failed');
      return null;
    }
    // Transient (database unreachable…): release it to be retried from its checkpoint.
    await db
      .query('UPDATE imports SET lease_owner = NULL, lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3', [imp.tenant_id, imp.id, owner])
      .catch(() => undefined);
    throw err;
  } finally {
    clearInterval(renew);
    table?.close();
    scanTable?.close();
  }
}

/** Runs claimable imports one after another until none is left (tests; the worker loop). */
export async function runPendingImports(deps: ServerDeps, owner: string, signal?: AbortSignal): Promise<number> {
  let n = 0;
  while (!signal?.aborted) {
    const imp = await claimImport(deps.db, owner, deps.clock());
    if (!imp) return n;
    n++;
    await runImport(deps, imp, owner, signal);
  }
  return n;
}

/**
 * The import loop of a server or worker process: waits for queued imports (woken by `kick`,
 * else every `pollMs`), runs them, and on stop interrupts the running one at a unit boundary.
 */
export class ImportWorker {
  readonly #deps: ServerDeps;
  readonly #pollMs: number;
  readonly #owner = `${thisHost()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #abort = new AbortController();
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(deps: ServerDeps, pollMs = 2_000) {
    this.#deps = deps;
    this.#pollMs = pollMs;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  kick = (): void => {
    this.#wake?.();
  };

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await runPendingImports(this.#deps, this.#owner, signal);
        failures = 0;
      } catch (err) {
        failures++;
        this.#deps.logger.warn({ err, event: 'worker.imports_failed', attempt: failures }, 'import worker step failed');
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
        const timer = setTimeout(done, failures > 0 ? Math.min(30_000, this.#pollMs * 2 ** failures) : this.#pollMs);
        this.#wake = done;
      });
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
  }
}

