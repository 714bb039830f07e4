import { RecordBuilder, scanOrders, type ImportRecord, type OrderScan } from './orders.js';
import type { ImportPlan } from './records.js';
import type { RejectedRow, SampleRow, SegmentMessage, TableRow } from './types.js';

/**
 * A contiguous range of rows, sent as one request (or one transaction): the messages of its
 * valid rows and its rejected rows. Units are acknowledged out of order when several are in
 * flight; the checkpoint only moves past a unit once every unit before it is acknowledged.
 * A unit holds whole records: the lines of an order are never split between two units, so a
 * checkpoint never falls inside an order.
 */
export interface ImportUnit {
  readonly seq: number;
  readonly fromRow: number;
  readonly toRow: number;
  /** Data rows in the range: valid + rejected + blank. */
  readonly rows: number;
  readonly valid: number;
  readonly blank: number;
  /** Orders imported and rejected (order imports). */
  readonly orders: number;
  readonly ordersRejected: number;
  readonly messages: readonly SegmentMessage[];
  readonly rejected: readonly RejectedRow[];
}

export interface UnitAck {
  readonly accepted: number;
  readonly duplicates: number;
  readonly quarantined: number;
}

/** Where units go: /v1/batch over HTTP (CLI), the inbox and quarantine tables (server). */
export interface ImportSink {
  /**
   * Resolves once the unit is stored; rejects when it cannot be (after the sink's own retries).
   * Called for every unit, also one of blank rows only (a sink may skip the request then).
   */
  send(unit: ImportUnit): Promise<UnitAck>;
}

export interface ImportCounts {
  /** Rows of the file read by this run, including those skipped by a resume. */
  rowsRead: number;
  /** Rows at or before the resume point, not sent again. */
  skipped: number;
  /** Rows imported: customers, or order lines. */
  valid: number;
  /** Rows rejected (quarantined): with an order, every line of the order. */
  invalid: number;
  blank: number;
  /** Order imports: orders made of the valid rows, and orders rejected whole. */
  orders: number;
  ordersRejected: number;
  /** Messages built (and sent, unless a dry run). */
  messages: number;
  accepted: number;
  duplicates: number;
  quarantined: number;
  /** The checkpoint: every row up to this one is acknowledged. */
  lastRow: number;
  /** Most rows read and not yet acknowledged at any moment (bounded by (concurrency + 1) × batch). */
  maxInFlightRows: number;
}

export interface PipelineOptions {
  readonly rows: AsyncIterable<TableRow>;
  /**
   * Order imports: a second, independent reading of the same rows, read first to find the orders
   * whose lines are not on consecutive rows; every line of such an order is then rejected.
   * Without it, only the lines that come back after other rows are rejected (the order was
   * imported without them by then).
   */
  readonly scanRows?: AsyncIterable<TableRow>;
  readonly plan: ImportPlan;
  /** null: dry run, nothing is sent. */
  readonly sink: ImportSink | null;
  /** Rows up to this number were acknowledged by an earlier run: read past, not sent. */
  readonly resumeAfterRow?: number;
  /** Counts of the earlier run (valid, invalid, … accepted): the new counts continue from them. */
  readonly initial?: Partial<ImportCounts>;
  /** Messages per unit (Segment's batch: 500 messages or 500 KB). */
  readonly batchMessages?: number;
  readonly batchBytes?: number;
  /** Units in flight at once. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Stop after this many data rows (a preview of a large file). */
  readonly maxRows?: number;
  /** How many first rows to keep as samples (default 20). */
  readonly sampleRows?: number;
  /** How many rejected rows to keep in the result (default 100; all are counted and sent). */
  readonly keepErrors?: number;
  readonly onProgress?: (counts: Readonly<ImportCounts>) => void;
  /** Called in order each time the checkpoint moves (the CLI writes its checkpoint file). */
  readonly onCheckpoint?: (lastRow: number, counts: Readonly<ImportCounts>) => void | Promise<void>;
}

export interface PipelineResult {
  readonly counts: ImportCounts;
  readonly samples: readonly SampleRow[];
  readonly errors: readonly RejectedRow[];
  /** Stopped by the signal (Ctrl-C, shutdown): resume later from counts.lastRow. */
  readonly interrupted: boolean;
  /** Stopped at maxRows. */
  readonly truncated: boolean;
  /** Order imports with scanRows: what the scan found. */
  readonly scan: OrderScan | null;
}

export const DEFAULT_BATCH_MESSAGES = 500;
/** Below /v1/batch's 500 KB limit, with room for the envelope. */
export const DEFAULT_BATCH_BYTES = 450 * 1024;

/**
 * Streams rows into records (a customer; an order with its lines), records into units and units
 * into the sink, with at most `concurrency` units in flight: while they are, no row is read, so
 * a file of any size is held a few units at a time.
 *
 * Resuming after row N: the rows up to N are read again but not sent (order imports put them
 * into orders again, so that orders and late lines are found exactly as in an uninterrupted run);
 * N is always the end of a record.
 */
