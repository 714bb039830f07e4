import { DatongError } from '../errors/datong-error.js';
import { isCurrencyCode, toMinorUnits } from '../money/money.js';
import { canonicalTagName } from './tag-name.js';

export type CompareOp = 'gte' | 'gt' | 'lte' | 'lt' | 'eq' | 'neq';
export const COMPARE_OPS: readonly CompareOp[] = ['gte', 'gt', 'lte', 'lt', 'eq', 'neq'];

export type PropertyValue = string | number | boolean;

/** "Product Viewed with product_id=X ≥ 3 times in 7 days". */
export interface EventCountCondition {
  readonly type: 'event_count';
  readonly event: string;
  readonly where?: Readonly<Record<string, PropertyValue>>;
  readonly withinDays?: number;
  readonly op: CompareOp;
  readonly value: number;
}
/** Sum of `Order Completed` totals minus `Order Refunded` totals in one currency (a decimal string). */
export interface TotalSpendCondition {
  readonly type: 'total_spend';
  readonly currency?: string;
  readonly withinDays?: number;
  readonly op: CompareOp;
  readonly value: string;
}
export interface OrderCountCondition {
  readonly type: 'order_count';
  readonly withinDays?: number;
  readonly op: CompareOp;
  readonly value: number;
}
/** False for a customer who never ordered. */
export interface DaysSinceLastOrderCondition {
  readonly type: 'days_since_last_order';
  readonly op: CompareOp;
  readonly value: number;
}
/** The channel of the customer's earliest event. */
export interface FirstChannelCondition {
  readonly type: 'first_channel';
  readonly in: readonly string[];
}
/** Segments only: the tag is on some customer merged into the root (unexpired). */
export interface HasTagCondition {
  readonly type: 'has_tag';
  readonly tag: string;
}
export type TraitOp = 'eq' | 'neq' | 'exists' | 'in' | 'gte' | 'lte';
export const TRAIT_OPS: readonly TraitOp[] = ['eq', 'neq', 'exists', 'in', 'gte', 'lte'];
/**
 * Segments only: a trait of the root's merged profile. `key` is a dotted path (`address.city`).
 * eq/in compare as text (`5` equals `"5"`), an array trait matches when one element does;
 * gte/lte compare numerically when both sides are numbers, otherwise as text (ISO dates sort);
 * neq is the negation of eq, so a customer without the trait is "not 上海".
 */
export interface TraitCondition {
  readonly type: 'trait';
  readonly key: string;
  readonly op: TraitOp;
  /** Absent for `exists`; a list for `in`. */
  readonly value?: PropertyValue | readonly PropertyValue[];
}
export interface AllCondition {
  readonly all: readonly RuleCondition[];
}
export interface AnyCondition {
  readonly any: readonly RuleCondition[];
}

export type LeafCondition =
  | EventCountCondition
  | TotalSpendCondition
  | OrderCountCondition
  | DaysSinceLastOrderCondition
  | FirstChannelCondition
  | HasTagCondition
  | TraitCondition;
export type RuleCondition = LeafCondition | AllCondition | AnyCondition;

/** Trigger of trait leaves: a change of some customer's traits (not an event name a source can send: see TRAIT_TRIGGER). */
export const TRAIT_TRIGGER = '#traits';
/** Trigger of a has_tag leaf: that tag added to or removed from a customer. */
export const tagTrigger = (tag: string): string => `#tag:${tag}`;

/**
 * The event names whose arrival can change a leaf's value ('*': any message), plus
 * TRAIT_TRIGGER and `tagTrigger(tag)` for the segment-only leaves.
 */
export function triggeringEvents(c: RuleCondition): Set<string> {
  const out = new Set<string>();
  walkLeaves(c, (leaf) => {
    switch (leaf.type) {
      case 'event_count':
        out.add(leaf.event);
        break;
      case 'total_spend':
      case 'order_count':
      case 'days_since_last_order':
        out.add(ORDER_COMPLETED);
        out.add(ORDER_REFUNDED);
        break;
      case 'first_channel':
        out.add('*');
        break;
      case 'has_tag':
        out.add(tagTrigger(leaf.tag));
        break;
      case 'trait':
        out.add(TRAIT_TRIGGER);
        break;
    }
  });
  return out;
}

