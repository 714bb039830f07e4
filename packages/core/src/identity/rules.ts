import { DatongError } from '../errors/datong-error.js';
import { normalizeIdentifier } from './normalize.js';
import { IDENTIFIER_TYPES, identifierKey, isIdentifierType, type Identifier, type IdentifierType } from './types.js';

/** A tenant's identity resolution rules (C1). */
export interface IdentityRules {
  /** Highest priority first. Every identifier type appears exactly once. */
  readonly priority: readonly IdentifierType[];
  /** At most this many distinct values of a type on one customer. Absent = unlimited. */
  readonly limits: Readonly<Partial<Record<IdentifierType, number>>>;
  /** Values ignored for matching (normalized). */
  readonly blocked: readonly Identifier[];
}

export const DEFAULT_PRIORITY: readonly IdentifierType[] = [
  'user_id',
  'phone',
  'wechat_unionid',
  'crm_id',
  'email',
  'wecom_external_userid',
  'wechat_openid',
  'youzan_open_id',
  'taobao_open_uid',
  'douyin_open_id',
  'meituan_user_id',
  'anonymous_id',
];

export const DEFAULT_LIMITS: Readonly<Partial<Record<IdentifierType, number>>> = { phone: 1, wechat_unionid: 1, user_id: 1 };

/** Junk that real systems send as if it identified someone. */
export const DEFAULT_BLOCKED: readonly { type: IdentifierType; value: string }[] = [
  { type: 'phone', value: '13800000000' },
  { type: 'phone', value: '13800138000' },
  { type: 'phone', value: '13888888888' },
  { type: 'phone', value: '13900000000' },
  { type: 'phone', value: '18888888888' },
  { type: 'email', value: 'test@test.com' },
  { type: 'email', value: 'test@example.com' },
  { type: 'email', value: 'example@example.com' },
  { type: 'email', value: 'noreply@example.com' },
  { type: 'email', value: 'a@a.com' },
  { type: 'user_id', value: 'undefined' },
  { type: 'user_id', value: 'null' },
  { type: 'user_id', value: '0' },
  { type: 'user_id', value: '-1' },
  { type: 'anonymous_id', value: 'undefined' },
  { type: 'anonymous_id', value: 'null' },
  { type: 'anonymous_id', value: '00000000-0000-0000-0000-000000000000' },
  { type: 'wechat_unionid', value: 'undefined' },
  { type: 'wechat_unionid', value: 'null' },
];

export interface IdentityRulesInput {
  priority?: readonly string[] | undefined;
  limits?: Readonly<Record<string, number>> | undefined;
  blocked?: readonly { type: string; value: string; collection?: string | undefined }[] | undefined;
}

/**
 * Builds complete rules from a tenant's partial settings: a priority list may name only the
 * types it cares about (the rest follow in default order); blocked values are normalized
 * like incoming ones so `138 0000 0000` blocks `+8613800000000`.
 */
export function buildIdentityRules(input: IdentityRulesInput = {}): IdentityRules {
  const problems: string[] = [];
  const priority: IdentifierType[] = [];
  for (const t of input.priority ?? []) {
    if (!isIdentifierType(t)) problems.push(`priority: unknown identifier type "${t}"`);
    else if (priority.includes(t)) problems.push(`priority: "${t}" is listed twice`);
    else priority.push(t);
  }
  for (const t of DEFAULT_PRIORITY) if (!priority.includes(t)) priority.push(t);
  const limits: Partial<Record<IdentifierType, number>> = input.limits ? {} : { ...DEFAULT_LIMITS };
  for (const [t, n] of Object.entries(input.limits ?? {})) {
    if (!isIdentifierType(t)) problems.push(`limits: unknown identifier type "${t}"`);
    else if (!Number.isInteger(n) || n < 1) problems.push(`limits.${t}: must be an integer ≥ 1`);
    else limits[t] = n;
  }
  const blockedSeen = new Set<string>();
  const blocked: Identifier[] = [];
  const blockedInput = input.blocked ?? DEFAULT_BLOCKED;
  for (const b of blockedInput) {
    if (!isIdentifierType(b.type)) {
      problems.push(`blocked: unknown identifier type "${b.type}"`);
      continue;
    }
    // Blocked values in collection types apply to every collection when none is given.
    const r = normalizeIdentifier(b.type, b.value, 'collection' in b && b.collection ? b.collection : '*');
    if (!r.ok) {
      problems.push(`blocked: ${r.reason}`);
      continue;
    }
    const k = identifierKey(r.identifier);
    if (!blockedSeen.has(k)) {
      blockedSeen.add(k);
      blocked.push(r.identifier);
    }
  }
  if (problems.length > 0) throw new DatongError('IDENTITY_RULES_INVALID', problems.join('; '), { extensions: { problems } });
  return { priority, limits, blocked };
}

export const DEFAULT_IDENTITY_RULES: IdentityRules = buildIdentityRules();

/** Compiled form for fast checks on the hot path. */
export interface CompiledRules {
  readonly rules: IdentityRules;
  readonly rank: ReadonlyMap<IdentifierType, number>;
  isBlocked(id: Identifier): boolean;
  limitOf(type: IdentifierType): number;
}

export function compileRules(rules: IdentityRules): CompiledRules {
  const rank = new Map<IdentifierType, number>();
  rules.priority.forEach((t, i) => rank.set(t, i));
  for (const t of IDENTIFIER_TYPES) if (!rank.has(t)) rank.set(t, rules.priority.length);
  const blocked = new Set(rules.blocked.map(identifierKey));
  return {
    rules,
    rank,
    isBlocked: (id) => blocked.has(identifierKey(id)) || blocked.has(identifierKey({ ...id, collection: '*' })),
    limitOf: (t) => rules.limits[t] ?? Number.POSITIVE_INFINITY,
  };
}
