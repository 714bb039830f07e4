import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { isDatongError } from '@datong/core';
import { registerDoctor } from './commands/doctor.js';
import { registerImport } from './commands/import.js';
import { registerKeys } from './commands/keys.js';
import { registerMigrate } from './commands/migrate.js';
import { registerServe } from './commands/serve.js';
import { registerSimulate } from './commands/simulate.js';
import { registerUsers } from './commands/users.js';
import { CliExit, writeLine, type CliIo } from './io.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The `datong` program, writing only to the given streams and reading only the given env. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('datong')
    .description('Datong: self-hosted customer data hub. Configuration comes from DATONG_* environment variables (see `datong doctor`).')
    .version(version, '-v, --version')
    // Settings made before .command() are inherited by the subcommands.
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(run `datong --help` for usage)');
  registerServe(program, io);
  registerMigrate(program, io);
  registerKeys(program, io);
  registerUsers(program, io);
  registerImport(program, io);
  registerDoctor(program, io);
  registerSimulate(program, io);
  return program;
}

/** Prints a failure the way users should see it and returns the exit code. DatongErrors show their detail, never a stack. */
export function reportError(io: CliIo, e: unknown): number {
  if (e instanceof CliExit) return e.exitCode;
  // Commander has already printed its message (or the help / version).
  if (e instanceof CommanderError) return e.exitCode;
  if (isDatongError(e)) {
    // The catalog titles are written for API clients; this one reads wrong on a command line.
    const title = e.code === 'VALIDATION_FAILED' ? 'Invalid arguments' : e.title;
    writeLine(io.stderr, `datong: ${title} [${e.code}]`);
    for (const line of (e.detail ?? '').split('\n').filter((l) => l !== '')) writeLine(io.stderr, `  ${line}`);
    return 1;
  }
  // Anything else is a bug or an environment failure: the stack helps whoever reports it.
  writeLine(io.stderr, `datong: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return 1;
}

/**
 * Runs one command line (without the node and script arguments) and resolves with the exit
 * code. `serve` and `worker` resolve once they are up and hand their handle to `io.onRunning`.
 */
export async function runCli(io: CliIo, args: readonly string[]): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