export const ORDER_COMPLETED = 'Order Completed';
export const ORDER_REFUNDED = 'Order Refunded';

export function walkLeaves(c: RuleCondition, f: (leaf: LeafCondition, index: number) => void): void {
  let i = 0;
  const go = (n: RuleCondition): void => {
    if ('all' in n) n.all.forEach(go);
    else if ('any' in n) n.any.forEach(go);
    else f(n, i++);
  };
  go(c);
}

/**
 * Whether a rule depends on the passing of time (so a periodic recompute must run it). A has_tag
 * leaf does: tags can expire (`expires_at`).
 */
export function isTimeDependent(c: RuleCondition): boolean {
  let timed = false;
  walkLeaves(c, (leaf) => {
    if (leaf.type === 'days_since_last_order' || leaf.type === 'has_tag' || ('withinDays' in leaf && leaf.withinDays !== undefined)) timed = true;
  });
  return timed;
}

/** A trait leaf's value: the trait as stored (JSON), wrapped so that a JSON null is not "absent". */
export interface TraitLeafValue {
  readonly trait: unknown;
}
/** Value of each leaf for one customer, in `walkLeaves` order (has_tag: the number of members holding the tag). */
export type LeafValue = number | bigint | string | null | TraitLeafValue;

const scalarText = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
const asNumber = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return null;
};

/** Decides a trait leaf for one stored trait value (undefined: the customer has no such trait). */
export function traitMatches(leaf: TraitCondition, stored: unknown): boolean {
  const present = stored !== undefined && stored !== null;
  if (leaf.op === 'exists') return present;
  const candidates: unknown[] = Array.isArray(stored) ? stored : present ? [stored] : [];
  const targets: readonly unknown[] = Array.isArray(leaf.value) ? leaf.value : leaf.value === undefined ? [] : [leaf.value];
  const eqOne = (a: unknown, b: unknown): boolean => {
    const x = scalarText(a);
    return x !== null && x === scalarText(b);
  };
  switch (leaf.op) {
    case 'eq':
    case 'in':
      return candidates.some((c) => targets.some((t) => eqOne(c, t)));
    case 'neq':
      return !candidates.some((c) => targets.some((t) => eqOne(c, t)));
    case 'gte':
    case 'lte': {
      const t = targets[0];
      return candidates.some((c) => {
        const a = asNumber(c);
        const b = asNumber(t);
        if (a !== null && b !== null) return leaf.op === 'gte' ? a >= b : a <= b;
        const x = scalarText(c);
        const y = scalarText(t);
        if (x === null || y === null) return false;
        return leaf.op === 'gte' ? x >= y : x <= y;
      });
    }
  }
}

export function compare(a: number | bigint, op: CompareOp, b: number | bigint): boolean {
  switch (op) {
    case 'gte':
      return a >= b;
    case 'gt':
      return a > b;
    case 'lte':
      return a <= b;
    case 'lt':
      return a < b;
    case 'eq':
      return a === b;
    case 'neq':
      return a !== b;
  }
}

/** Decides a condition from its leaf values. */
export function evaluateCondition(c: RuleCondition, leafValues: readonly LeafValue[]): boolean {
  let i = 0;
  const go = (n: RuleCondition): boolean => {
    if ('all' in n) return n.all.map(go).every(Boolean);
    if ('any' in n) return n.any.map(go).some(Boolean);
    const v = leafValues[i++] ?? null;
    switch (n.type) {
      case 'event_count':
      case 'order_count':
        return typeof v === 'number' && compare(v, n.op, n.value);
      case 'days_since_last_order':
        return typeof v === 'number' && compare(v, n.op, n.value);
      case 'total_spend': {
        const target = toMinorUnits(n.value, n.currency ?? 'CNY');
        const have = typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n;
        return target !== undefined && compare(have, n.op, target);
      }
      case 'first_channel':
        return typeof v === 'string' && n.in.includes(v);
      case 'has_tag':
        return typeof v === 'number' && v > 0;
      case 'trait':
        return traitMatches(n, typeof v === 'object' && v !== null ? v.trait : undefined);
    }
  };
  return go(c);
}

