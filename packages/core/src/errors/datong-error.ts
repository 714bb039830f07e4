import { ERROR_CATALOG, type ErrorCode, type ErrorKind, type ErrorSpec } from './catalog.js';

export interface DatongErrorOptions {
  readonly cause?: unknown;
  /** For logs only; shown to users only after redaction. */
  readonly meta?: Record<string, unknown>;
  /** Extra members of the problem+json body, safe to show (e.g. `errors`). */
  readonly extensions?: Record<string, unknown>;
}

/** The only error type thrown across Datong package boundaries. `detail` is safe to show. */
export class DatongError extends Error {
  override readonly name = 'DatongError';
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly meta: Record<string, unknown> | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, opts: DatongErrorOptions = {}) {
    super(detail ? `${code}: ${detail}` : code, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.detail = detail;
    this.meta = opts.meta;
    this.extensions = opts.extensions;
  }

  get kind(): ErrorKind {
    return ERROR_CATALOG[this.code].kind;
  }

  get title(): string {
    return ERROR_CATALOG[this.code].title;
  }

  get transient(): boolean {
    const spec: ErrorSpec = ERROR_CATALOG[this.code];
    return spec.transient === true;
  }
}

export function isDatongError(e: unknown): e is DatongError {
  return e instanceof DatongError;
}

/** True when retrying the failed operation can help. Unknown errors count as transient (network, DB). */
export function isTransient(e: unknown): boolean {
  return isDatongError(e) ? e.transient : true;
}
