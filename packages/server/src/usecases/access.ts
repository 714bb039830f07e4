import { ADMIN_ROLE_ID, BUILTIN_ROLES, DatongError, isPermission, normalizeEmail, PERMISSIONS, type DataScope, type Permission } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { iso, isoReq } from '../http/pagination.js';
import { newId } from '../ids.js';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../security/passwords.js';

/** Users, roles and teams of the console (issue 3, C13). */

export interface RoleOut {
  id: string;
  name: string;
  builtin: boolean;
  permissions: Permission[];
  dataScope: DataScope;
  maskPii: boolean;
}

export interface RoleRow {
  id: string;
  name: string;
  builtin: boolean;
  permissions: string[];
  data_scope: DataScope;
  mask_pii: boolean;
}

export const roleOut = (r: RoleRow): RoleOut => ({
  id: r.id,
  name: r.name,
  builtin: r.builtin,
  permissions: r.permissions.filter(isPermission),
  dataScope: r.data_scope,
  maskPii: r.mask_pii,
});

/**
 * Seeds the built-in roles of a tenant (idempotent). The admin role always gets every
 * permission, including ones added after it was seeded; other built-in roles keep any edits.
 */
export async function ensureBuiltinRoles(q: Queryable, tenantId: string): Promise<void> {
  await q.query(
    `INSERT INTO roles (tenant_id, id, name, builtin, permissions, data_scope, mask_pii)
     SELECT $1, r.id, r.name, true, r.permissions, r.data_scope, r.mask_pii
     FROM jsonb_to_recordset($2::jsonb) AS r(id text, name text, permissions text[], data_scope text, mask_pii boolean)
     ON CONFLICT (tenant_id, id) DO UPDATE SET permissions = EXCLUDED.permissions
       WHERE roles.id = '${ADMIN_ROLE_ID}' AND roles.permissions <> EXCLUDED.permissions`,
    [
      tenantId,
      JSON.stringify(BUILTIN_ROLES.map((r) => ({ id: r.id, name: r.name, permissions: r.permissions, data_scope: r.dataScope, mask_pii: r.maskPii }))),
    ],
  );
}

export async function listRoles(q: Queryable, tenantId: string): Promise<RoleOut[]> {
  await ensureBuiltinRoles(q, tenantId);
  const r = await q.query<RoleRow>('SELECT * FROM roles WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
  // Built-in roles first, in their defined order (admin, ops, sales, service, finance), then custom roles.
  const rank = (x: RoleRow) => (x.builtin ? BUILTIN_ROLES.findIndex((b) => b.id === x.id) : BUILTIN_ROLES.length);
  return [...r.rows].sort((a, b) => rank(a) - rank(b)).map(roleOut);
}

export async function getRole(q: Queryable, tenantId: string, id: string): Promise<RoleRow> {
  await ensureBuiltinRoles(q, tenantId);
  const r = await q.query<RoleRow>('SELECT * FROM roles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('ROLE_NOT_FOUND', `No role ${id}`);
  return row;
}

/** A role id, or a role name (the CLI's `--role ops` and a custom role's name). */
export async function findRole(q: Queryable, tenantId: string, idOrName: string): Promise<RoleRow> {
  await ensureBuiltinRoles(q, tenantId);
  const r = await q.query<RoleRow>('SELECT * FROM roles WHERE tenant_id = $1 AND (id = $2 OR lower(name) = lower($2)) ORDER BY id = $2 DESC LIMIT 1', [
    tenantId,
    idOrName,
  ]);
  const row = r.rows[0];
  if (!row) throw new DatongError('ROLE_NOT_FOUND', `No role ${idOrName}`);
  return row;
}

export function checkPermissions(perms: readonly string[]): Permission[] {
  const unknown = perms.filter((p) => !isPermission(p));
  if (unknown.length > 0) throw new DatongError('VALIDATION_FAILED', `Unknown permission(s): ${unknown.join(', ')}. Known: ${PERMISSIONS.join(', ')}`);
  return [...new Set(perms)] as Permission[];
}

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role_id: string;
  team_id: string | null;
  locale: string;
  totp_enabled: boolean;
  disabled: boolean;
  last_login_at: Date | string | null;
  created_at: Date | string;
  locked_until: Date | string | null;
}

export const userOut = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roleId: u.role_id,
  teamId: u.team_id,
  locale: u.locale === 'en' ? ('en' as const) : ('zh-CN' as const),
  totpEnabled: u.totp_enabled,
  disabled: u.disabled,
  lastLoginAt: iso(u.last_login_at),
  lockedUntil: iso(u.locked_until),
  createdAt: isoReq(u.created_at),
});
export type UserOut = ReturnType<typeof userOut>;

