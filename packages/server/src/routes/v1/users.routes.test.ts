import { BUILTIN_ROLES } from '@datong/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, type Harness } from '../../test-support/harness.js';
import { createUser, loginRequest, signIn, TEST_PASSWORD } from '../../test-support/console-users.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, key = h.adminKey) =>
  h.inject({ method, url, headers: bearer(key), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

describe('users', () => {
  it('creates the first administrator with the bootstrap admin key, who can then sign in', async () => {
    const r = await admin('POST', '/v1/users', { email: ' Boss@Example.COM ', name: '老板', roleId: 'admin', password: TEST_PASSWORD });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({
      id: expect.stringMatching(/^usr_/),
      email: 'boss@example.com',
      name: '老板',
      roleId: 'admin',
      teamId: null,
      locale: 'zh-CN',
      totpEnabled: false,
      disabled: false,
      lastLoginAt: null,
      lockedUntil: null,
      createdAt: expect.any(String),
    });
    // The password is stored as an argon2id hash only.
    const row = await h.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [r.json().id]);
    expect(row.rows[0]?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const b = await signIn(h, 'boss@example.com');
    expect((await b.get(`/v1/users/${r.json().id}`)).json().lastLoginAt).not.toBeNull();
  });

  it('refuses a taken email (any case), a short password, an unknown role or team, and unknown fields', async () => {
    await createUser(h, 'taken@example.com', 'sales');
    const dup = await admin('POST', '/v1/users', { email: 'TAKEN@example.com', name: 'x', roleId: 'sales', password: TEST_PASSWORD });
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'USER_EMAIL_TAKEN']);
    expect((await admin('POST', '/v1/users', { email: 'short@example.com', name: 'x', roleId: 'sales', password: 'short' })).json().code).toBe('VALIDATION_FAILED');
    expect((await admin('POST', '/v1/users', { email: 'not-an-email', name: 'x', roleId: 'sales', password: TEST_PASSWORD })).json().code).toBe('VALIDATION_FAILED');
    const role = await admin('POST', '/v1/users', { email: 'r@example.com', name: 'x', roleId: 'superuser', password: TEST_PASSWORD });
    expect([role.statusCode, role.json().code]).toEqual([404, 'ROLE_NOT_FOUND']);
    expect((await admin('POST', '/v1/users', { email: 't@example.com', name: 'x', roleId: 'sales', teamId: 'team_x', password: TEST_PASSWORD })).json().code).toBe('TEAM_NOT_FOUND');
    expect((await admin('POST', '/v1/users', { email: 'x@example.com', name: 'x', roleId: 'sales', password: TEST_PASSWORD, isAdmin: true })).statusCode).toBe(400);
  });

  it('lists, reads and changes users; disabling one ends their sessions', async () => {
    const u = await createUser(h, 'temp@example.com', 'service');
    const b = await signIn(h, 'temp@example.com');
    const list = (await admin('GET', '/v1/users')).json().data as { email: string }[];
    expect(list.map((x) => x.email)).toContain('temp@example.com');
    const changed = await admin('PATCH', `/v1/users/${u.id}`, { name: '客服小李', locale: 'en' });
    expect(changed.json()).toMatchObject({ name: '客服小李', locale: 'en', roleId: 'service' });
    expect((await admin('DELETE', `/v1/users/${u.id}`)).statusCode).toBe(204);
    expect((await admin('GET', `/v1/users/${u.id}`)).json().disabled).toBe(true);
    expect((await b.get('/v1/auth/me')).statusCode).toBe(401);
    expect((await loginRequest(h, 'temp@example.com')).statusCode).toBe(401);
    // Enabled again with a new password set by an administrator.
    await admin('PATCH', `/v1/users/${u.id}`, { disabled: false, password: 'reset by admin 1' });
    expect((await loginRequest(h, 'temp@example.com', 'reset by admin 1')).statusCode).toBe(200);
    expect((await admin('GET', '/v1/users/usr_missing')).json().code).toBe('USER_NOT_FOUND');
  });

  it('keeps an administrator from disabling themselves or changing their own role', async () => {
    const me = await createUser(h, 'self@example.com', 'admin');
    const b = await signIn(h, 'self@example.com');
    const off = await b.inject({ method: 'DELETE', url: `/v1/users/${me.id}` });
    expect([off.statusCode, off.json().code]).toEqual([409, 'USER_SELF_CHANGE']);
    expect((await b.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, payload: { roleId: 'sales' } })).json().code).toBe('USER_SELF_CHANGE');
    expect((await b.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, payload: { name: 'Still me' } })).statusCode).toBe(200);
  });

  it('keeps users of other tenants out of reach', async () => {
    const other = await h.newTenant();
    const mine = await createUser(h, 'mine@example.com', 'sales');
    expect((await admin('GET', `/v1/users/${mine.id}`, undefined, other.adminKey)).statusCode).toBe(404);
    expect((await admin('PATCH', `/v1/users/${mine.id}`, { disabled: true }, other.adminKey)).statusCode).toBe(404);
    expect((await admin('GET', '/v1/users', undefined, other.adminKey)).json().data).toEqual([]);
    // Built-in roles exist in a tenant created without the bootstrap (seeded on first use).
    const roles = (await admin('GET', '/v1/roles', undefined, other.adminKey)).json().data as { id: string }[];
    expect(roles.map((r) => r.id)).toEqual(BUILTIN_ROLES.map((r) => r.id));
  });
});

