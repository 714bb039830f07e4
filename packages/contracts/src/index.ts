/**
 * TypeBox schemas of Datong's public REST API: request validation, response types and the
 * OpenAPI 3.1 document all come from these. Field names are camelCase, except the
 * Segment-compatible ingest, which keeps Segment's names.
 */
import { DATA_SCOPES, IDENTIFIER_TYPES, PERMISSIONS } from '@datong/core';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export { Type, type Static, type TSchema };

/** RFC 9457 problem details, with Datong's stable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI of the error documentation' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String({ description: 'Stable error code, see docs/errors.md' }),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ pointer: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true },
);

export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const CursorQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'Opaque cursor from `nextCursor` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const IdentifierTypeSchema = Type.Union(IDENTIFIER_TYPES.map((t) => Type.Literal(t)));

export const Identity = Type.Object({
  id: Type.String({ description: 'Opaque identity id (for POST /v1/customers/{id}/reveal)' }),
  type: Type.String(),
  collection: Type.Union([Type.String(), Type.Null()]),
  value: Type.String({ description: 'Masked (e.g. 138****5678) for roles that mask personal data' }),
  customerId: Type.String({ description: 'The (possibly merged) customer record that holds it' }),
  sourceId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CustomerTag = Type.Object({
  name: Type.String(),
  source: Type.Union([Type.Literal('manual'), Type.Literal('rule'), Type.Literal('platform')]),
  ruleId: Type.Union([Type.String(), Type.Null()]),
  addedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const MergeRecord = Type.Object({
  id: Type.String(),
  fromCustomerId: Type.String(),
  intoCustomerId: Type.String(),
  identifierType: Type.String({ description: "Type of the merged customer's identifier that the linking message carried" }),
  rule: Type.String(),
  sourceId: Type.Union([Type.String(), Type.Null()]),
  messageId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  unmergedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** The console user responsible for a customer (data scopes "own" and "team"). */
export const CustomerOwner = Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]);

const maskedFlag = Type.Optional(Type.Boolean({ description: 'true when personal values were masked for the caller\'s role' }));

export const Customer = Type.Object({
  id: Type.String(),
  owner: CustomerOwner,
  masked: maskedFlag,
  traits: Type.Record(Type.String(), Type.Unknown()),
  identities: Type.Array(Identity),
  tags: Type.Array(CustomerTag),
  consent: Type.Record(Type.String(), Type.Unknown()),
  tier: Type.Union([Type.String(), Type.Null()]),
  counts: Type.Object({
    events: Type.Integer(),
    orders: Type.Integer(),
    mergedCustomers: Type.Integer(),
  }),
  spend: Type.Array(Type.Object({ currency: Type.String(), total: Type.String({ description: 'Exact decimal' }) })),
  mergedCustomerIds: Type.Array(Type.String()),
  merges: Type.Array(MergeRecord),
  firstSeenAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Customer = Static<typeof Customer>;

export const CustomerSummary = Type.Object({
  id: Type.String(),
  owner: CustomerOwner,
  phone: Type.Union([Type.String(), Type.Null()], { description: 'The first phone (E.164) of the customer; masked for roles that mask personal data' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'The first email of the customer; masked likewise' }),
  masked: maskedFlag,
  traits: Type.Record(Type.String(), Type.Unknown()),
  tags: Type.Array(Type.String()),
  firstSeenAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const TimelineItem = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'identify, track, page, screen, alias or group' }),
  event: Type.Union([Type.String(), Type.Null()], { description: "The track event's name (or the page name)" }),
  occurredAt: Type.String({ format: 'date-time' }),
  receivedAt: Type.String({ format: 'date-time' }),
  source: Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]), type: Type.Union([Type.String(), Type.Null()]) }),
  channel: Type.Union([Type.String(), Type.Null()]),
  customerId: Type.String(),
  messageId: Type.String(),
  properties: Type.Record(Type.String(), Type.Unknown()),
  masked: maskedFlag,
});