const MAX_DEPTH = 5;

/** What a condition is for: rule tags refuse the segment-only leaves (has_tag, trait). */
export type ConditionUse = 'tag_rule' | 'segment';
const MAX_TRAIT_KEY = 200;
const MAX_IN_VALUES = 100;

/**
 * Validates an untrusted rule-tag condition; throws TAG_RULE_INVALID listing every problem.
 * has_tag and trait are refused here: a rule tag defined by other tags would depend on the order
 * rules run in, and the inbox re-evaluates rule tags on events, not on trait changes.
 */
export function parseRuleCondition(raw: unknown): RuleCondition {
  return parseCondition(raw, 'tag_rule');
}

/** Validates an untrusted segment condition (every leaf, has_tag and trait included); throws SEGMENT_INVALID. */
export function parseSegmentCondition(raw: unknown): RuleCondition {
  return parseCondition(raw, 'segment');
}

function parseCondition(raw: unknown, use: ConditionUse): RuleCondition {
  const problems: string[] = [];
  const go = (n: unknown, path: string, depth: number): RuleCondition | null => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) {
      problems.push(`${path}: must be an object`);
      return null;
    }
    const o = n as Record<string, unknown>;
    if (depth > MAX_DEPTH) {
      problems.push(`${path}: nested too deeply (max ${MAX_DEPTH})`);
      return null;
    }
    for (const k of ['all', 'any'] as const) {
      if (k in o) {
        const list = o[k];
        if (!Array.isArray(list) || list.length === 0) {
          problems.push(`${path}.${k}: must be a non-empty array`);
          return null;
        }
        const items = list.map((x, i) => go(x, `${path}.${k}[${i}]`, depth + 1));
        return items.every((x): x is RuleCondition => x !== null) ? (k === 'all' ? { all: items } : { any: items }) : null;
      }
    }
    const op = o['op'];
    const needOp = (): CompareOp | null => {
      if (typeof op === 'string' && (COMPARE_OPS as readonly string[]).includes(op)) return op as CompareOp;
      problems.push(`${path}.op: must be one of ${COMPARE_OPS.join(', ')}`);
      return null;
    };
    const needCount = (k: string): number | null => {
      const v = o[k];
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
      problems.push(`${path}.${k}: must be an integer ≥ 0`);
      return null;
    };
    const optWindow = (): number | undefined | null => {
      if (o['withinDays'] === undefined) return undefined;
      const v = o['withinDays'];
      if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 3650) return v;
      problems.push(`${path}.withinDays: must be an integer from 1 to 3650`);
      return null;
    };
    switch (o['type']) {
      case 'event_count': {
        const event = o['event'];
        if (typeof event !== 'string' || event.trim() === '') problems.push(`${path}.event: must be a non-empty string`);
        const where = o['where'];
        if (where !== undefined) {
          if (typeof where !== 'object' || where === null || Array.isArray(where)) problems.push(`${path}.where: must be an object`);
          else
            for (const [k, v] of Object.entries(where))
              if (!['string', 'number', 'boolean'].includes(typeof v)) problems.push(`${path}.where.${k}: must be a string, number or boolean`);
        }
        const o2 = needOp();
        const value = needCount('value');
        const w = optWindow();
        if (typeof event !== 'string' || o2 === null || value === null || w === null) return null;
        return {
          type: 'event_count',
          event,
          op: o2,
          value,
          ...(where ? { where: where as Record<string, PropertyValue> } : {}),
          ...(w !== undefined ? { withinDays: w } : {}),
        };
      }
      case 'total_spend': {
        const currency = o['currency'] ?? 'CNY';
        if (!isCurrencyCode(currency)) problems.push(`${path}.currency: must be an ISO 4217 code such as CNY`);
        const value = typeof o['value'] === 'number' ? String(o['value']) : o['value'];
        if (typeof value !== 'string' || toMinorUnits(value, isCurrencyCode(currency) ? currency : 'CNY') === undefined)
          problems.push(`${path}.value: must be a decimal amount such as "1000.00"`);
        const o2 = needOp();
        const w = optWindow();
        if (o2 === null || w === null || typeof value !== 'string' || !isCurrencyCode(currency)) return null;
        return { type: 'total_spend', currency, op: o2, value, ...(w !== undefined ? { withinDays: w } : {}) };
      }
      case 'order_count': {
        const o2 = needOp();
        const value = needCount('value');
        const w = optWindow();
        if (o2 === null || value === null || w === null) return null;
        return { type: 'order_count', op: o2, value, ...(w !== undefined ? { withinDays: w } : {}) };
      }
      case 'days_since_last_order': {
        const o2 = needOp();
        const value = needCount('value');
        if (o2 === null || value === null) return null;
        return { type: 'days_since_last_order', op: o2, value };
      }
      case 'first_channel': {
        const list = typeof o['in'] === 'string' ? [o['in']] : o['in'];
        if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
          problems.push(`${path}.in: must be a non-empty list of channel names`);
          return null;
        }
        return { type: 'first_channel', in: list as string[] };
      }
      case 'has_tag':
      case 'trait':
        if (use === 'tag_rule') {
          problems.push(`${path}.type: ${o['type']} is for segments only (a rule tag cannot depend on tags or traits)`);
          return null;
        }
        return o['type'] === 'has_tag' ? parseHasTag(o, path, problems) : parseTrait(o, path, problems);
      default:
        problems.push(
          use === 'segment'
            ? `${path}.type: must be one of event_count, total_spend, order_count, days_since_last_order, first_channel, has_tag, trait (or use all/any)`
            : `${path}.type: must be one of event_count, total_spend, order_count, days_since_last_order, first_channel (or use all/any)`,
        );
        return null;
    }
  };
  const out = go(raw, 'condition', 0);
  if (!out || problems.length > 0) {
    throw new DatongError(use === 'segment' ? 'SEGMENT_INVALID' : 'TAG_RULE_INVALID', problems.join('; '), { extensions: { problems } });
  }
  return out;
}