describe('roles and teams', () => {
  it('lists the built-in roles with their permissions, scopes and masking', async () => {
    const roles = (await admin('GET', '/v1/roles')).json().data as { id: string; builtin: boolean; dataScope: string; maskPii: boolean; permissions: string[] }[];
    expect(roles.filter((r) => r.builtin).map((r) => [r.id, r.dataScope, r.maskPii])).toEqual([
      ['admin', 'all', false],
      ['ops', 'all', true],
      ['sales', 'own', false],
      ['service', 'all', true],
      ['finance', 'all', true],
    ]);
    expect(roles.find((r) => r.id === 'finance')?.permissions).toEqual(['customers.read', 'customers.export', 'monitor.read']);
  });

  it('creates, changes and deletes a custom role, and refuses to delete one in use', async () => {
    const r = await admin('POST', '/v1/roles', { name: '门店店长', permissions: ['customers.read', 'tags.manage'], dataScope: 'team', maskPii: true });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: expect.stringMatching(/^rol_/), name: '门店店长', builtin: false, permissions: ['customers.read', 'tags.manage'], dataScope: 'team', maskPii: true });
    const dup = await admin('POST', '/v1/roles', { name: '门店店长', permissions: [], dataScope: 'own', maskPii: true });
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'ROLE_NAME_TAKEN']);
    expect((await admin('POST', '/v1/roles', { name: 'bad', permissions: ['root'], dataScope: 'own', maskPii: true })).statusCode).toBe(400);
    const id = r.json().id as string;
    const patched = await admin('PATCH', `/v1/roles/${id}`, { maskPii: false, permissions: ['customers.read'] });
    expect(patched.json()).toMatchObject({ maskPii: false, permissions: ['customers.read'], dataScope: 'team' });
    const u = await createUser(h, 'manager@example.com', id);
    const inUse = await admin('DELETE', `/v1/roles/${id}`);
    expect([inUse.statusCode, inUse.json().code]).toEqual([409, 'ROLE_IN_USE']);
    await admin('PATCH', `/v1/users/${u.id}`, { roleId: 'sales' });
    expect((await admin('DELETE', `/v1/roles/${id}`)).statusCode).toBe(204);
    expect((await admin('GET', `/v1/roles/${id}`)).json().code).toBe('ROLE_NOT_FOUND');
  });

  it('protects built-in roles: none can be deleted, the admin role cannot change, the others keep their names', async () => {
    for (const r of BUILTIN_ROLES) expect((await admin('DELETE', `/v1/roles/${r.id}`)).json().code).toBe('ROLE_BUILTIN');
    expect((await admin('PATCH', '/v1/roles/admin', { maskPii: true })).json().code).toBe('ROLE_BUILTIN');
    expect((await admin('PATCH', '/v1/roles/ops', { name: 'operators' })).json().code).toBe('ROLE_BUILTIN');
    // Permissions of the other built-in roles can be tuned.
    const ops = await admin('PATCH', '/v1/roles/service', { permissions: ['customers.read'] });
    expect(ops.json()).toMatchObject({ id: 'service', permissions: ['customers.read'] });
    await admin('PATCH', '/v1/roles/service', { permissions: ['customers.read', 'customers.write', 'pii.reveal'] });
  });

  it('creates teams with unique names', async () => {
    const t = await admin('POST', '/v1/teams', { name: '华南大区' });
    expect(t.statusCode).toBe(201);
    expect(t.json()).toMatchObject({ id: expect.stringMatching(/^team_/), name: '华南大区' });
    expect((await admin('POST', '/v1/teams', { name: '华南大区' })).json().code).toBe('TEAM_NAME_TAKEN');
    expect((await admin('GET', '/v1/teams')).json().data.map((x: { name: string }) => x.name)).toContain('华南大区');
    const u = await createUser(h, 'south@example.com', 'sales', { teamId: t.json().id });
    expect((await admin('GET', `/v1/users/${u.id}`)).json().teamId).toBe(t.json().id);
  });

  it('lets a user with users.manage (not only the admin key) manage users', async () => {
    await admin('POST', '/v1/roles', { name: 'HR', permissions: ['users.manage'], dataScope: 'own', maskPii: true });
    const hrRole = ((await admin('GET', '/v1/roles')).json().data as { id: string; name: string }[]).find((r) => r.name === 'HR');
    await createUser(h, 'hr@example.com', hrRole?.id ?? '');
    const hr = await signIn(h, 'hr@example.com');
    const r = await hr.inject({ method: 'POST', url: '/v1/users', payload: { email: 'new.hire@example.com', name: '新人', roleId: 'sales', password: TEST_PASSWORD } });
    expect(r.statusCode).toBe(201);
    // …but nothing else.
    expect((await hr.get('/v1/customers')).json().code).toBe('AUTH_PERMISSION_MISSING');
  });
});