export const CustomerUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: 'Sets traits.name' })),
    traits: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        maxProperties: 100,
        description: 'Traits to set (merged into the existing ones); null removes a trait',
      }),
    ),
    ownerId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], { description: 'A user id, or null for no owner' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const RevealBody = Type.Object(
  {
    field: Type.Union([Type.Literal('phone'), Type.Literal('email'), Type.Literal('name'), Type.Literal('identity')]),
    identityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'With field=identity: the id of the identity' })),
  },
  { additionalProperties: false },
);
export const RevealResult = Type.Object({ value: Type.Union([Type.String(), Type.Null()]) });

export const ExportQuery = Type.Object({
  format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx')], { default: 'csv' }),
  q: Type.Optional(Type.String({ maxLength: 200 })),
  tag: Type.Optional(Type.String({ maxLength: 64 })),
  segment: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Members of this segment only' })),
});

// Console access (issue 3, C13): sign-in, users, roles, teams, audit log.

export const PermissionSchema = Type.Union(PERMISSIONS.map((p) => Type.Literal(p)));
export const DataScopeSchema = Type.Union(DATA_SCOPES.map((s) => Type.Literal(s)));
export const Locale = Type.Union([Type.Literal('zh-CN'), Type.Literal('en')]);

export const Role = Type.Object({
  id: Type.String(),
  name: Type.String(),
  builtin: Type.Boolean(),
  permissions: Type.Array(PermissionSchema),
  dataScope: DataScopeSchema,
  maskPii: Type.Boolean(),
});
export const RoleCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 60 }),
    permissions: Type.Array(PermissionSchema, { uniqueItems: true }),
    dataScope: DataScopeSchema,
    maskPii: Type.Boolean(),
  },
  { additionalProperties: false },
);
export const RoleUpdate = Type.Partial(RoleCreate, { additionalProperties: false });

export const Team = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) });
export const TeamCreate = Type.Object({ name: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });

const Password = Type.String({ minLength: 10, maxLength: 200 });

export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  roleId: Type.String(),
  teamId: Type.Union([Type.String(), Type.Null()]),
  locale: Locale,
  totpEnabled: Type.Boolean(),
  disabled: Type.Boolean(),
  lastLoginAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lockedUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Set while sign-in is locked after failures' }),
  createdAt: Type.String({ format: 'date-time' }),
});
export const UserCreate = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    name: Type.String({ minLength: 1, maxLength: 120 }),
    roleId: Type.String({ minLength: 1, maxLength: 64 }),
    teamId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    password: Password,
    locale: Type.Optional(Locale),
  },
  { additionalProperties: false },
);
export const UserUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    roleId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    teamId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    disabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Password),
    locale: Type.Optional(Locale),
  },
  { additionalProperties: false },
);

/** The signed-in user, with the role that decides what they may do and see. */
export const Me = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  locale: Locale,
  teamId: Type.Union([Type.String(), Type.Null()]),
  totpEnabled: Type.Boolean(),
  role: Role,
});
export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
    totpCode: Type.Optional(Type.String({ maxLength: 10 })),
    recoveryCode: Type.Optional(Type.String({ maxLength: 40 })),
    tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only needed when one email has accounts in several tenants' })),
  },
  { additionalProperties: false },
);
export const Session = Type.Object({ user: Me, csrfToken: Type.String({ description: 'Send as X-CSRF-Token on every non-GET request' }) });
export const TotpSetup = Type.Object({
  secret: Type.String({ description: 'Base32, for manual entry' }),
  otpauthUrl: Type.String(),
  qrDataUrl: Type.String({ description: 'data:image/svg+xml QR code of otpauthUrl' }),
});
export const TotpEnable = Type.Object({ code: Type.String({ minLength: 6, maxLength: 10 }) }, { additionalProperties: false });
export const TotpRecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String(), { description: 'Shown once; each works once' }) });
export const PasswordConfirm = Type.Object({ password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const PasswordChange = Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 200 }), newPassword: Password }, { additionalProperties: false });

export const AuditEntry = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({
    type: Type.Union([Type.Literal('user'), Type.Literal('apiKey'), Type.Literal('system')]),
    id: Type.Union([Type.String(), Type.Null()]),
    label: Type.Union([Type.String(), Type.Null()]),
  }),
  action: Type.String({ description: 'customer.read, customer.reveal, auth.login, … or "<METHOD> <route>" for other changes' }),
  resourceType: Type.Union([Type.String(), Type.Null()]),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  ip: Type.Union([Type.String(), Type.Null()]),
});
export const AuditQuery = Type.Object({
  actorId: Type.Optional(Type.String({ maxLength: 64 })),
  actorType: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('apiKey'), Type.Literal('system')])),
  action: Type.Optional(Type.String({ maxLength: 200 })),
  resourceType: Type.Optional(Type.String({ maxLength: 64 })),
  resourceId: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  ...CursorQuery,
});

