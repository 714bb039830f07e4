import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { DatongError } from '@datong/core';
import { bootstrap, createUser, DEFAULT_TENANT_ID, listUsers, migrate, MIN_PASSWORD_LENGTH, type Config, type Db, type UserOut } from '@datong/server';
import { loadCliConfig, withDatabase, withLockHint } from '../config.js';
import { formatTable, writeLine, type CliIo } from '../io.js';

/** Users are managed directly in the database, so the embedded one must not be in use by a server. */
async function withUsersDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  try {
    return await withDatabase(config, async (db) => {
      await migrate(db);
      return fn(db);
    });
  } catch (e) {
    throw withLockHint(e, 'While the server runs, create users through its API instead: POST /v1/users with an admin API key.');
  }
}

export interface CreateUserOptions {
  readonly email: string;
  readonly name: string;
  readonly role: string;
  readonly team?: string;
  readonly password?: string;
  readonly tenant?: string;
}

export interface CreatedUser {
  readonly user: UserOut;
  readonly tenantId: string;
  /** Set when no --password was given: printed once. */
  readonly generatedPassword: string | null;
}

/** Creates a console user (the first administrator, typically) and prints a generated password once. */
export async function createConsoleUser(io: CliIo, opts: CreateUserOptions): Promise<CreatedUser> {
  if (opts.password !== undefined && [...opts.password].length < MIN_PASSWORD_LENGTH) {
    throw new DatongError('VALIDATION_FAILED', `--password must be at least ${MIN_PASSWORD_LENGTH} characters (leave it out to have one generated)`);
  }
  const generatedPassword = opts.password === undefined ? randomBytes(15).toString('base64url') : null;
  const password = opts.password ?? generatedPassword ?? '';
  const tenantId = opts.tenant ?? DEFAULT_TENANT_ID;
  const { config } = loadCliConfig(io);
  const user = await withUsersDatabase(config, async (db) => {
    const tenant = await db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    if (tenant.rows.length === 0) {
      if (tenantId !== DEFAULT_TENANT_ID) throw new DatongError('VALIDATION_FAILED', `No tenant ${tenantId} in this database`);
      // A new database: set it up as the first server start would.
      await bootstrap(db, config);
    }
    return db.tx((q) => createUser(q, tenantId, { email: opts.email, name: opts.name, role: opts.role, teamId: opts.team ?? null, password }, new Date()));
  });
  writeLine(io.stdout, `Created user ${user.id} ${user.email} (role ${user.roleId}) for tenant ${tenantId}.`);
  if (generatedPassword !== null) {
    writeLine(io.stdout, 'Password (shown once; change it after signing in):');
    writeLine(io.stdout, '');
    writeLine(io.stdout, `  ${generatedPassword}`);
    writeLine(io.stdout, '');
  }
  writeLine(io.stdout, 'Sign in to the console at / with this email and password.');
  return { user, tenantId, generatedPassword };
}

export async function listConsoleUsers(io: CliIo, opts: { tenant?: string }): Promise<void> {
  const tenantId = opts.tenant ?? DEFAULT_TENANT_ID;
  const { config } = loadCliConfig(io);
  const users = await withUsersDatabase(config, (db) => listUsers(db, tenantId));
  if (users.length === 0) {
    writeLine(io.stdout, `No users in tenant ${tenantId}. Create the first one with: datong users create --email … --name … --role admin`);
    return;
  }
  writeLine(
    io.stdout,
    formatTable(
      ['ID', 'EMAIL', 'NAME', 'ROLE', '2FA', 'STATUS'],
      users.map((u) => [u.id, u.email, u.name, u.roleId, u.totpEnabled ? 'on' : 'off', u.disabled ? 'disabled' : 'active']),
    ),
  );
}

export function registerUsers(program: Command, io: CliIo): void {
  const users = program.command('users').description('create and list console users directly in the database (server stopped, or PostgreSQL)');
  users
    .command('create')
    .description('create a console user, e.g. the first administrator')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role>', 'admin, ops, sales, service, finance, or a custom role id or name')
    .option('--team <id>', 'team id (data scope "team")')
    .option('--password <password>', `at least ${MIN_PASSWORD_LENGTH} characters; left out, one is generated and printed once`)
    .option('--tenant <id>', 'tenant of the user', DEFAULT_TENANT_ID)
    .action(async (opts: CreateUserOptions) => {
      await createConsoleUser(io, opts);
    });
  users
    .command('list')
    .description('list the console users of a tenant')
    .option('--tenant <id>', 'tenant', DEFAULT_TENANT_ID)
    .action(async (opts: { tenant?: string }) => {
      await listConsoleUsers(io, opts);
    });
}
