import path from 'node:path';
import { DatongError, isDatongError } from '@datong/core';
import { createLogger, loadConfig, openDatabase, type Config, type Db, type LoadedConfig } from '@datong/server';
import type { CliIo } from './io.js';

export type CliLogger = ReturnType<typeof createLogger>;

/** Config from the injected env (never process.env directly: tests pass their own), plus option overrides. */
export function loadCliConfig(io: CliIo, overrides: Readonly<Record<string, unknown>> = {}): LoadedConfig {
  return loadConfig(io.env, overrides);
}

/**
 * Logger for the one-shot commands (migrate, keys, import, doctor): JSON lines on stderr so
 * stdout stays the command's own output. Only warnings and errors unless DATONG_LOG_LEVEL
 * asks for more, since `info` lifecycle lines would drown a short report.
 */
export function commandLogger(loaded: LoadedConfig, io: CliIo): CliLogger {
  const level = loaded.sources['log.level'] === 'default' ? 'warn' : loaded.config.log.level;
  return createLogger(level, io.stderr);
}

export type DatabaseDescription =
  | { readonly kind: 'pglite'; readonly dataDir: string }
  | { readonly kind: 'postgres'; readonly location: string };

/** Where the data lives, fit to print: an absolute data folder, or PostgreSQL without the password. */
export function describeDatabase(config: Config): DatabaseDescription {
  if (config.db.url === undefined) return { kind: 'pglite', dataDir: path.resolve(config.db.dataDir) };
  return { kind: 'postgres', location: postgresLocation(config.db.url) };
}

export function postgresLocation(url: string): string {
  try {
    const u = new URL(url);
    const host = `${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}`;
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    const user = u.username ? ` as ${decodeURIComponent(u.username)}` : '';
    return `${host}/${database || '(default database)'}${user}`;
  } catch {
    return '(DATABASE_URL is set but cannot be parsed for display)';
  }
}

/** Opens the database (taking the data-folder lock for the embedded one), runs `fn`, always closes. */
export async function withDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const { db, lock } = await openDatabase(config);
  try {
    return await fn(db);
  } finally {
    try {
      await db.close();
    } finally {
      lock?.release();
    }
  }
}

/** Adds what to do instead to a DATA_DIR_LOCKED error (the embedded database is in use by a server). */
export function withLockHint(e: unknown, hint: string): unknown {
  if (isDatongError(e) && e.code === 'DATA_DIR_LOCKED') return new DatongError('DATA_DIR_LOCKED', `${e.detail ?? e.title}\n${hint}`, { cause: e });
  return e;
}
