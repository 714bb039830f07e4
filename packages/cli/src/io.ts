import type { Datong } from '@datong/server';

/** A writable text stream: process.stdout/stderr, or a capture in tests. */
export type OutStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/** A server or worker started by `serve`/`worker`, still running. */
export interface Running {
  /** Where the HTTP API listens; null for a worker. */
  readonly url: string | null;
  readonly datong: Datong;
  /** Stops it gracefully (without exiting the process) and removes the signal handlers. */
  close(): Promise<void>;
}

/** Everything a command touches outside itself, so tests can run commands in-process. */
export interface CliIo {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Receives the running server or worker once it is up. main.ts leaves it unset; tests close it. */
  readonly onRunning?: (running: Running) => void;
}

/** Ends a command with this exit code after the command has printed its own explanation. */
export class CliExit extends Error {
  override readonly name = 'CliExit';
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

export function writeLine(out: OutStream, line = ''): void {
  out.write(`${line}\n`);
}

/** Left-aligned text columns, two spaces apart; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}
