import { normalizeIdentifier } from '../identity/normalize.js';
import { isIdentifierType, type Identifier } from '../identity/types.js';

export const SEGMENT_TYPES = ['identify', 'track', 'page', 'screen', 'alias', 'group'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** A Segment message, validated and with its identifiers normalized. */
export interface ParsedMessage {
  readonly type: SegmentType;
  readonly messageId: string;
  /** Track event name, or page/screen name. */
  readonly event: string | null;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  readonly traits: Record<string, unknown>;
  readonly properties: Record<string, unknown>;
  readonly context: Record<string, unknown>;
  readonly occurredAt: Date;
  readonly identifiers: readonly Identifier[];
  /** Values set aside: the message was processed without them (they go to quarantine). */
  readonly rejected: readonly RejectedValue[];
  /** The group id of a group call. */
  readonly groupId: string | null;
}

export interface RejectedValue {
  readonly field: string;
  readonly reason: string;
  readonly value: unknown;
}

export type ParseResult = { ok: true; message: ParsedMessage } | { ok: false; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function context0(raw: Record<string, unknown>): Record<string, unknown> {
  const c = raw['context'];
  return isRecord(c) ? c : {};
}

function optString(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function parseDate(v: unknown): Date | null {
  if (typeof v !== 'string' && !(v instanceof Date)) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Parses one Segment message (https://segment.com/docs/connections/spec/common/).
 * `receivedAt` is when Datong accepted it; when the client sent `sentAt`, its clock skew is
 * corrected as Segment does: occurredAt = timestamp + (receivedAt − sentAt).
 */
export function parseSegmentMessage(raw: unknown, receivedAt: Date, fallbackMessageId: string): ParseResult {
  if (!isRecord(raw)) return { ok: false, reason: 'message is not a JSON object' };
  const type = raw['type'];
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: `unknown message type ${JSON.stringify(type ?? null)}` };
  }
  const t = type as SegmentType;
  const messageId = optString(raw['messageId']) ?? fallbackMessageId;
  const userId = optString(raw['userId']);
  const anonymousId = optString(raw['anonymousId']);
  const previousId = optString(raw['previousId']);
  if (t === 'alias') {
    if (!userId || !previousId) return { ok: false, reason: 'alias needs userId and previousId' };
  } else if (!userId && !anonymousId && !(Array.isArray(context0(raw)['externalIds']) && (context0(raw)['externalIds'] as unknown[]).length > 0)) {
    // Segment requires one of the two; connectors may identify by context.externalIds alone.
    return { ok: false, reason: `${t} needs userId, anonymousId or context.externalIds` };
  }
  let event: string | null = null;
  if (t === 'track') {
    event = optString(raw['event']);
    if (!event) return { ok: false, reason: 'track needs an event name' };
  } else if (t === 'page' || t === 'screen') {
    event = optString(raw['name']);
  }
  const groupId = t === 'group' ? optString(raw['groupId']) : null;
  if (t === 'group' && !groupId) return { ok: false, reason: 'group needs a groupId' };

  const context = isRecord(raw['context']) ? raw['context'] : {};
  const traits = isRecord(raw['traits']) ? raw['traits'] : isRecord(context['traits']) ? context['traits'] : {};
  const properties = isRecord(raw['properties']) ? raw['properties'] : {};

  const ts = parseDate(raw['timestamp']) ?? parseDate(raw['originalTimestamp']);
  const sentAt = parseDate(raw['sentAt']);
  let occurredAt = ts ?? receivedAt;
  if (ts && sentAt) occurredAt = new Date(ts.getTime() + (receivedAt.getTime() - sentAt.getTime()));

  const identifiers: Identifier[] = [];
  const rejected: RejectedValue[] = [];
  const add = (field: string, type: Parameters<typeof normalizeIdentifier>[0], value: unknown, collection?: unknown): void => {
    const r = normalizeIdentifier(type, value, collection);
    if (r.ok) identifiers.push(r.identifier);
    else rejected.push({ field, reason: r.reason, value });
  };
  if (userId) add('userId', 'user_id', userId);
  if (anonymousId) add('anonymousId', 'anonymous_id', anonymousId);
  // Segment's alias links a previous id (here: the anonymous id a device used) to the user id.
  if (t === 'alias' && previousId) add('previousId', 'anonymous_id', previousId);
  if (traits['phone'] !== undefined && traits['phone'] !== null && traits['phone'] !== '') add('traits.phone', 'phone', traits['phone']);
  if (traits['email'] !== undefined && traits['email'] !== null && traits['email'] !== '') add('traits.email', 'email', traits['email']);
  const externalIds = context['externalIds'];
  if (Array.isArray(externalIds)) {
    externalIds.forEach((x: unknown, i) => {
      const field = `context.externalIds[${i}]`;
      if (!isRecord(x)) return rejected.push({ field, reason: 'externalId is not an object', value: x }) && undefined;
      const xt = x['type'];
      if (!isIdentifierType(xt)) {
        rejected.push({ field, reason: `unknown identifier type ${JSON.stringify(xt ?? null)}`, value: x });
        return;
      }
      if (x['encoding'] !== undefined && x['encoding'] !== 'none') {
        rejected.push({ field, reason: `encoding ${JSON.stringify(x['encoding'])} is not supported (use "none")`, value: x });
        return;
      }
      add(field, xt, x['id'], x['collection']);
    });
  }
  return {
    ok: true,
    message: { type: t, messageId, event, userId, anonymousId, traits, properties, context, occurredAt, identifiers, rejected, groupId },
  };
}

/** Trait keys that are identifiers, not profile attributes. */
const IDENTIFIER_TRAITS = new Set(['phone', 'email']);

/** Profile attributes an identify (or group/alias) sets; identifier traits are kept as identities instead. */
export function profileTraits(m: ParsedMessage): Record<string, unknown> {
  if (m.type !== 'identify') return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.traits)) if (!IDENTIFIER_TRAITS.has(k) && v !== undefined) out[k] = v;
  return out;
}