export const SourceCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  type: Type.String({
    minLength: 1,
    maxLength: 40,
    pattern: '^[a-z0-9_\\-]+$',
    description: 'Kind of source, also the channel of its events unless they say otherwise: web, miniprogram, server, douyin, …',
  }),
});
export const Source = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  writeKey: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const ApiScope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]);
export const ApiKeyCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  scopes: Type.Array(ApiScope, { minItems: 1, uniqueItems: true }),
});
export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  key: Type.Optional(Type.String({ description: 'The key itself; returned once, on creation' })),
});

export const TagsBody = Type.Object({
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
});
export const TagsAddBody = Type.Object({
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'The tags lapse at this time (e.g. a 30-day campaign tag)' })),
});

export const TagDefinition = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  visible: Type.Boolean({ description: 'Shown to the customer in the mall (/v1/miniprogram/{id}/me)' }),
  customers: Type.Integer(),
});
export const TagDefinitionUpdate = Type.Object({
  description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  visible: Type.Optional(Type.Boolean()),
});

export const TagRuleCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  tag: Type.String({ minLength: 1, maxLength: 64 }),
  condition: Type.Unknown({
    description:
      'A leaf ({type: event_count|total_spend|order_count|days_since_last_order|first_channel, …}) or {all: [...]} / {any: [...]}',
  }),
  enabled: Type.Optional(Type.Boolean()),
});
export const TagRuleUpdate = Type.Partial(TagRuleCreate);
export const TagRule = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tag: Type.String(),
  condition: Type.Unknown(),
  enabled: Type.Boolean(),
  timeDependent: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastRecomputedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const RecomputeResult = Type.Object({ evaluated: Type.Integer(), added: Type.Integer(), removed: Type.Integer() });
export const TagRulePreviewBody = Type.Object({
  condition: Type.Unknown({ description: 'The condition as in a rule (see POST /v1/tag-rules)' }),
});
export const TagRulePreview = Type.Object({
  count: Type.Integer({ description: 'Customers (merged ones once, as their root) the condition matches now, over the whole tenant' }),
  total: Type.Integer({ description: 'Customers of the tenant' }),
  sample: Type.Array(CustomerSummary, { description: "A few matching customers in the caller's data scope, masked like the customers list" }),
});

export const WEBHOOK_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.merged',
  'customer.unmerged',
  'tag.added',
  'tag.removed',
  'event.received',
] as const;
export const WebhookEventType = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)));
export const WebhookCreate = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 2048 }),
  eventTypes: Type.Array(WebhookEventType, { minItems: 1, uniqueItems: true }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
});
export const WebhookUpdate = Type.Object({
  url: Type.Optional(Type.String({ minLength: 8, maxLength: 2048 })),
  eventTypes: Type.Optional(Type.Array(WebhookEventType, { minItems: 1, uniqueItems: true })),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  enabled: Type.Optional(Type.Boolean()),
});
export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  secret: Type.Optional(Type.String({ description: 'Signing secret (whsec_…); returned once, on creation' })),
});
export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'The webhook-id header; the same on every retry' }),
  subscriptionId: Type.String(),
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivering'), Type.Literal('succeeded'), Type.Literal('dead')]),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  latencyMs: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const QuarantineItem = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('message'), Type.Literal('value')]),
  sourceId: Type.Union([Type.String(), Type.Null()]),
  messageId: Type.Union([Type.String(), Type.Null()]),
  field: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  payload: Type.Unknown(),
  status: Type.Union([Type.Literal('open'), Type.Literal('fixed'), Type.Literal('discarded')]),
  createdAt: Type.String({ format: 'date-time' }),
  resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const QuarantineFix = Type.Object({
  payload: Type.Unknown({ description: 'The corrected message (kind=message) or value (kind=value)' }),
});

