import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<T> {
  readonly rows: T[];
  readonly affectedRows: number;
}

/** What every repository and use case needs from a database: SQL and transactions. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction; rolls back if it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// PGlite returns int8 as a JS number; make pg do the same so both drivers behave alike.
// Money (minor units) is therefore always selected as ::text and parsed with BigInt.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Names for parameterized statements, so `pg` prepares each once per connection and
 * PostgreSQL can reuse its plan: planning, not execution, was most of the cost of the
 * customer-360 statement (1.6 ms planned every time, 0.4 ms prepared; docs/benchmarks.md).
 * Statements built with a varying text (search filters) would each take a slot in every
 * connection's cache, so naming stops after a bound and later texts run unnamed.
 */
class StatementNames {
  static readonly MAX = 1_000;
  readonly #names = new Map<string, string | null>();

  nameOf(sql: string): string | undefined {
    const hit = this.#names.get(sql);
    if (hit !== undefined) return hit ?? undefined;
    const name = this.#names.size < StatementNames.MAX ? `d${createHash('sha1').update(sql).digest('hex').slice(0, 20)}` : null;
    this.#names.set(sql, name);
    return name ?? undefined;
  }
}

export async function openPostgres(url: string, poolSize: number): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'datong' });
  pool.on('error', () => {
    // An idle client died (server restart): the pool replaces it on next use.
  });
  const client = await pool.connect();
  client.release();
  const names = new StatementNames();
  const run = async <T>(c: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const name = params && params.length > 0 ? names.nameOf(sql) : undefined;
    const r = name ? await c.query({ name, text: sql, values: params as unknown[] }) : await c.query(sql, params as unknown[] | undefined);
    return { rows: r.rows as T[], affectedRows: r.rowCount ?? 0 };
  };
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    async tx(fn) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn({
          query: (sql, params) => run(c, sql, params),
          exec: async (sql) => {
            await c.query(sql);
          },
        });
        await c.query('COMMIT');
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * The embedded database. PGlite has one connection per process and serializes all work;
 * it does not fsync (survives a process crash, not power loss) and does not lock its
 * folder (see data-dir-lock.ts).
 */
export async function openPglite(dataDir: string | null): Promise<Db> {
  let db: PGlite;
  if (dataDir === null) db = new PGlite();
  else {
    const dir = path.join(dataDir, 'pgdata');
    mkdirSync(dir, { recursive: true });
    db = new PGlite(dir);
  }
  await db.waitReady;
  return wrapPglite(db);
}

export function wrapPglite(db: PGlite): Db {
  const convert = <T>(r: { rows: unknown[]; affectedRows?: number }): QueryResult<T> => ({
    rows: r.rows as T[],
    affectedRows: r.affectedRows ?? 0,
  });
  return {
    kind: 'pglite',
    query: async (sql, params) => convert(await db.query(sql, params as unknown[] | undefined)),
    exec: async (sql) => {
      await db.exec(sql);
    },
    tx: (fn) =>
      db.transaction(async (t) =>
        fn({
          query: async (sql, params) => convert(await t.query(sql, params as unknown[] | undefined)),
          exec: async (sql) => {
            await t.exec(sql);
          },
        }),
      ),
    close: () => db.close(),
  };
}
