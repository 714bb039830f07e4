import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isDatongError } from '@datong/core';
import { describeConfig, listMigrations, pendingMigrations, type Config, type LoadedConfig } from '@datong/server';
import { describeDatabase, loadCliConfig, withDatabase } from '../config.js';
import { CliExit, formatTable, writeLine, type CliIo } from '../io.js';

/** The root package.json's "engines.node". */
const MIN_NODE: readonly [number, number] = [20, 11];

interface DatabaseCheck {
  readonly line: string;
  readonly migrations: string;
  readonly ok: boolean;
}

async function checkDatabase(config: Config): Promise<DatabaseCheck> {
  const where = describeDatabase(config);
  const label = where.kind === 'pglite' ? `embedded PGlite at ${where.dataDir}` : `PostgreSQL at ${where.location}`;
  if (where.kind === 'pglite' && !existsSync(path.join(where.dataDir, 'pgdata'))) {
    // Opening it would create it: a check should not.
    return { line: `${label}: not created yet (the first \`datong serve\` or \`datong migrate\` creates it)`, migrations: 'all pending', ok: true };
  }
  try {
    return await withDatabase(config, async (db) => {
      const version = (await db.query<{ version: string }>('SELECT version() AS version')).rows[0]?.version ?? 'unknown version';
      const pending = await pendingMigrations(db);
      let applied = { n: 0, latest: null as string | null };
      if (pending.length < listMigrations().length) {
        const r = await db.query<{ n: number; latest: string | null }>('SELECT count(*)::int AS n, max(version) AS latest FROM schema_migrations');
        applied = r.rows[0] ?? applied;
      }
      return {
        line: `${label}: reachable (${version.split(' on ')[0] ?? version})`,
        migrations:
          `${applied.n} applied${applied.latest ? ` (latest ${applied.latest})` : ''}, ${pending.length} pending` +
          (pending.length > 0 ? ` (${pending.join(', ')}; \`datong migrate\` or the next start applies them)` : ''),
        ok: true,
      };
    });
  } catch (e) {
    if (isDatongError(e) && e.code === 'DATA_DIR_LOCKED') {
      // A running server holds the embedded database: that is not a fault, but it cannot be inspected.
      return {
        line: `${label}: in use by a running Datong server, so not opened (one process at a time); its /readyz reports on it`,
        migrations: 'not checked (the running server applied them at start)',
        ok: true,
      };
    }
    const message = isDatongError(e) ? (e.detail ?? e.title) : e instanceof Error ? e.message : String(e);
    return { line: `${label}: NOT reachable (${message})`, migrations: 'not checked', ok: false };
  }
}

function masterKeyLine(loaded: LoadedConfig): string {
  if (loaded.config.security.masterKey !== undefined) return 'from DATONG_MASTER_KEY';
  const file = path.resolve(loaded.config.db.dataDir, 'master.key');
  if (existsSync(file)) return `from ${file}`;
  if (loaded.config.security.production) return 'missing (DATONG_PRODUCTION=true needs DATONG_MASTER_KEY)';
  return `not created yet: generated into ${file} at the first start (back it up: without it the data cannot be read)`;
}

function nodeLine(version: string): { line: string; ok: boolean } {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return { line: `${version} (${ok ? 'ok' : 'TOO OLD'}: needs >= ${MIN_NODE.join('.')})`, ok };
}

/** Prints the effective configuration and checks Node and the database; exit code 1 when something is wrong. */
export async function runDoctor(io: CliIo): Promise<number> {
  const out = io.stdout;
  const node = nodeLine(process.version);
  let loaded: LoadedConfig;
  try {
    loaded = loadCliConfig(io);
  } catch (e) {
    if (!isDatongError(e) || e.code !== 'CONFIG_INVALID') throw e;
    const problems = Array.isArray(e.extensions?.['problems']) ? (e.extensions['problems'] as unknown[]).map(String) : (e.detail ?? '').split('\n');
    writeLine(out, `Configuration is INVALID (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
    for (const p of problems) writeLine(out, `  - ${p}`);
    writeLine(out);
    writeLine(out, `${'Node.js'.padEnd(13)}${node.line}`);
    return 1;
  }

  writeLine(out, 'Configuration (secrets masked; source: default, env or override):');
  writeLine(
    out,
    formatTable(
      ['KEY', 'ENV', 'VALUE', 'SOURCE'],
      describeConfig(loaded).map((r) => [r.key, r.env, r.value, r.source]),
    ),
  );
  writeLine(out);
  const db = await checkDatabase(loaded.config);
  const dataDir = path.resolve(loaded.config.db.dataDir);
  const rows: [string, string][] = [
    ['Node.js', node.line],
    ['Data folder', `${dataDir}${existsSync(dataDir) ? '' : ' (does not exist yet)'}`],
    ['Master key', masterKeyLine(loaded)],
    ['Database', db.line],
    ['Migrations', db.migrations],
  ];
  for (const [label, value] of rows) writeLine(out, `${label.padEnd(13)}${value}`);
  writeLine(out);
  const ok = node.ok && db.ok;
  writeLine(out, ok ? 'No problems found.' : 'Problems found (see above).');
  return ok ? 0 : 1;
}

export function registerDoctor(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('show the effective configuration (secrets masked) and check Node.js and the database')
    .action(async () => {
      const code = await runDoctor(io);
      if (code !== 0) throw new CliExit(code);
    });
}
