/**
 * CSV and XLSX import of customers and orders (issue 4, offline stores and POS exports).
 *
 * A file is read as a table (readers), each data row is mapped to Datong fields (mapping.ts),
 * validated and turned into Segment messages (records.ts), and the messages go through the same
 * ingest as any other source, in batches, with checkpoints (pipeline.ts). Invalid rows are
 * quarantined with their row number and reasons, never dropped.
 */

export const IMPORT_TYPES = ['customers', 'orders'] as const;
export type ImportType = (typeof IMPORT_TYPES)[number];

export const IMPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One cell as a reader gives it: CSV cells are strings; XLSX cells keep their number, date or boolean. */
export type Cell = string | number | boolean | Date | null;

/** A data row: `row` is the number a spreadsheet shows for it (the header is usually row 1). */
export interface TableRow {
  readonly row: number;
  /** Cells by column name (duplicate names get a `_2`, `_3` suffix; unnamed columns `column_<n>`). */
  readonly values: Readonly<Record<string, Cell>>;
  /** CSV: non-empty cells beyond the header's columns (the row is rejected). */
  readonly extraCells?: number;
}

/** What is wrong with one row; `field` is the Datong field (or the column) the reason is about. */
export interface RowProblem {
  readonly field: string;
  readonly message: string;
}

/** A row that cannot be imported: it goes to quarantine with its number and reasons. */
export interface RejectedRow {
  readonly row: number;
  readonly problems: readonly RowProblem[];
  /** The cells as read (for the person who fixes it). */
  readonly data: Readonly<Record<string, unknown>>;
  /** The message the row would have become, as far as it could be built (the fix starts from it). */
  readonly message: Record<string, unknown> | null;
  /** The messageId the row's message would have had (quarantine keeps it). */
  readonly messageId: string;
}

/** One of the first rows (or orders), as the dry run shows it. */
export interface SampleRow {
  readonly row: number;
  /** An order of several lines: the row of its last line. */
  readonly toRow?: number;
  /** An order: how many lines (rows) it has. */
  readonly lines?: number;
  readonly messages?: readonly SegmentMessage[];
  readonly problems?: readonly RowProblem[];
  readonly blank?: true;
}

/** Segment message as sent to /v1/batch. */
export type SegmentMessage = Record<string, unknown>;