const USER_COLUMNS = 'id, email, name, role_id, team_id, locale, totp_enabled, disabled, last_login_at, created_at, locked_until';

export async function getUser(q: Queryable, tenantId: string, id: string): Promise<UserOut> {
  const r = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('USER_NOT_FOUND', `No user ${id}`);
  return userOut(row);
}

export async function listUsers(q: Queryable, tenantId: string): Promise<UserOut[]> {
  const r = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return r.rows.map(userOut);
}

export function normalizeUserEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (!email) throw new DatongError('VALIDATION_FAILED', 'email is not a valid email address');
  return email;
}

export function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new DatongError('VALIDATION_FAILED', `password must be at least ${MIN_PASSWORD_LENGTH} characters`);
}

async function checkTeam(q: Queryable, tenantId: string, teamId: string | null | undefined): Promise<void> {
  if (teamId === null || teamId === undefined) return;
  const r = await q.query('SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2', [tenantId, teamId]);
  if (r.rows.length === 0) throw new DatongError('TEAM_NOT_FOUND', `No team ${teamId}`);
}

export interface NewUser {
  readonly email: string;
  readonly name: string;
  /** A role id or name. */
  readonly role: string;
  readonly teamId?: string | null;
  readonly password: string;
  readonly locale?: 'zh-CN' | 'en';
}

export async function createUser(q: Queryable, tenantId: string, input: NewUser, now: Date): Promise<UserOut> {
  const email = normalizeUserEmail(input.email);
  const name = input.name.trim();
  if (name === '' || name.length > 120) throw new DatongError('VALIDATION_FAILED', 'name must be 1 to 120 characters');
  checkPassword(input.password);
  const role = await findRole(q, tenantId, input.role);
  await checkTeam(q, tenantId, input.teamId);
  const taken = await q.query('SELECT 1 FROM users WHERE tenant_id = $1 AND email = $2', [tenantId, email]);
  if (taken.rows.length > 0) throw new DatongError('USER_EMAIL_TAKEN', `A user with the email ${email} exists`);
  const id = newId('usr', now.getTime());
  const passwordHash = await hashPassword(input.password);
  await q.query(
    `INSERT INTO users (tenant_id, id, email, name, password_hash, role_id, team_id, locale, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (tenant_id, email) DO NOTHING`,
    [tenantId, id, email, name, passwordHash, role.id, input.teamId ?? null, input.locale ?? 'zh-CN', now.toISOString()],
  );
  return getUser(q, tenantId, id);
}

export interface UserPatch {
  readonly name?: string;
  readonly roleId?: string;
  readonly teamId?: string | null;
  readonly disabled?: boolean;
  readonly password?: string;
  readonly locale?: 'zh-CN' | 'en';
}

/** Changes a user; disabling one or setting a new password ends their sessions. */
export async function updateUser(q: Queryable, tenantId: string, id: string, patch: UserPatch, actorUserId: string | null, now: Date): Promise<UserOut> {
  const cur = await getUser(q, tenantId, id);
  if (actorUserId === id && ((patch.disabled === true && !cur.disabled) || (patch.roleId !== undefined && patch.roleId !== cur.roleId))) {
    // Keeps an administrator from locking themselves (and maybe everyone) out.
    throw new DatongError('USER_SELF_CHANGE');
  }
  if (patch.name !== undefined && (patch.name.trim() === '' || patch.name.length > 120)) throw new DatongError('VALIDATION_FAILED', 'name must be 1 to 120 characters');
  if (patch.roleId !== undefined) await getRole(q, tenantId, patch.roleId);
  await checkTeam(q, tenantId, patch.teamId);
  let passwordHash: string | null = null;
  if (patch.password !== undefined) {
    checkPassword(patch.password);
    passwordHash = await hashPassword(patch.password);
  }
  await q.query(
    `UPDATE users SET name = $3, role_id = $4, team_id = $5, disabled = $6, locale = $7, password_hash = COALESCE($8, password_hash),
       failed_attempts = CASE WHEN $8::text IS NULL THEN failed_attempts ELSE 0 END,
       locked_until = CASE WHEN $8::text IS NULL THEN locked_until ELSE NULL END, updated_at = $9
     WHERE tenant_id = $1 AND id = $2`,
    [
      tenantId,
      id,
      patch.name?.trim() ?? cur.name,
      patch.roleId ?? cur.roleId,
      patch.teamId === undefined ? cur.teamId : patch.teamId,
      patch.disabled ?? cur.disabled,
      patch.locale ?? cur.locale,
      passwordHash,
      now.toISOString(),
    ],
  );
  if (patch.disabled === true || passwordHash !== null) await revokeUserSessions(q, tenantId, id, now);
  return getUser(q, tenantId, id);
}