export const IdentityRulesBody = Type.Object({
  priority: Type.Optional(Type.Array(IdentifierTypeSchema, { uniqueItems: true })),
  limits: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 1 }))),
  blocked: Type.Optional(
    Type.Array(Type.Object({ type: IdentifierTypeSchema, value: Type.String({ minLength: 1 }), collection: Type.Optional(Type.String()) }), {
      maxItems: 10000,
    }),
  ),
});
export const IdentityRules = Type.Object({
  priority: Type.Array(Type.String()),
  limits: Type.Record(Type.String(), Type.Integer()),
  blocked: Type.Array(Type.Object({ type: Type.String(), value: Type.String(), collection: Type.Optional(Type.String()) })),
});

export const ConnectorCreate = Type.Object({
  platform: Type.String({ minLength: 1, maxLength: 40, description: 'wechat_miniprogram' }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
  config: Type.Record(Type.String(), Type.Unknown()),
});
/** Target field (a dotted path builds nested objects) → JSONata expression. */
export const ConnectorMapping = Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.String({ maxLength: 4000 }), {
  maxProperties: 200,
  description: 'Target field (dotted path for nested output) → JSONata expression (https://docs.jsonata.org/)',
  examples: [{ userId: 'buyer_info.buyer_phone', 'traits.name': 'address_info.receiver_name' }],
});
export const Connector = Type.Object({
  id: Type.String(),
  platform: Type.String(),
  name: Type.String(),
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'Secrets are masked' }),
  sourceId: Type.String(),
  enabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  mapping: ConnectorMapping,
});

export const BenefitCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 50 }),
  match: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('any')], { default: 'any' })),
  active: Type.Optional(Type.Boolean()),
  startsAt: Type.Optional(Type.String({ format: 'date-time' })),
  endsAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export const BenefitUpdate = Type.Partial(BenefitCreate);
export const Benefit = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  match: Type.String(),
  active: Type.Boolean(),
  startsAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  endsAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

// Sync monitor, field mappings and connector templates (issue 3).

