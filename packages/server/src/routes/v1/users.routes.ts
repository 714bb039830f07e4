import { DatongError, type DataScope } from '@datong/core';
import { IdParam, Problem, Role, RoleCreate, RoleUpdate, Team, TeamCreate, Type, User, UserCreate, UserUpdate } from '@datong/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  createRole,
  createTeam,
  createUser,
  deleteRole,
  getUser,
  listRoles,
  listTeams,
  listUsers,
  roleOut,
  getRole,
  updateRole,
  updateUser,
  type UserPatch,
} from '../../usecases/access.js';
import type { ServerDeps } from '../../usecases/context.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const conflict = { 409: Problem };

const tenantOf = (req: FastifyRequest): string => {
  if (!req.auth) throw new DatongError('AUTH_REQUIRED');
  return req.auth.tenantId;
};

/**
 * Console users, roles and teams (issue 3, C13). Managed by users with `users.manage`, or with
 * an admin API key (so the bootstrap key can create the first administrator).
 */
export function usersRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db } = deps;

  app.get(
    '/v1/users',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage' },
      schema: { tags: ['users'], summary: 'Console users', response: { 200: Type.Object({ data: Type.Array(User) }), ...errors } },
    },
    async (req) => ({ data: await listUsers(db, tenantOf(req)) }),
  );

  app.post(
    '/v1/users',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', idempotent: true, audit: 'user.create' },
      schema: {
        tags: ['users'],
        summary: 'Create a console user with a role (admin, ops, sales, service, finance or a custom role id)',
        body: UserCreate,
        response: { 201: User, ...errors, ...conflict },
      },
    },
    async (req, reply) => {
      const b = req.body as { email: string; name: string; roleId: string; teamId?: string | null; password: string; locale?: 'zh-CN' | 'en' };
      const tenantId = tenantOf(req);
      // The role must exist by id here; names are for the CLI.
      await getRole(db, tenantId, b.roleId);
      const user = await db.tx((q) =>
        createUser(q, tenantId, { email: b.email, name: b.name, role: b.roleId, teamId: b.teamId ?? null, password: b.password, ...(b.locale ? { locale: b.locale } : {}) }, deps.clock()),
      );
      return reply.code(201).send(user);
    },
  );

  app.get(
    '/v1/users/:id',
    { config: { auth: 'apiKey:admin', permission: 'users.manage' }, schema: { tags: ['users'], summary: 'One console user', params: IdParam, response: { 200: User, ...errors } } },
    async (req) => getUser(db, tenantOf(req), (req.params as { id: string }).id),
  );

  app.patch(
    '/v1/users/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', audit: 'user.update' },
      schema: {
        tags: ['users'],
        summary: "Change a user's name, role, team, language, password or disabled flag",
        description: 'Disabling a user or setting a new password ends their sessions. Nobody can disable themselves or change their own role.',
        params: IdParam,
        body: UserUpdate,
        response: { 200: User, ...errors, ...conflict },
      },
    },
    async (req) => updateUser(db, tenantOf(req), (req.params as { id: string }).id, req.body as UserPatch, req.auth?.user?.id ?? null, deps.clock()),
  );

  app.delete(
    '/v1/users/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', audit: 'user.disable' },
      schema: {
        tags: ['users'],
        summary: 'Disable a user (kept for the audit log; sessions end)',
        params: IdParam,
        response: { 204: Type.Null(), ...errors, ...conflict },
      },
    },
    async (req, reply) => {
      await updateUser(db, tenantOf(req), (req.params as { id: string }).id, { disabled: true }, req.auth?.user?.id ?? null, deps.clock());
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/roles',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage' },
      schema: { tags: ['users'], summary: 'Roles: the built-in ones and custom roles', response: { 200: Type.Object({ data: Type.Array(Role) }), ...errors } },
    },
    async (req) => ({ data: await listRoles(db, tenantOf(req)) }),
  );

  app.post(
    '/v1/roles',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', idempotent: true, audit: 'role.create' },
      schema: { tags: ['users'], summary: 'Create a custom role: permissions, data scope and masking', body: RoleCreate, response: { 201: Role, ...errors, ...conflict } },
    },
    async (req, reply) => {
      const b = req.body as { name: string; permissions: string[]; dataScope: DataScope; maskPii: boolean };
      return reply.code(201).send(await createRole(db, tenantOf(req), b, deps.clock()));
    },
  );

  app.get(
    '/v1/roles/:id',
    { config: { auth: 'apiKey:admin', permission: 'users.manage' }, schema: { tags: ['users'], summary: 'One role', params: IdParam, response: { 200: Role, ...errors } } },
    async (req) => roleOut(await getRole(db, tenantOf(req), (req.params as { id: string }).id)),
  );

  app.patch(
    '/v1/roles/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', audit: 'role.update' },
      schema: {
        tags: ['users'],
        summary: 'Change a role (applies to its users at their next request)',
        description: 'Built-in roles keep their names; the admin role cannot be changed.',
        params: IdParam,
        body: RoleUpdate,
        response: { 200: Role, ...errors, ...conflict },
      },
    },
    async (req) => updateRole(db, tenantOf(req), (req.params as { id: string }).id, req.body as Partial<{ name: string; permissions: string[]; dataScope: DataScope; maskPii: boolean }>, deps.clock()),
  );

  app.delete(
    '/v1/roles/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', audit: 'role.delete' },
      schema: { tags: ['users'], summary: 'Delete a custom role no user has', params: IdParam, response: { 204: Type.Null(), ...errors, ...conflict } },
    },
    async (req, reply) => {
      await deleteRole(db, tenantOf(req), (req.params as { id: string }).id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/teams',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage' },
      schema: { tags: ['users'], summary: 'Teams (data scope "team": customers owned by members of the same team)', response: { 200: Type.Object({ data: Type.Array(Team) }), ...errors } },
    },
    async (req) => ({ data: await listTeams(db, tenantOf(req)) }),
  );

  app.post(
    '/v1/teams',
    {
      config: { auth: 'apiKey:admin', permission: 'users.manage', idempotent: true, audit: 'team.create' },
      schema: { tags: ['users'], summary: 'Create a team', body: TeamCreate, response: { 201: Team, ...errors, ...conflict } },
    },
    async (req, reply) => reply.code(201).send(await createTeam(db, tenantOf(req), (req.body as { name: string }).name, deps.clock())),
  );
}
