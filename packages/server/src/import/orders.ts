import { assembleOrder, orderKey, parseRow, type ImportPlan, type OrderLine, type RowOutcome } from './records.js';
import type { RejectedRow, SampleRow, SegmentMessage, TableRow } from './types.js';

/**
 * Order lines (issue 4): POS and shop exports have one row per order line, the order id repeated
 * on each. Consecutive rows with the same order id, shop and status are one order. A blank shop
 * or status on a line means "the same as the order's other lines" (exports that write the order's
 * columns on its first line only); the order id must be on every line. Blank rows and rows
 * without an order id (rejected on their own) do not interrupt an order.
 */

/** Rows read so far that are put together: the lines of one order, and the rows between them that belong to no order. */
interface Group {
  readonly lines: [OrderLine, ...OrderLine[]];
  /** Rows without an order id, rejected on their own. */
  readonly loose: OrderLine[];
  readonly blanks: number[];
  readonly fromRow: number;
  toRow: number;
  rows: number;
  /** Rows after the resume point. */
  fresh: number;
  shop: string | undefined;
  status: OrderLine['status'];
}

function joins(g: Group, line: OrderLine): boolean {
  return (
    line.orderId !== undefined &&
    line.orderId === g.lines[0].orderId &&
    (line.shop === undefined || g.shop === undefined || line.shop === g.shop) &&
    (line.status === undefined || g.status === undefined || line.status === g.status)
  );
}

type Item = { readonly kind: 'blank'; readonly row: number } | { readonly kind: 'line'; readonly line: OrderLine };

/** Puts the rows of an order import, in file order, into groups; a group is given out once a row shows it is complete. */
class OrderGrouper {
  #open: Group | null = null;
  readonly #resumeAfter: number;

  constructor(resumeAfter: number) {
    this.#resumeAfter = resumeAfter;
  }

