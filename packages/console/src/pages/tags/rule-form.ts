// The rule-tag condition as a form (no JSON typing): a tree of groups (all / any) and leaves,
// turned into the condition the API takes (packages/core/src/tags/rule-condition.ts) and back.

export type CompareOp = 'gte' | 'gt' | 'lte' | 'lt' | 'eq' | 'neq';
export const COMPARE_OPS: readonly CompareOp[] = ['gte', 'gt', 'lte', 'lt', 'eq', 'neq'];
export const OP_SYMBOLS: Record<CompareOp, string> = { gte: '≥', gt: '>', lte: '≤', lt: '<', eq: '=', neq: '≠' };
export const LEAF_TYPES = ['event_count', 'total_spend', 'order_count', 'days_since_last_order', 'first_channel'] as const;
/** Segments also take has_tag and trait (rule tags refuse them). */
export const SEGMENT_LEAF_TYPES = [...LEAF_TYPES, 'has_tag', 'trait'] as const;
export type LeafType = (typeof SEGMENT_LEAF_TYPES)[number];
export type TraitOp = 'eq' | 'neq' | 'exists' | 'in' | 'gte' | 'lte';
export const TRAIT_OPS: readonly TraitOp[] = ['eq', 'neq', 'in', 'exists', 'gte', 'lte'];
export const MAX_DEPTH = 3;

export type WhereKind = 'text' | 'number' | 'boolean';
export interface WhereRow {
  key: string;
  kind: WhereKind;
  value: string;
}

export interface LeafForm {
  kind: 'leaf';
  id: string;
  type: LeafType;
  event: string;
  where: WhereRow[];
  withinDays: number | null;
  op: CompareOp;
  /** A count, a number of days, or a decimal amount (total_spend). */
  value: string;
  currency: string;
  channels: string[];
  /** has_tag */
  tag: string;
  /** trait: key (dotted path), op, and for `in` the values (value holds the others' single value). */
  traitKey: string;
  traitOp: TraitOp;
  traitValues: string[];
}

export interface GroupForm {
  kind: 'group';
  id: string;
  mode: 'all' | 'any';
  items: (LeafForm | GroupForm)[];
}

export type Node = LeafForm | GroupForm;

let seq = 0;
export const newId = (): string => `n${++seq}`;

export function newLeaf(type: LeafType = 'event_count'): LeafForm {
  return {
    kind: 'leaf',
    id: newId(),
    type,
    event: type === 'event_count' ? '' : '',
    where: [],
    withinDays: type === 'event_count' || type === 'total_spend' || type === 'order_count' ? 30 : null,
    op: type === 'days_since_last_order' ? 'gte' : 'gte',
    value: type === 'total_spend' ? '1000.00' : type === 'days_since_last_order' ? '90' : '1',
    currency: 'CNY',
    channels: [],
    tag: '',
    traitKey: '',
    traitOp: 'eq',
    traitValues: [],
    ...(type === 'trait' ? { value: '' } : {}),
  };
}

export function newGroup(mode: 'all' | 'any' = 'all', items: Node[] = [newLeaf()]): GroupForm {
  return { kind: 'group', id: newId(), mode, items };
}

export interface Built {
  condition: unknown;
  errors: string[];
}

