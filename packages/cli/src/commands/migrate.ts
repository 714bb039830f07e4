import type { Command } from 'commander';
import { migrate } from '@datong/server';
import { describeDatabase, loadCliConfig, withDatabase } from '../config.js';
import { writeLine, type CliIo } from '../io.js';

export async function runMigrate(io: CliIo): Promise<readonly string[]> {
  const { config } = loadCliConfig(io);
  const db = describeDatabase(config);
  writeLine(io.stdout, `Database: ${db.kind === 'pglite' ? `embedded PGlite at ${db.dataDir}` : `PostgreSQL at ${db.location}`}`);
  const applied = await withDatabase(config, (handle) => migrate(handle));
  if (applied.length === 0) writeLine(io.stdout, 'No pending migrations: the schema is up to date.');
  else {
    writeLine(io.stdout, `Applied ${applied.length} migration(s):`);
    for (const version of applied) writeLine(io.stdout, `  ${version}`);
  }
  return applied;
}

export function registerMigrate(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations, then exit (serve also does this at start)')
    .action(async () => {
      await runMigrate(io);
    });
}
