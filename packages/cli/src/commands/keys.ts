import type { Command } from 'commander';
import { DatongError } from '@datong/core';
import { bootstrap, createApiKey, DEFAULT_TENANT_ID, migrate, type Config, type Db } from '@datong/server';
import { loadCliConfig, withDatabase, withLockHint } from '../config.js';
import { formatTable, writeLine, type CliIo } from '../io.js';

export const API_SCOPES = ['read', 'write', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Server-side key cache lifetime (server/src/http/auth.ts CACHE_MS), for the revoke note. */
const KEY_CACHE_SECONDS = 10;

export function parseScopes(raw: string): ApiScope[] {
  const scopes = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new DatongError(
      'VALIDATION_FAILED',
      `--scopes must be a comma-separated list of ${API_SCOPES.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    );
  }
  return [...new Set(scopes)] as ApiScope[];
}

/** Keys are managed directly in the database, so the embedded one must not be in use by a server. */
async function withKeysDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  try {
    return await withDatabase(config, async (db) => {
      await migrate(db);
      return fn(db);
    });
  } catch (e) {
    throw withLockHint(e, 'While the server runs, manage keys through its API instead: POST, GET and DELETE /v1/api-keys with an admin key.');
  }
}

export interface CreatedKey {
  readonly id: string;
  readonly key: string;
  readonly tenantId: string;
  /** The bootstrap admin key, when this command was the first to touch a new database. */
  readonly generatedAdminKey: string | null;
}

export async function createKey(io: CliIo, opts: { name: string; scopes: string; tenant?: string }): Promise<CreatedKey> {
  const name = opts.name.trim();
  if (name === '' || name.length > 120) throw new DatongError('VALIDATION_FAILED', '--name must be 1 to 120 characters');
  const scopes = parseScopes(opts.scopes);
  const tenantId = opts.tenant ?? DEFAULT_TENANT_ID;
  const { config } = loadCliConfig(io);
  const created = await withKeysDatabase(config, async (db) => {
    let generatedAdminKey: string | null = null;
    const tenant = await db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    if (tenant.rows.length === 0) {
      if (tenantId !== DEFAULT_TENANT_ID) throw new DatongError('VALIDATION_FAILED', `No tenant ${tenantId} in this database`);
      // A new database: set it up as the first server start would (default tenant, bootstrap admin key).
      generatedAdminKey = await bootstrap(db, config);
    }
    const { id, key } = await createApiKey(db, tenantId, name, scopes);
    return { id, key, tenantId, generatedAdminKey };
  });
  const out = io.stdout;
  if (created.generatedAdminKey !== null) {
    writeLine(out, 'This database had no admin key yet, so the bootstrap admin key was generated too:');
    writeLine(out, '');
    writeLine(out, `  ${created.generatedAdminKey}`);
    writeLine(out, '');
  }
  writeLine(out, `Created API key ${created.id} "${name}" (scopes: ${scopes.join(', ')}) for tenant ${tenantId}:`);
  writeLine(out, '');
  writeLine(out, `  ${created.key}`);
  writeLine(out, '');
  writeLine(out, 'Store it now, it will not be shown again. Send it as "Authorization: Bearer <key>".');
  return created;
}

interface KeyRow {
  tenant_id: string;
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const shortTime = (d: Date | null): string => (d === null ? '-' : `${new Date(d).toISOString().slice(0, 16).replace('T', ' ')}Z`);

export async function listKeys(io: CliIo, opts: { tenant?: string }): Promise<void> {
  const { config } = loadCliConfig(io);
  const rows = await withKeysDatabase(config, async (db) => {
    const r = opts.tenant
      ? await db.query<KeyRow>('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [opts.tenant])
      : await db.query<KeyRow>('SELECT * FROM api_keys ORDER BY tenant_id, created_at, id');
    return r.rows;
  });
  if (rows.length === 0) {
    writeLine(io.stdout, opts.tenant ? `No API keys for tenant ${opts.tenant}.` : 'No API keys.');
    return;
  }
  const table = formatTable(
    ['ID', 'TENANT', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'LAST USED', 'STATUS'],
    rows.map((k) => [
      k.id,
      k.tenant_id,
      k.name,
      `${k.prefix}…`,
      k.scopes.join(','),
      shortTime(k.created_at),
      shortTime(k.last_used_at),
      k.revoked_at === null ? 'active' : `revoked ${shortTime(k.revoked_at)}`,
    ]),
  );
  writeLine(io.stdout, table);
}

export async function revokeKey(io: CliIo, id: string, opts: { tenant?: string }): Promise<void> {
  const { config } = loadCliConfig(io);
  const revoked = await withKeysDatabase(config, async (db) => {
    const params: unknown[] = [id];
    const byTenant = opts.tenant ? (params.push(opts.tenant), ' AND tenant_id = $2') : '';
    const r = await db.query<{ tenant_id: string; name: string }>(
      `UPDATE api_keys SET revoked_at = now() WHERE id = $1${byTenant} AND revoked_at IS NULL RETURNING tenant_id, name`,
      params,
    );
    if (r.rows.length > 0) return r.rows;
    const before = await db.query<{ revoked_at: Date }>(`SELECT revoked_at FROM api_keys WHERE id = $1${byTenant}`, params);
    const when = before.rows[0]?.revoked_at;
    throw new DatongError('API_KEY_NOT_FOUND', when ? `API key ${id} was already revoked on ${shortTime(when)}` : `No API key ${id}`);
  });
  for (const k of revoked) writeLine(io.stdout, `Revoked API key ${id} "${k.name}" of tenant ${k.tenant_id}.`);
  if (config.db.url !== undefined) {
    writeLine(io.stdout, `Servers using this database stop accepting it within ${KEY_CACHE_SECONDS} seconds (they cache keys briefly).`);
  }
}

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('create, list and revoke API keys directly in the database (server stopped, or PostgreSQL)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "ci" or "shop backend"')
    .requiredOption('--scopes <scopes>', `comma-separated: ${API_SCOPES.join(',')}`)
    .option('--tenant <id>', 'tenant of the key', DEFAULT_TENANT_ID)
    .action(async (opts: { name: string; scopes: string; tenant?: string }) => {
      await createKey(io, opts);
    });
  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--tenant <id>', 'only this tenant (default: all tenants)')
    .action(async (opts: { tenant?: string }) => {
      await listKeys(io, opts);
    });
  keys
    .command('revoke')
    .description('revoke an API key by its id (key_…)')
    .argument('<id>', 'the key id, as shown by `datong keys list`')
    .option('--tenant <id>', 'tenant of the key (default: any)')
    .action(async (id: string, opts: { tenant?: string }) => {
      await revokeKey(io, id, opts);
    });
}