const NullableMs = Type.Union([Type.Number(), Type.Null()]);
const MonitorBucket = Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')]);
const MonitorWindowQuery = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (inclusive); default: 24 h before `to`. The window is at most 31 days.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive); default: now' })),
};
export const MonitorOverviewQuery = Type.Object({
  ...MonitorWindowQuery,
  bucket: Type.Optional(MonitorBucket),
  tz: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone where hours and days start (default UTC), e.g. Asia/Shanghai' })),
});
const SourceCounts = {
  received: Type.Integer(),
  processed: Type.Integer(),
  quarantined: Type.Integer(),
  lagP50Ms: Type.Union([Type.Number(), Type.Null()], { description: 'Accepted → processed, milliseconds' }),
  lagP95Ms: NullableMs,
};
const WebhookCounts = { attempts: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer(), p50Ms: NullableMs, p95Ms: NullableMs };
export const MonitorOverview = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  bucket: MonitorBucket,
  tz: Type.String(),
  series: Type.Object({
    sources: Type.Array(
      Type.Object({
        sourceId: Type.String(),
        name: Type.String(),
        type: Type.String(),
        connectorId: Type.Union([Type.String(), Type.Null()]),
        totals: Type.Object(SourceCounts),
        points: Type.Array(Type.Object({ at: Type.String({ format: 'date-time', description: 'Bucket start' }), ...SourceCounts })),
      }),
    ),
    webhooks: Type.Array(
      Type.Object({
        subscriptionId: Type.String(),
        url: Type.String(),
        description: Type.Union([Type.String(), Type.Null()]),
        enabled: Type.Boolean(),
        totals: Type.Object({
          ...WebhookCounts,
          deliveries: Type.Integer({ description: 'Deliveries created in the window' }),
          pending: Type.Integer({ description: 'Of those, still being retried' }),
          dead: Type.Integer({ description: 'Of those, dead-lettered' }),
        }),
        points: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), ...WebhookCounts })),
      }),
    ),
  }),
  totals: Type.Object({
    received: Type.Integer(),
    processed: Type.Integer(),
    quarantined: Type.Integer(),
    deliveries: Type.Integer(),
    attempts: Type.Integer(),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    pending: Type.Integer(),
    dead: Type.Integer(),
  }),
});
export const MonitorErrorsQuery = Type.Object({
  ...MonitorWindowQuery,
  kind: Type.Optional(Type.Union([Type.Literal('webhook'), Type.Literal('ingest')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  sourceId: Type.Optional(Type.String({ maxLength: 64 })),
  subscriptionId: Type.Optional(Type.String({ maxLength: 64 })),
});
export const MonitorError = Type.Union([
  Type.Object({
    kind: Type.Literal('webhook'),
    at: Type.String({ format: 'date-time', description: 'When the attempt was made' }),
    subscriptionId: Type.String(),
    url: Type.Union([Type.String(), Type.Null()]),
    deliveryId: Type.String(),
    eventType: Type.String(),
    attempt: Type.Integer(),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    latencyMs: Type.Integer(),
    error: Type.String(),
    deliveryStatus: Type.String({ description: 'pending, delivering, succeeded or dead (replay dead ones from the webhooks API)' }),
    excerpt: Type.String({ description: 'The delivery body as JSON with personal data masked, at most 2,000 characters' }),
  }),
  Type.Object({
    kind: Type.Literal('ingest'),
    at: Type.String({ format: 'date-time', description: 'When the record was quarantined' }),
    quarantineId: Type.String(),
    quarantineKind: Type.String({ description: 'message or value' }),
    sourceId: Type.Union([Type.String(), Type.Null()]),
    sourceName: Type.Union([Type.String(), Type.Null()]),
    messageId: Type.Union([Type.String(), Type.Null()]),
    field: Type.Union([Type.String(), Type.Null()]),
    reason: Type.String(),
    status: Type.String({ description: 'open, fixed or discarded' }),
    excerpt: Type.Union([Type.String(), Type.Null()], { description: 'The quarantined payload as JSON with personal data masked' }),
  }),
]);
export const MonitorErrors = Type.Object({ data: Type.Array(MonitorError) });

export const MappingFieldError = Type.Object({
  field: Type.String(),
  code: Type.String({ description: "JSONata's error code (e.g. S0203, T2001, D1012 timeout) or a MAPPING_* code" }),
  message: Type.String(),
  position: Type.Optional(Type.Integer({ description: 'Character offset in the expression' })),
  token: Type.Optional(Type.String()),
});
export const MappingPreviewBody = Type.Object({
  mapping: ConnectorMapping,
  sample: Type.Unknown({ description: 'A sample payload (any JSON)' }),
});
export const MappingPreview = Type.Object({
  output: Type.Record(Type.String(), Type.Unknown()),
  errors: Type.Array(MappingFieldError),
});
export const MappingBody = Type.Object({ mapping: ConnectorMapping });

export const CONNECTOR_TEMPLATE_FORMAT = 'datong.connector-template';
export const ConnectorTemplate = Type.Object({
  format: Type.Literal(CONNECTOR_TEMPLATE_FORMAT),
  version: Type.Literal(1),
  platform: Type.String({ minLength: 1, maxLength: 40 }),
  name: Type.String({ minLength: 1, maxLength: 120 }),
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'The configuration without its secrets' }),
  secrets: Type.Array(Type.String(), { description: 'Names of the secrets to supply on import (values are never exported)' }),
  mapping: ConnectorMapping,
  exportedAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export const ConnectorImport = Type.Object({
  template: ConnectorTemplate,
  secrets: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ minLength: 1, maxLength: 4096 }), { maxProperties: 20 })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: "Overrides the template's name" })),
});

// E-commerce connectors (issue 4): settings, channel and health, message log, reconciliation.

const DateTimeOrNull = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/** Operational settings of an e-commerce connector (not credentials). Unset: the server's defaults. */
export const ConnectorSettings = Type.Object(
  {
    fallbackAfterMs: Type.Optional(
      Type.Integer({ minimum: 10_000, maximum: 86_400_000, description: "No valid push for this long (ms): poll the platform's order API until pushes return" }),
    ),
    pollIntervalMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 3_600_000, description: 'How often the order API is polled while polling (ms)' })),
    reconcileDaily: Type.Optional(
      Type.Union([Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'Daily reconciliation (with backfill) at this local time', examples: ['03:00'] }), Type.Null()]),
    ),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone of reconcileDaily', examples: ['Asia/Shanghai'] })),
    rateLimit: Type.Optional(
      Type.Object(
        { perSecond: Type.Integer({ minimum: 1, maximum: 1_000 }), burst: Type.Integer({ minimum: 1, maximum: 10_000 }) },
        { additionalProperties: false, description: 'Token bucket per platform API' },
      ),
    ),
    apiBaseUrl: Type.Optional(Type.String({ maxLength: 500, description: "Overrides the platform API's base URL (simulator, private gateway)" })),
  },
  { additionalProperties: false },
);