export async function runImportPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const batchMessages = opts.batchMessages ?? DEFAULT_BATCH_MESSAGES;
  const batchBytes = opts.batchBytes ?? DEFAULT_BATCH_BYTES;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const resumeAfter = opts.resumeAfterRow ?? 0;
  const sampleRows = opts.sampleRows ?? 20;
  const keepErrors = opts.keepErrors ?? 100;
  const init = opts.initial ?? {};
  const counts: ImportCounts = {
    rowsRead: 0,
    skipped: 0,
    valid: init.valid ?? 0,
    invalid: init.invalid ?? 0,
    blank: init.blank ?? 0,
    orders: init.orders ?? 0,
    ordersRejected: init.ordersRejected ?? 0,
    messages: init.messages ?? 0,
    accepted: init.accepted ?? 0,
    duplicates: init.duplicates ?? 0,
    quarantined: init.quarantined ?? 0,
    lastRow: resumeAfter,
    maxInFlightRows: 0,
  };
  const samples: SampleRow[] = [];
  const errors: RejectedRow[] = [];
  let interrupted = false;
  let truncated = false;

  const orders = opts.plan.mapping.type === 'orders';
  let scan: OrderScan | null = null;
  if (orders && opts.scanRows) {
    scan = await scanOrders(opts.plan, opts.scanRows, { ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }
  const builder = new RecordBuilder(opts.plan, { resumeAfterRow: resumeAfter, scan });

  let seq = 0;
  let unit: {
    fromRow: number;
    toRow: number;
    rows: number;
    valid: number;
    blank: number;
    orders: number;
    ordersRejected: number;
    bytes: number;
    messages: SegmentMessage[];
    rejected: RejectedRow[];
  } | null = null;
  let pendingRows = 0;
  const inFlight = new Set<Promise<void>>();
  const acked = new Map<number, number>();
  let nextToAck = 1;
  let failure: unknown = null;
  // Checkpoint callbacks run one after another, in row order.
  let checkpointChain: Promise<void> = Promise.resolve();

  const acknowledge = (s: number, toRow: number, rows: number): void => {
    pendingRows -= rows;
    acked.set(s, toRow);
    let moved = false;
    for (let r = acked.get(nextToAck); r !== undefined; r = acked.get(nextToAck)) {
      acked.delete(nextToAck);
      counts.lastRow = r;
      nextToAck++;
      moved = true;
    }
    opts.onProgress?.(counts);
    if (moved && opts.onCheckpoint) {
      const at = counts.lastRow;
      const snapshot = { ...counts };
      checkpointChain = checkpointChain.then(() => opts.onCheckpoint?.(at, snapshot));
    }
  };

  const flush = async (): Promise<void> => {
    if (!unit) return;
    const u: ImportUnit = {
      seq: ++seq,
      fromRow: unit.fromRow,
      toRow: unit.toRow,
      rows: unit.rows,
      valid: unit.valid,
      blank: unit.blank,
      orders: unit.orders,
      ordersRejected: unit.ordersRejected,
      messages: unit.messages,
      rejected: unit.rejected,
    };
    unit = null;
    if (!opts.sink) {
      acknowledge(u.seq, u.toRow, u.rows);
      return;
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) return;
    const p: Promise<void> = opts.sink.send(u).then(
      (ack) => {
        counts.accepted += ack.accepted;
        counts.duplicates += ack.duplicates;
        counts.quarantined += ack.quarantined;
        inFlight.delete(p);
        acknowledge(u.seq, u.toRow, u.rows);
      },
      (e: unknown) => {
        inFlight.delete(p);
        failure ??= e;
      },
    );
    inFlight.add(p);
  };

  const take = async (rec: ImportRecord): Promise<void> => {
    // Stored by an earlier run (resume).
    if (rec.fresh === 0) return;
    if (unit && rec.messages.length > 0 && (unit.messages.length + rec.messages.length > batchMessages || unit.bytes + rec.bytes > batchBytes)) await flush();
    // /v1/imports/{id}/rows takes 500 rows a request.
    if (unit && rec.rejected.length > 0 && unit.rejected.length + rec.rejected.length > batchMessages) await flush();
    counts.valid += rec.valid;
    counts.invalid += rec.rejected.length;
    counts.blank += rec.blank;
    counts.orders += rec.orders;
    counts.ordersRejected += rec.ordersRejected;
    counts.messages += rec.messages.length;
    for (const e of rec.rejected) if (errors.length < keepErrors) errors.push(e);
    for (const x of rec.samples) if (samples.length < sampleRows) samples.push(x);
    unit ??= { fromRow: rec.fromRow, toRow: rec.toRow, rows: 0, valid: 0, blank: 0, orders: 0, ordersRejected: 0, bytes: 0, messages: [], rejected: [] };
    unit.toRow = rec.toRow;
    unit.rows += rec.fresh;
    unit.valid += rec.valid;
    unit.blank += rec.blank;
    unit.orders += rec.orders;
    unit.ordersRejected += rec.ordersRejected;
    unit.messages.push(...rec.messages);
    unit.bytes += rec.bytes;
    unit.rejected.push(...rec.rejected);
    if (unit.messages.length >= batchMessages || unit.rejected.length >= batchMessages || unit.rows >= batchMessages) await flush();
  };

  for await (const r of opts.rows) {
    if (failure) break;
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
    if (opts.maxRows !== undefined && counts.rowsRead >= opts.maxRows) {
      truncated = true;
      break;
    }
    counts.rowsRead++;
    if (r.row <= resumeAfter) {
      counts.skipped++;
      // A customer row stands alone; an order row may belong to an order that goes on past the resume point.
      if (!orders) continue;
    } else {
      pendingRows++;
      if (pendingRows > counts.maxInFlightRows) counts.maxInFlightRows = pendingRows;
    }
    for (const rec of await builder.push(r)) await take(rec);
    if (counts.rowsRead % 256 === 0) opts.onProgress?.(counts);
  }
  // Interrupted: the order being read may go on in the rows not read; it is read again on resume.
  if (!interrupted && !failure) for (const rec of builder.end()) await take(rec);
  if (!failure) await flush();
  while (inFlight.size > 0) await Promise.race(inFlight);
  await checkpointChain;
  if (failure) throw failure;
  opts.onProgress?.(counts);
  return { counts, samples, errors, interrupted, truncated, scan };
}
