/**
 * What a console user may do (permissions) and see (data scope, masking). Roles grant both;
 * the server enforces them on every request (issue 3, C13).
 */
export const PERMISSIONS = [
  'customers.read',
  'customers.write',
  'customers.export',
  'pii.reveal',
  'tags.manage',
  'connectors.manage',
  'webhooks.manage',
  'quarantine.manage',
  'settings.manage',
  'users.manage',
  'audit.read',
  'monitor.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(p: string): p is Permission {
  return (PERMISSIONS as readonly string[]).includes(p);
}

/** own: customers whose owner is the user; team: owned by a member of the user's team; all: every customer. */
export const DATA_SCOPES = ['own', 'team', 'all'] as const;
export type DataScope = (typeof DATA_SCOPES)[number];

export interface RoleDefinition {
  readonly id: string;
  readonly name: string;
  readonly permissions: readonly Permission[];
  readonly dataScope: DataScope;
  readonly maskPii: boolean;
}

/** Roles every tenant has. Their ids are fixed, so `--role admin` and `roleId: "sales"` work everywhere. */
export const BUILTIN_ROLES: readonly RoleDefinition[] = [
  { id: 'admin', name: 'admin', permissions: PERMISSIONS, dataScope: 'all', maskPii: false },
  {
    id: 'ops',
    name: 'ops',
    permissions: ['customers.read', 'customers.write', 'customers.export', 'pii.reveal', 'tags.manage', 'quarantine.manage', 'monitor.read'],
    dataScope: 'all',
    maskPii: true,
  },
  // Sales see their own customers whole (masking off) and nobody else's.
  { id: 'sales', name: 'sales', permissions: ['customers.read', 'customers.write'], dataScope: 'own', maskPii: false },
  // Service staff call customers back: masked by default, revealing one value is audited.
  { id: 'service', name: 'service', permissions: ['customers.read', 'customers.write', 'pii.reveal'], dataScope: 'all', maskPii: true },
  { id: 'finance', name: 'finance', permissions: ['customers.read', 'customers.export', 'monitor.read'], dataScope: 'all', maskPii: true },
];

export const ADMIN_ROLE_ID = 'admin';

export interface ScopedViewer {
  readonly id: string;
  readonly teamId: string | null;
  readonly dataScope: DataScope;
}

/**
 * Whether a viewer may see a customer owned by `owner` (null: no owner). A `team` viewer
 * without a team sees only their own customers.
 */
export function customerInScope(viewer: ScopedViewer, owner: { id: string; teamId: string | null } | null): boolean {
  if (viewer.dataScope === 'all') return true;
  if (owner === null) return false;
  if (owner.id === viewer.id) return true;
  return viewer.dataScope === 'team' && viewer.teamId !== null && owner.teamId === viewer.teamId;
}