export const EffectiveConnectorSettings = Type.Object({
  fallbackAfterMs: Type.Integer(),
  pollIntervalMs: Type.Integer(),
  reconcileDaily: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.String(),
  rateLimit: Type.Object({ perSecond: Type.Integer(), burst: Type.Integer() }),
  apiBaseUrl: Type.Union([Type.String(), Type.Null()]),
});

/** Which channel feeds an e-commerce connector and how it is doing. */
export const CommerceStatus = Type.Object({
  webhookUrl: Type.String({ description: "The URL to paste into the platform's back office" }),
  channel: Type.Union([Type.Literal('push'), Type.Literal('polling')]),
  channelSince: DateTimeOrNull,
  channelReason: Type.Union([Type.String(), Type.Null()]),
  health: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failing')], {
    description: 'ok: pushes arrive; degraded: polling fallback or rejected pushes; failing: the platform API fails or messages are quarantined',
  }),
  lastPushAt: DateTimeOrNull,
  lastValidPushAt: DateTimeOrNull,
  pushFailures: Type.Integer({ description: 'Rejected pushes in a row' }),
  lastPushError: Type.Union([Type.String(), Type.Null()]),
  pollWatermark: DateTimeOrNull,
  lastPollAt: DateTimeOrNull,
  pollFailures: Type.Integer(),
  lastPollError: Type.Union([Type.String(), Type.Null()]),
  lastPullAt: DateTimeOrNull,
  lastPullError: Type.Union([Type.String(), Type.Null()]),
  lastReconcileAt: DateTimeOrNull,
  lastReconcile: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  messages: Type.Object({ pending: Type.Integer(), failed: Type.Integer(), quarantined: Type.Integer() }),
  settings: EffectiveConnectorSettings,
});

/** GET /v1/connectors/{id}: the connector, with `commerce` for e-commerce platforms. */
export const ConnectorDetail = Type.Composite([Connector, Type.Object({ commerce: Type.Optional(CommerceStatus) })]);

export const ConnectorMessageStatus = Type.Union(['pending', 'processed', 'ignored', 'failed', 'quarantined'].map((s) => Type.Literal(s)));
export const ConnectorMessageVerification = Type.Union(['valid', 'invalid', 'test'].map((s) => Type.Literal(s)));

export const ConnectorMessage = Type.Object({
  id: Type.String({ description: 'Datong id of the log entry (cmsg_…)' }),
  messageId: Type.String({ description: "The platform's message id (dedupe key)" }),
  type: Type.String({ description: "The platform's message type, or order.polled / order.backfill / rejected" }),
  channel: Type.String({ description: 'push, pull, poll or backfill' }),
  receivedAt: Type.String({ format: 'date-time' }),
  occurredAt: DateTimeOrNull,
  verification: ConnectorMessageVerification,
  status: ConnectorMessageStatus,
  attempts: Type.Integer(),
  nextAttemptAt: DateTimeOrNull,
  errorCode: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Summary of the canonical records (ids, states, amounts; no personal data)' }),
  processedAt: DateTimeOrNull,
});

export const ConnectorMessageDetail = Type.Composite([
  ConnectorMessage,
  Type.Object({
    payload: Type.Unknown({ description: 'The message as received (masked for roles that mask personal data)' }),
    masked: Type.Boolean(),
  }),
]);

export const ConnectorMessagesQuery = Type.Object({
  status: Type.Optional(ConnectorMessageStatus),
  type: Type.Optional(Type.String({ maxLength: 100 })),
  verification: Type.Optional(ConnectorMessageVerification),
  channel: Type.Optional(Type.Union(['push', 'pull', 'poll', 'backfill'].map((s) => Type.Literal(s)))),
  ...CursorQuery,
});