export async function revokeUserSessions(q: Queryable, tenantId: string, userId: string, now: Date, exceptSessionId?: string): Promise<void> {
  await q.query('UPDATE user_sessions SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND id <> $4', [
    tenantId,
    userId,
    now.toISOString(),
    exceptSessionId ?? '',
  ]);
}

export interface RoleInput {
  readonly name: string;
  readonly permissions: readonly string[];
  readonly dataScope: DataScope;
  readonly maskPii: boolean;
}

export async function createRole(q: Queryable, tenantId: string, input: RoleInput, now: Date): Promise<RoleOut> {
  await ensureBuiltinRoles(q, tenantId);
  const perms = checkPermissions(input.permissions);
  const name = input.name.trim();
  const id = newId('rol', now.getTime());
  const r = await q.query(
    `INSERT INTO roles (tenant_id, id, name, builtin, permissions, data_scope, mask_pii, created_at, updated_at)
     VALUES ($1, $2, $3, false, $4::text[], $5, $6, $7, $7) ON CONFLICT (tenant_id, name) DO NOTHING`,
    [tenantId, id, name, perms, input.dataScope, input.maskPii, now.toISOString()],
  );
  if (r.affectedRows === 0) throw new DatongError('ROLE_NAME_TAKEN', `A role named ${name} exists`);
  return roleOut(await getRole(q, tenantId, id));
}

export async function updateRole(q: Queryable, tenantId: string, id: string, patch: Partial<RoleInput>, now: Date): Promise<RoleOut> {
  const cur = await getRole(q, tenantId, id);
  if (cur.id === ADMIN_ROLE_ID) throw new DatongError('ROLE_BUILTIN', 'The admin role always has every permission and sees everything');
  const perms = patch.permissions ? checkPermissions(patch.permissions) : cur.permissions;
  const name = patch.name?.trim() ?? cur.name;
  if (cur.builtin && name !== cur.name) throw new DatongError('ROLE_BUILTIN', 'Built-in roles keep their names');
  const clash = await q.query('SELECT 1 FROM roles WHERE tenant_id = $1 AND name = $2 AND id <> $3', [tenantId, name, id]);
  if (clash.rows.length > 0) throw new DatongError('ROLE_NAME_TAKEN', `A role named ${name} exists`);
  await q.query('UPDATE roles SET name = $3, permissions = $4::text[], data_scope = $5, mask_pii = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    id,
    name,
    perms,
    patch.dataScope ?? cur.data_scope,
    patch.maskPii ?? cur.mask_pii,
    now.toISOString(),
  ]);
  return roleOut(await getRole(q, tenantId, id));
}

export async function deleteRole(q: Queryable, tenantId: string, id: string): Promise<void> {
  const cur = await getRole(q, tenantId, id);
  if (cur.builtin) throw new DatongError('ROLE_BUILTIN');
  const used = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE tenant_id = $1 AND role_id = $2', [tenantId, id]);
  const n = used.rows[0]?.n ?? 0;
  if (n > 0) throw new DatongError('ROLE_IN_USE', `${n} user(s) have this role; give them another role first`);
  await q.query('DELETE FROM roles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
}

export async function listTeams(q: Queryable, tenantId: string): Promise<{ id: string; name: string; createdAt: string }[]> {
  const r = await q.query<{ id: string; name: string; created_at: Date }>('SELECT id, name, created_at FROM teams WHERE tenant_id = $1 ORDER BY name, id', [tenantId]);
  return r.rows.map((t) => ({ id: t.id, name: t.name, createdAt: isoReq(t.created_at) }));
}

export async function createTeam(q: Queryable, tenantId: string, name: string, now: Date): Promise<{ id: string; name: string; createdAt: string }> {
  const id = newId('team', now.getTime());
  const clean = name.trim();
  const r = await q.query('INSERT INTO teams (tenant_id, id, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, name) DO NOTHING', [
    tenantId,
    id,
    clean,
    now.toISOString(),
  ]);
  if (r.affectedRows === 0) throw new DatongError('TEAM_NAME_TAKEN', `A team named ${clean} exists`);
  return { id, name: clean, createdAt: now.toISOString() };
}