function parseHasTag(o: Record<string, unknown>, path: string, problems: string[]): HasTagCondition | null {
  try {
    return { type: 'has_tag', tag: canonicalTagName(o['tag']) };
  } catch (err) {
    problems.push(`${path}.tag: ${err instanceof DatongError && err.detail ? err.detail : 'must be a tag name'}`);
    return null;
  }
}

function parseTrait(o: Record<string, unknown>, path: string, problems: string[]): TraitCondition | null {
  const key = o['key'];
  const keyOk = typeof key === 'string' && key.length <= MAX_TRAIT_KEY && key.split('.').every((p) => p.trim() !== '');
  if (!keyOk) problems.push(`${path}.key: must be a trait name or a dotted path such as address.city`);
  const op = o['op'];
  const opOk = typeof op === 'string' && (TRAIT_OPS as readonly string[]).includes(op);
  if (!opOk) problems.push(`${path}.op: must be one of ${TRAIT_OPS.join(', ')}`);
  const isScalar = (v: unknown): v is PropertyValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  const v = o['value'];
  let value: PropertyValue | readonly PropertyValue[] | undefined;
  let valueOk = true;
  if (op === 'exists') value = undefined;
  else if (op === 'in') {
    const list = isScalar(v) ? [v] : v;
    valueOk = Array.isArray(list) && list.length > 0 && list.length <= MAX_IN_VALUES && list.every(isScalar);
    if (!valueOk) problems.push(`${path}.value: must be a non-empty list (at most ${MAX_IN_VALUES}) of strings, numbers or booleans`);
    else value = list as PropertyValue[];
  } else if (opOk) {
    valueOk = isScalar(v);
    if (!valueOk) problems.push(`${path}.value: must be a string, number or boolean`);
    else value = v as PropertyValue;
  }
  if (!keyOk || !opOk || !valueOk) return null;
  return { type: 'trait', key: key as string, op: op as TraitOp, ...(value !== undefined ? { value } : {}) };
}