  /** The group the item completes, if any, and the item when it stands alone (a blank row or a row without an order id, outside any order). */
  push(item: Item): { closed: Group | null; alone: Item | null } {
    const g = this.#open;
    const row = item.kind === 'blank' ? item.row : item.line.row.row;
    if (g && (item.kind === 'blank' || item.line.orderId === undefined || joins(g, item.line))) {
      if (item.kind === 'blank') g.blanks.push(row);
      else if (item.line.orderId === undefined) g.loose.push(item.line);
      else {
        g.lines.push(item.line);
        g.shop ??= item.line.shop;
        g.status ??= item.line.status;
      }
      g.toRow = row;
      g.rows++;
      if (row > this.#resumeAfter) g.fresh++;
      return { closed: null, alone: null };
    }
    if (item.kind === 'blank' || item.line.orderId === undefined) return { closed: null, alone: item };
    const line = item.line;
    this.#open = { lines: [line], loose: [], blanks: [], fromRow: row, toRow: row, rows: 1, fresh: row > this.#resumeAfter ? 1 : 0, shop: line.shop, status: line.status };
    return { closed: g, alone: null };
  }

  end(): Group | null {
    const g = this.#open;
    this.#open = null;
    return g;
  }
}

/** Orders whose lines are not on consecutive rows: key (OrderKey.key) → the first row of each run of its lines. */
export interface OrderScan {
  readonly scattered: ReadonlyMap<string, readonly number[]>;
  /** Rows read by the scan. */
  readonly rows: number;
}

/**
 * Reads the rows of an order import once, ahead of the import, to find the orders whose lines are
 * in several places of the file. The import then rejects every line of those orders (an order is
 * never imported without some of its lines) instead of only the lines that come late. Keeps 16
 * bytes of key and a row number per order. Stops after `maxRows` rows (as the dry run does) or
 * when `signal` is aborted.
 */
export async function scanOrders(plan: ImportPlan, rows: AsyncIterable<TableRow>, opts: { readonly maxRows?: number; readonly signal?: AbortSignal } = {}): Promise<OrderScan> {
  const grouper = new OrderGrouper(0);
  const firstRun = new Map<string, number>();
  const scattered = new Map<string, number[]>();
  const note = (g: Group | null): void => {
    if (!g) return;
    const { key } = orderKey(plan, g.lines);
    const start = g.lines[0].row.row;
    const seen = firstRun.get(key);
    if (seen === undefined) firstRun.set(key, start);
    else scattered.set(key, [...(scattered.get(key) ?? [seen]), start]);
  };
  let n = 0;
  for await (const r of rows) {
    if (opts.signal?.aborted || (opts.maxRows !== undefined && n >= opts.maxRows)) break;
    n++;
    const parsed = await parseRow(plan, r);
    if (parsed.kind === 'customer') continue;
    note(grouper.push(parsed.kind === 'blank' ? parsed : { kind: 'line', line: parsed.line }).closed);
  }
  note(grouper.end());
  return { scattered, rows: n };
}

/** A contiguous range of rows that is imported, or rejected, as a whole: a customer, an order with its lines, a blank row. */
export interface ImportRecord {
  readonly fromRow: number;
  readonly toRow: number;
  /** Data rows in the range. */
  readonly rows: number;
  /** Rows in the range after the resume point (0: an earlier run stored the record). */
  readonly fresh: number;
  /** Rows imported (customers, or order lines). */
  readonly valid: number;
  readonly blank: number;
  readonly messages: readonly SegmentMessage[];
  readonly bytes: number;
  readonly rejected: readonly RejectedRow[];
  /** Orders imported and rejected (0 or 1 each; rows without an order id count as no order). */
  readonly orders: number;
  readonly ordersRejected: number;
  /** What the dry run shows of it, by row. */
  readonly samples: readonly SampleRow[];
}

function rowRecord(outcome: RowOutcome, resumeAfter: number): ImportRecord {
  const row = outcome.row;
  const base = { fromRow: row, toRow: row, rows: 1, fresh: row > resumeAfter ? 1 : 0, orders: 0, ordersRejected: 0 };
  if (outcome.kind === 'ok') return { ...base, valid: 1, blank: 0, messages: outcome.messages, bytes: outcome.bytes, rejected: [], samples: [{ row, messages: outcome.messages }] };
  if (outcome.kind === 'rejected') return { ...base, valid: 0, blank: 0, messages: [], bytes: 0, rejected: [outcome.rejected], samples: [{ row, problems: outcome.rejected.problems }] };
  return { ...base, valid: 0, blank: 1, messages: [], bytes: 0, rejected: [], samples: [{ row, blank: true }] };
}

function looseRejected(plan: ImportPlan, line: OrderLine): RejectedRow[] {
  return [...assembleOrder(plan, [line]).rejected];
}

/**
 * Turns the rows of a file, in order, into records. Customer rows are records of one row. Order
 * rows are held until the row after an order shows that the order is complete, so a record (and
 * with it every unit and checkpoint of the pipeline) never splits an order.
 *
 * Lines of an order that come back later in the file (the order id, shop and status of an order
 * already given out) are rejected whole: with a `scan`, every line of such an order, wherever it
 * is; without one, the lines that come back (the earlier ones were imported by then).
 */
export class RecordBuilder {
  readonly #plan: ImportPlan;
  readonly #resumeAfter: number;
  readonly #scan: OrderScan | null;
  readonly #grouper: OrderGrouper;
  /** Without a scan: the orders given out so far, by key → the row of their first line (negative when rejected). */
  readonly #seen = new Map<string, number>();

  constructor(plan: ImportPlan, opts: { readonly resumeAfterRow?: number; readonly scan?: OrderScan | null } = {}) {
    this.#plan = plan;
    this.#resumeAfter = opts.resumeAfterRow ?? 0;
    this.#scan = opts.scan ?? null;
    this.#grouper = new OrderGrouper(this.#resumeAfter);
  }