/** Problems are keys of the i18n catalogue with a path ("1.2" = second item of the first group). */
export function buildCondition(root: GroupForm): Built {
  const errors: string[] = [];
  const leaf = (l: LeafForm, path: string): Record<string, unknown> => {
    const withinDays = l.withinDays === null ? {} : { withinDays: l.withinDays };
    const count = (): number => {
      const n = Number(l.value);
      if (l.value.trim() === '' || !Number.isInteger(n) || n < 0) errors.push(`${path}:rules.err.count`);
      return n;
    };
    if (l.withinDays !== null && (!Number.isInteger(l.withinDays) || l.withinDays < 1 || l.withinDays > 3650)) errors.push(`${path}:rules.err.window`);
    switch (l.type) {
      case 'event_count': {
        if (l.event.trim() === '') errors.push(`${path}:rules.err.event`);
        const where: Record<string, string | number | boolean> = {};
        for (const w of l.where) {
          if (w.key.trim() === '') {
            errors.push(`${path}:rules.err.whereKey`);
            continue;
          }
          if (w.kind === 'number') {
            const n = Number(w.value);
            if (w.value.trim() === '' || !Number.isFinite(n)) errors.push(`${path}:rules.err.whereNumber`);
            where[w.key.trim()] = n;
          } else if (w.kind === 'boolean') where[w.key.trim()] = w.value === 'true';
          else where[w.key.trim()] = w.value;
        }
        return {
          type: 'event_count',
          event: l.event.trim(),
          ...(Object.keys(where).length > 0 ? { where } : {}),
          ...withinDays,
          op: l.op,
          value: count(),
        };
      }
      case 'total_spend':
        if (!/^\d+(\.\d{1,4})?$/.test(l.value.trim())) errors.push(`${path}:rules.err.amount`);
        if (!/^[A-Z]{3}$/.test(l.currency)) errors.push(`${path}:rules.err.currency`);
        return { type: 'total_spend', currency: l.currency, ...withinDays, op: l.op, value: l.value.trim() };
      case 'order_count':
        return { type: 'order_count', ...withinDays, op: l.op, value: count() };
      case 'days_since_last_order':
        return { type: 'days_since_last_order', op: l.op, value: count() };
      case 'first_channel':
        if (l.channels.length === 0) errors.push(`${path}:rules.err.channels`);
        return { type: 'first_channel', in: [...l.channels] };
      case 'has_tag':
        if (l.tag.trim() === '') errors.push(`${path}:rules.err.tag`);
        return { type: 'has_tag', tag: l.tag.trim() };
      case 'trait': {
        const key = l.traitKey.trim();
        if (key === '' || key.split('.').some((p) => p.trim() === '')) errors.push(`${path}:rules.err.traitKey`);
        if (l.traitOp === 'exists') return { type: 'trait', key, op: 'exists' };
        if (l.traitOp === 'in') {
          if (l.traitValues.length === 0) errors.push(`${path}:rules.err.traitValue`);
          return { type: 'trait', key, op: 'in', value: [...l.traitValues] };
        }
        if (l.value.trim() === '') errors.push(`${path}:rules.err.traitValue`);
        // Numbers compare as numbers for gte/lte; text otherwise (the server compares eq as text either way).
        const n = Number(l.value.trim());
        const numeric = (l.traitOp === 'gte' || l.traitOp === 'lte') && l.value.trim() !== '' && Number.isFinite(n);
        return { type: 'trait', key, op: l.traitOp, value: numeric ? n : l.value.trim() };
      }
    }
  };
  const group = (g: GroupForm, path: string): Record<string, unknown> => {
    if (g.items.length === 0) errors.push(`${path || '0'}:rules.err.emptyGroup`);
    const items = g.items.map((n, i) => {
      const p = path ? `${path}.${i + 1}` : String(i + 1);
      return n.kind === 'group' ? group(n, p) : leaf(n, p);
    });
    return g.mode === 'all' ? { all: items } : { any: items };
  };
  // A single leaf needs no group around it.
  const only = root.items[0];
  const condition = root.items.length === 1 && only?.kind === 'leaf' ? leaf(only, '1') : group(root, '');
  return { condition, errors };
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** The form for a stored condition; null when it has a shape this form cannot show. */
export function parseCondition(raw: unknown): GroupForm | null {
  const toNode = (v: unknown, depth: number): Node | null => {
    const o = asRecord(v);
    if (!o || depth > MAX_DEPTH) return null;
    for (const mode of ['all', 'any'] as const) {
      const list = o[mode];
      if (Array.isArray(list)) {
        const items = list.map((x) => toNode(x, depth + 1));
        return items.every((x): x is Node => x !== null) ? { kind: 'group', id: newId(), mode, items } : null;
      }
    }
    const type = o['type'];
    if (typeof type !== 'string' || !(SEGMENT_LEAF_TYPES as readonly string[]).includes(type)) return null;
    const l = newLeaf(type as LeafType);
    l.withinDays = typeof o['withinDays'] === 'number' ? o['withinDays'] : null;
    if (typeof o['op'] === 'string' && (COMPARE_OPS as readonly string[]).includes(o['op'])) l.op = o['op'] as CompareOp;
    if (o['value'] !== undefined) l.value = String(o['value']);
    if (typeof o['event'] === 'string') l.event = o['event'];
    if (typeof o['currency'] === 'string') l.currency = o['currency'];
    const inList = o['in'];
    if (Array.isArray(inList)) l.channels = inList.map(String);
    else if (typeof inList === 'string') l.channels = [inList];
    if (typeof o['tag'] === 'string') l.tag = o['tag'];
    if (type === 'trait') {
      l.traitKey = typeof o['key'] === 'string' ? o['key'] : '';
      l.traitOp = (TRAIT_OPS as readonly string[]).includes(String(o['op'])) ? (o['op'] as TraitOp) : 'eq';
      l.op = 'gte';
      if (Array.isArray(o['value'])) {
        l.traitValues = o['value'].map(String);
        l.value = '';
      }
    }
    const where = asRecord(o['where']);
    if (where) {
      l.where = Object.entries(where).map(([key, v2]) => ({
        key,
        kind: typeof v2 === 'number' ? 'number' : typeof v2 === 'boolean' ? 'boolean' : 'text',
        value: String(v2),
      }));
    }
    return l;
  };
  const n = toNode(raw, 0);
  if (!n) return null;
  return n.kind === 'group' ? n : newGroup('all', [n]);
}

/** A sentence for a condition, with a translate function for the words. */
export function describeCondition(raw: unknown, t: (key: string, vars?: Record<string, unknown>) => string): string {
  const go = (v: unknown, top: boolean): string => {
    const o = asRecord(v);
    if (!o) return '?';
    for (const mode of ['all', 'any'] as const) {
      const list = o[mode];
      if (Array.isArray(list)) {
        const s = list.map((x) => go(x, false)).join(t(mode === 'all' ? 'rules.and' : 'rules.or'));
        return top ? s : `(${s})`;
      }
    }
    const op = OP_SYMBOLS[o['op'] as CompareOp] ?? '';
    const within = typeof o['withinDays'] === 'number' ? t('rules.withinDays', { n: o['withinDays'] }) : '';
    switch (o['type']) {
      case 'event_count': {
        const where = asRecord(o['where']);
        const w = where ? ` [${Object.entries(where).map(([k, x]) => `${k}=${String(x)}`).join(', ')}]` : '';
        return t('rules.sEventCount', { event: String(o['event']), where: w, op, value: String(o['value']), within });
      }
      case 'total_spend':
        return t('rules.sTotalSpend', { op, value: String(o['value']), currency: String(o['currency'] ?? 'CNY'), within });
      case 'order_count':
        return t('rules.sOrderCount', { op, value: String(o['value']), within });
      case 'days_since_last_order':
        return t('rules.sDaysSince', { op, value: String(o['value']) });
      case 'first_channel': {
        const list = Array.isArray(o['in']) ? (o['in'] as unknown[]).map(String) : [String(o['in'])];
        return t('rules.sFirstChannel', { channels: list.join(' / ') });
      }
      case 'has_tag':
        return t('rules.sHasTag', { tag: String(o['tag']) });
      case 'trait': {
        const value = Array.isArray(o['value']) ? (o['value'] as unknown[]).map(String).join(' / ') : o['value'] === undefined ? '' : String(o['value']);
        return t('rules.sTrait', { key: String(o['key']), op: t(`rules.traitOp.${String(o['op'])}`), value });
      }
      default:
        return '?';
    }
  };
  return go(raw, true);
}
