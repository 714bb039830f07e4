// Shapes of the /v1 API as the console reads them. They mirror @datong/contracts (the existing
// routes) and the console contract of issue 3 (sign-in, users, roles, teams, audit, masking).

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  requestId?: string;
  errors?: { pointer: string; message: string }[];
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

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

export type DataScope = 'own' | 'team' | 'all';
export type Locale = 'zh-CN' | 'en';

export interface Role {
  id: string;
  name: string;
  builtin: boolean;
  permissions: string[];
  dataScope: DataScope;
  maskPii: boolean;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  locale: Locale;
  teamId: string | null;
  totpEnabled: boolean;
  role: Role;
}

export interface Session {
  user: Me;
  csrfToken: string;
}

export interface User {
  id: string;
  email: string;
  name: string;
  roleId: string;
  teamId: string | null;
  locale: Locale;
  totpEnabled: boolean;
  disabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface Team {
  id: string;
  name: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { type: 'user' | 'apiKey' | 'system'; id: string; label: string };
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: unknown;
  ip: string | null;
}

export interface Owner {
  id: string;
  name: string;
}

export interface CustomerSummary {
  id: string;
  traits: Record<string, unknown>;
  tags: string[];
  firstSeenAt: string;
  lastSeenAt: string;
  createdAt: string;
  owner?: Owner | null;
  /** The first phone (E.164) and email; masked for roles that mask personal data. */
  phone?: string | null;
  email?: string | null;
  masked?: boolean;
}

export interface Identity {
  id?: string;
  type: string;
  collection: string | null;
  value: string;
  customerId: string;
  sourceId: string | null;
  createdAt: string;
}

export type TagSource = 'manual' | 'rule' | 'platform';

export interface CustomerTag {
  name: string;
  source: TagSource;
  ruleId: string | null;
  addedAt: string;
  expiresAt: string | null;
}

export interface MergeRecord {
  id: string;
  fromCustomerId: string;
  intoCustomerId: string;
  identifierType: string;
  rule: string;
  sourceId: string | null;
  messageId: string | null;
  createdAt: string;
  unmergedAt: string | null;
}

export interface Customer {
  id: string;
  traits: Record<string, unknown>;
  identities: Identity[];
  tags: CustomerTag[];
  consent: Record<string, unknown>;
  tier: string | null;
  counts: { events: number; orders: number; mergedCustomers: number };
  spend: { currency: string; total: string }[];
  mergedCustomerIds: string[];
  merges: MergeRecord[];
  firstSeenAt: string;
  lastSeenAt: string;
  createdAt: string;
  updatedAt: string;
  owner?: Owner | null;
  masked?: boolean;
}

export interface TimelineItem {
  id: string;
  type: string;
  event: string | null;
  occurredAt: string;
  receivedAt: string;
  source: { id: string; name: string | null; type: string | null };
  channel: string | null;
  customerId: string;
  messageId: string;
  properties: Record<string, unknown>;
}

export interface Source {
  id: string;
  name: string;
  type: string;
  writeKey: string;
  createdAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

export interface TagDefinition {
  name: string;
  description: string | null;
  visible: boolean;
  customers: number;
}

export interface TagRule {
  id: string;
  name: string;
  tag: string;
  condition: unknown;
  enabled: boolean;
  timeDependent: boolean;
  createdAt: string;
  updatedAt: string;
  lastRecomputedAt: string | null;
}

/** POST /v1/tag-rules/preview: the customers a condition matches now (count over the tenant, sample in scope). */
export interface TagRulePreview {
  count: number;
  total: number;
  sample: CustomerSummary[];
}

export const WEBHOOK_EVENT_TYPES = ['customer.created', 'customer.updated', 'customer.merged', 'customer.unmerged', 'tag.added', 'tag.removed', 'event.received'] as const;

export interface Webhook {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  enabled: boolean;
  createdAt: string;
  secret?: string;
}

export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'dead';

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  latencyMs: number | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface QuarantineItem {
  id: string;
  kind: 'message' | 'value';
  sourceId: string | null;
  messageId: string | null;
  field: string | null;
  reason: string;
  payload: unknown;
  status: 'open' | 'fixed' | 'discarded';
  createdAt: string;
  resolvedAt: string | null;
}

export interface IdentityRules {
  priority: string[];
  limits: Record<string, number>;
  blocked: { type: string; value: string; collection?: string }[];
}

export interface Connector {
  id: string;
  platform: string;
  name: string;
  config: Record<string, unknown>;
  sourceId: string;
  enabled: boolean;
  createdAt: string;
  /** Target field → JSONata expression. */
  mapping?: Record<string, string>;
}

export interface ConnectorTemplate {
  format: 'datong.connector-template';
  version: 1;
  platform: string;
  name: string;
  config: Record<string, unknown>;
  secrets: string[];
  mapping: Record<string, string>;
  exportedAt?: string;
}

export const IDENTIFIER_TYPES = [
  'user_id',
  'anonymous_id',
  'phone',
  'email',
  'wechat_openid',
  'wechat_unionid',
  'wecom_external_userid',
  'youzan_open_id',
  'taobao_open_uid',
  'douyin_open_id',
  'meituan_user_id',
  'crm_id',
] as const;