  /** The records that this row completes (none while an order may go on). */
  async push(row: TableRow): Promise<ImportRecord[]> {
    const parsed = await parseRow(this.#plan, row);
    if (parsed.kind === 'customer') return [rowRecord(parsed.outcome, this.#resumeAfter)];
    const { closed, alone } = this.#grouper.push(parsed.kind === 'blank' ? parsed : { kind: 'line', line: parsed.line });
    const out: ImportRecord[] = [];
    if (closed) out.push(this.#record(closed));
    if (alone?.kind === 'blank') out.push(rowRecord({ kind: 'blank', row: alone.row }, this.#resumeAfter));
    else if (alone) {
      const [rejected] = looseRejected(this.#plan, alone.line);
      if (rejected) out.push(rowRecord({ kind: 'rejected', row: rejected.row, rejected }, this.#resumeAfter));
    }
    return out;
  }

  /** The end of the rows: the last order is complete. */
  end(): ImportRecord[] {
    const g = this.#grouper.end();
    return g ? [this.#record(g)] : [];
  }

  /** Why the group is rejected as part of an order that is elsewhere in the file too, and whether the order was already counted there. */
  #elsewhere(g: Group, key: string): { veto: string | undefined; counted: boolean } {
    const start = g.lines[0].row.row;
    if (this.#scan) {
      const runs = this.#scan.scattered.get(key);
      if (!runs) return { veto: undefined, counted: false };
      const places = runs.length <= 6 ? `${runs.slice(0, -1).join(', ')} and ${runs[runs.length - 1]}` : `${runs.slice(0, 5).join(', ')}… (${runs.length} places)`;
      const veto = `the lines of this order are not on consecutive rows (they are in ${runs.length} places, from rows ${places}): the whole order is rejected, wherever its lines are. Sort the file by order id so that each order's lines are together, and import it again`;
      return { veto, counted: runs[0] !== start };
    }
    const seen = this.#seen.get(key);
    if (seen === undefined) return { veto: undefined, counted: false };
    const veto = `this order's lines began at row ${Math.abs(seen)}, and other rows came in between: the lines from row ${start} are rejected (the order was ${seen > 0 ? 'imported' : 'rejected'} without them). Keep each order's lines on consecutive rows`;
    return { veto, counted: true };
  }

  #record(g: Group): ImportRecord {
    const plan = this.#plan;
    const key = orderKey(plan, g.lines).key;
    const { veto, counted } = this.#elsewhere(g, key);
    const order = assembleOrder(plan, g.lines, veto);
    const ok = order.rejected.length === 0;
    if (!this.#scan && !this.#seen.has(key)) this.#seen.set(key, ok ? g.lines[0].row.row : -g.lines[0].row.row);
    const loose = g.loose.flatMap((l) => looseRejected(plan, l));
    const rejected = [...order.rejected, ...loose].sort((a, b) => a.row - b.row);
    const lastLine = g.lines[g.lines.length - 1]?.row.row ?? g.fromRow;
    const samples: SampleRow[] = [
      ...(ok ? [{ row: g.fromRow, ...(g.lines.length > 1 ? { toRow: lastLine, lines: g.lines.length } : {}), messages: order.messages }] : []),
      ...rejected.map((x) => ({ row: x.row, problems: x.problems })),
      ...g.blanks.map((row) => ({ row, blank: true as const })),
    ].sort((a, b) => a.row - b.row);
    return {
      fromRow: g.fromRow,
      toRow: g.toRow,
      rows: g.rows,
      fresh: g.fresh,
      valid: ok ? g.lines.length : 0,
      blank: g.blanks.length,
      messages: order.messages,
      bytes: order.bytes,
      rejected,
      orders: ok ? 1 : 0,
      // An order in several places of the file is counted once, where it begins.
      ordersRejected: ok || counted ? 0 : 1,
      samples,
    };
  }
}