/** GET /v1/sources/{id}/messages/{messageId}: a Segment message as the inbox received it. */
export const SourceMessageDetail = Type.Object({
  messageId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('processed'), Type.Literal('quarantined')]),
  attempts: Type.Integer(),
  receivedAt: Type.String({ format: 'date-time' }),
  processedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  payload: Type.Unknown({ description: 'The message as received (masked for roles that mask personal data); absent once its raw form has expired' }),
  masked: Type.Boolean(),
});

export const ConnectorMessageParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), messageId: Type.String({ minLength: 1, maxLength: 200 }) });

/** POST /v1/connectors: the connector, plus `settings` for e-commerce platforms. */
export const ConnectorCreateBody = Type.Composite([ConnectorCreate, Type.Object({ settings: Type.Optional(ConnectorSettings) })]);

export const ReconcileBody = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    backfill: Type.Optional(Type.Boolean({ default: false, description: 'Store what is missing or different, to be applied forward-only' })),
  },
  { additionalProperties: false },
);

export const ReconcileReport = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  platformOrders: Type.Integer({ description: 'Orders the platform reports modified in the window' }),
  matched: Type.Integer(),
  missing: Type.Array(Type.String(), { description: 'Order ids Datong does not have (at most 1000)' }),
  different: Type.Array(
    Type.Object({ orderId: Type.String(), shopId: Type.String(), field: Type.String(), platform: Type.String(), datong: Type.String() }),
    { description: 'Fields that differ (at most 1000)' },
  ),
  backfilled: Type.Integer({ description: 'Orders stored to be applied (backfill: true)' }),
  truncated: Type.Boolean(),
  missingCount: Type.Integer(),
  differentCount: Type.Integer(),
});

/** A reconciliation run in the background (`Prefer: respond-async`), and its report once done. */
export const Reconciliation = Type.Object({
  id: Type.String(),
  connectorId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  backfill: Type.Boolean(),
  attempts: Type.Integer({ description: 'Runs started; a platform that is down or throttling is retried with backoff, 5 times at most' }),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  report: Type.Union([ReconcileReport, Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), detail: Type.String() }), Type.Null()]),
});
export const ReconciliationParams = Type.Object({ id: Type.String(), reconciliationId: Type.String() });

// Segments (C3): rule trees over attributes, tags and event aggregates, with stored members.

const SegmentConditionSchema = Type.Unknown({
  description:
    'The rule-tag grammar (event_count, total_spend, order_count, days_since_last_order, first_channel; {all: [...]} / {any: [...]}) plus ' +
    'has_tag {tag} (on any merged record of the customer, unexpired) and trait {key, op: eq|neq|exists|in|gte|lte, value} over the merged profile ' +
    '(key may be a dotted path; in takes a list; neq also matches customers without the trait).',
});
/** Create a segment: its members are computed over the whole tenant before the answer. */
export const SegmentCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    condition: SegmentConditionSchema,
  },
  { additionalProperties: false },
);
export const SegmentUpdate = Type.Partial(SegmentCreate, { additionalProperties: false });
export const Segment = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  condition: Type.Unknown(),
  timeDependent: Type.Boolean({ description: 'Recomputed periodically (time windows, days since, expiring tags)' }),
  memberCount: Type.Integer({ description: 'Root customers in the segment (a merged customer once), whatever the caller’s data scope' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  recomputedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const SegmentPreviewBody = Type.Object({ condition: SegmentConditionSchema }, { additionalProperties: false });
export const SegmentPreview = Type.Object({
  count: Type.Integer({ description: 'Customers (merged ones once) the condition matches now, over the whole tenant' }),
  total: Type.Integer({ description: 'Customers of the tenant' }),
  sample: Type.Array(CustomerSummary, { description: "A few matching customers in the caller's data scope, masked like the customers list" }),
});
export const SegmentRecomputeResult = Type.Object({ count: Type.Integer(), added: Type.Integer(), removed: Type.Integer() });
export const SegmentMember = Type.Intersect([CustomerSummary, Type.Object({ addedAt: Type.String({ format: 'date-time' }) })]);
export * from './imports.js';
