/**
 * The one error catalog of Datong. Every error that crosses a package boundary carries one of
 * these codes. `kind` says what happened (mapped to an HTTP status in exactly one place, the
 * server's `http/problem.ts`), `transient` says whether retrying can help (jobs read it).
 *
 * Codes are never reused: a removed code moves to RETIRED_CODES. docs/errors.md documents
 * every code; `catalog.test.ts` keeps the two in sync.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'upstream'
  | 'internal';

export interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly title: string;
  readonly transient?: boolean;
}

export const ERROR_CATALOG = {
  VALIDATION_FAILED: { kind: 'invalid', title: 'Request is invalid' },
  BODY_TOO_LARGE: { kind: 'too_large', title: 'Request body is too large' },
  EVENT_TOO_LARGE: { kind: 'too_large', title: 'An event in the batch is larger than 32 KB' },
  UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported_media_type', title: 'Content type is not supported' },
  MALFORMED_JSON: { kind: 'invalid', title: 'Request body is not valid JSON' },
  ROUTE_NOT_FOUND: { kind: 'not_found', title: 'No such route' },
  AUTH_REQUIRED: { kind: 'unauthenticated', title: 'Authentication is required' },
  AUTH_API_KEY_INVALID: { kind: 'unauthenticated', title: 'API key is not valid' },
  AUTH_WRITE_KEY_INVALID: { kind: 'unauthenticated', title: 'Source write key is not valid' },
  AUTH_CUSTOMER_TOKEN_INVALID: { kind: 'unauthenticated', title: 'Customer token is not valid or has expired' },
  AUTH_SCOPE_MISSING: { kind: 'forbidden', title: 'API key lacks a required scope' },
  AUTH_LOGIN_FAILED: { kind: 'unauthenticated', title: 'Email or password is wrong' },
  AUTH_TOTP_REQUIRED: { kind: 'unauthenticated', title: 'A two-factor code (or a recovery code) is required' },
  AUTH_TOTP_INVALID: { kind: 'invalid', title: 'Two-factor code is not valid' },
  AUTH_LOCKED: { kind: 'rate_limited', title: 'Too many failed sign-ins; try again later', transient: true },
  AUTH_SESSION_EXPIRED: { kind: 'unauthenticated', title: 'Session has expired; sign in again' },
  AUTH_CSRF_INVALID: { kind: 'forbidden', title: 'CSRF token missing or wrong' },
  AUTH_PERMISSION_MISSING: { kind: 'forbidden', title: 'Your role lacks a required permission' },
  AUTH_PASSWORD_INVALID: { kind: 'forbidden', title: 'Current password is wrong' },
  RATE_LIMITED: { kind: 'rate_limited', title: 'Too many requests', transient: true },
  CUSTOMER_NOT_FOUND: { kind: 'not_found', title: 'Customer not found' },
  SOURCE_NOT_FOUND: { kind: 'not_found', title: 'Source not found' },
  SOURCE_MESSAGE_NOT_FOUND: { kind: 'not_found', title: 'No message with this id from this source (or past the dedupe window)' },
  API_KEY_NOT_FOUND: { kind: 'not_found', title: 'API key not found' },
  TAG_RULE_NOT_FOUND: { kind: 'not_found', title: 'Tag rule not found' },
  TAG_INVALID: { kind: 'invalid', title: 'Tag name is not valid' },
  TAG_RULE_INVALID: { kind: 'invalid', title: 'Tag rule definition is not valid' },
  SEGMENT_NOT_FOUND: { kind: 'not_found', title: 'Segment not found' },
  SEGMENT_INVALID: { kind: 'invalid', title: 'Segment definition is not valid' },
  WEBHOOK_NOT_FOUND: { kind: 'not_found', title: 'Webhook subscription not found' },
  WEBHOOK_DELIVERY_NOT_FOUND: { kind: 'not_found', title: 'Webhook delivery not found' },
  WEBHOOK_URL_INVALID: { kind: 'invalid', title: 'Webhook URL is not valid' },
  WEBHOOK_URL_FORBIDDEN: {
    kind: 'forbidden',
    title: 'Webhook URL resolves to a private, loopback or link-local address',
  },
  WEBHOOK_DELIVERY_FAILED: { kind: 'upstream', title: 'Webhook endpoint did not accept the delivery', transient: true },
  USER_NOT_FOUND: { kind: 'not_found', title: 'User not found' },
  USER_EMAIL_TAKEN: { kind: 'conflict', title: 'A user with this email exists' },
  USER_SELF_CHANGE: { kind: 'conflict', title: 'You cannot disable yourself or change your own role' },
  ROLE_NOT_FOUND: { kind: 'not_found', title: 'Role not found' },
  ROLE_NAME_TAKEN: { kind: 'conflict', title: 'A role with this name exists' },
  ROLE_BUILTIN: { kind: 'conflict', title: 'Built-in roles cannot be deleted (nor the admin role changed)' },
  ROLE_IN_USE: { kind: 'conflict', title: 'Role is assigned to users' },
  TEAM_NOT_FOUND: { kind: 'not_found', title: 'Team not found' },
  TEAM_NAME_TAKEN: { kind: 'conflict', title: 'A team with this name exists' },
  BENEFIT_NOT_FOUND: { kind: 'not_found', title: 'Benefit not found' },
  QUARANTINE_ITEM_NOT_FOUND: { kind: 'not_found', title: 'Quarantine item not found' },
  QUARANTINE_ITEM_RESOLVED: { kind: 'conflict', title: 'Quarantine item is already resolved' },
  IDENTITY_NOT_FOUND: { kind: 'not_found', title: 'No customer has this identifier' },
  IDENTITY_TYPE_UNKNOWN: { kind: 'invalid', title: 'Identifier type is not known' },
  IDENTITY_VALUE_INVALID: { kind: 'invalid', title: 'Identifier value is not valid' },
  IDENTITY_BLOCKED: { kind: 'invalid', title: 'Identifier value is blocked for matching' },
  IDENTITY_MERGE_BLOCKED: { kind: 'conflict', title: 'Merge blocked by a conflicting strong identifier' },
  IDENTITY_RULES_INVALID: { kind: 'invalid', title: 'Identity rules are not valid' },
  MERGE_NOT_FOUND: { kind: 'not_found', title: 'No merge to undo on this customer' },
  MESSAGE_INVALID: { kind: 'invalid', title: 'Message cannot be processed' },
  IDEMPOTENCY_KEY_CONFLICT: { kind: 'conflict', title: 'Idempotency-Key reused with a different body' },
  IDEMPOTENCY_KEY_IN_PROGRESS: {
    kind: 'conflict',
    title: 'A request with this Idempotency-Key is still being processed',
    transient: true,
  },
  CONNECTOR_NOT_FOUND: { kind: 'not_found', title: 'Connector not found' },
  RECONCILIATION_NOT_FOUND: { kind: 'not_found', title: 'Reconciliation not found' },
  CONNECTOR_PLATFORM_UNKNOWN: { kind: 'invalid', title: 'Connector platform is not supported' },
  CONNECTOR_CONFIG_INVALID: { kind: 'invalid', title: 'Connector configuration is incomplete or wrong' },
  CONNECTOR_SIGNATURE_INVALID: { kind: 'unauthenticated', title: 'Webhook signature does not verify' },
  CONNECTOR_REPLAY_REJECTED: { kind: 'unauthenticated', title: 'Webhook timestamp outside the replay window' },
  CONNECTOR_SETTINGS_INVALID: { kind: 'invalid', title: 'Connector settings are not valid' },
  CONNECTOR_OPERATION_UNSUPPORTED: { kind: 'invalid', title: 'This connector does not support this operation' },
  CONNECTOR_MESSAGE_NOT_FOUND: { kind: 'not_found', title: 'Connector message not found' },
  CONNECTOR_MESSAGE_NOT_REPLAYABLE: { kind: 'conflict', title: 'This connector message cannot be replayed' },
  CONNECTOR_TEMPLATE_INVALID: { kind: 'invalid', title: 'Connector template is not valid' },
  MAPPING_INVALID: { kind: 'invalid', title: 'Field mapping is not valid (a target field or a JSONata expression)' },
  IMPORT_NOT_FOUND: { kind: 'not_found', title: 'Import not found' },
  IMPORT_FILE_INVALID: { kind: 'invalid', title: 'Import file cannot be read (format, encoding or header)' },
  IMPORT_STATE_CONFLICT: { kind: 'conflict', title: 'The import is not in a state that allows this' },
  MONITOR_WINDOW_INVALID: { kind: 'invalid', title: 'Monitor time window is not valid' },
  WECHAT_CODE_INVALID: { kind: 'invalid', title: 'WeChat rejected the login code' },
  WECHAT_DECRYPT_FAILED: { kind: 'invalid', title: 'WeChat encrypted data could not be decrypted' },
  WECHAT_WATERMARK_MISMATCH: { kind: 'forbidden', title: 'Decrypted data belongs to another mini-program' },
  WECHAT_SESSION_MISSING: { kind: 'conflict', title: 'No WeChat session for this customer; log in again' },
  PLATFORM_ERROR: { kind: 'upstream', title: 'Platform answered with an error' },
  PLATFORM_RATE_LIMITED: { kind: 'unavailable', title: 'Platform rate limit reached', transient: true },
  PLATFORM_UNREACHABLE: { kind: 'upstream', title: 'Platform did not answer', transient: true },
  DATA_DIR_LOCKED: { kind: 'conflict', title: 'Another Datong server is using this data folder' },
  DB_UNAVAILABLE: { kind: 'unavailable', title: 'Database is not reachable', transient: true },
  CONFIG_INVALID: { kind: 'invalid', title: 'Server configuration is invalid' },
  INTERNAL: { kind: 'internal', title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Codes that existed once and must never be reused. */
export const RETIRED_CODES: readonly string[] = [];
