/** Identifier types, exactly as the public API names them. */
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

export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

/** Types whose values are only unique within a collection (an appId, a corpId, a CRM name). */
export const COLLECTION_TYPES: ReadonlySet<IdentifierType> = new Set(['wechat_openid', 'wecom_external_userid', 'crm_id']);

/** Types whose values are personal data: encrypted at rest, masked in logs. */
export const PII_TYPES: ReadonlySet<IdentifierType> = new Set(['phone', 'email']);

export function isIdentifierType(v: unknown): v is IdentifierType {
  return typeof v === 'string' && (IDENTIFIER_TYPES as readonly string[]).includes(v);
}

/** A normalized identifier. `collection` is '' for types that have none. */
export interface Identifier {
  readonly type: IdentifierType;
  readonly collection: string;
  readonly value: string;
}

export function identifierKey(id: Identifier): string {
  return `${id.type}\u0000${id.collection}\u0000${id.value}`;
}
