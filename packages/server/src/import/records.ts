import { createHash } from 'node:crypto';
import { isCurrencyCode, normalizeIdentifier, type OrderStatus } from '@datong/core';
import { IMPORT_FIELDS } from './fields.js';
import { resolveFields, type CompiledImportMapping } from './mapping.js';
import type { Cell, RejectedRow, RowProblem, SegmentMessage, TableRow } from './types.js';
import { cellText, isBlank, parseDateCell, parseMoney, parseQuantity, parseStatus } from './values.js';

/** Segment's per-event limit, as /v1/batch enforces it (routes/v1/ingest.routes.ts). */
export const MAX_MESSAGE_BYTES = 32 * 1024;
const MAX_TEXT = 1000;

/** A compiled mapping bound to one file: `key` makes every messageId of this file and mapping. */
export interface ImportPlan {
  readonly mapping: CompiledImportMapping;
  /** First 24 hex digits of sha256(file hash, type, mapping fingerprint). */
  readonly key: string;
  /** The import's id, recorded in each message's context and in quarantine entries. */
  readonly importId: string;
}

export function importKey(fileSha256: string, mapping: CompiledImportMapping): string {
  return createHash('sha256').update(`${fileSha256}\0${mapping.type}\0${mapping.fingerprint}`).digest('hex').slice(0, 24);
}

export function makePlan(mapping: CompiledImportMapping, fileSha256: string, importId?: string): ImportPlan {
  const key = importKey(fileSha256, mapping);
  return { mapping, key, importId: importId ?? `imp_${key}` };
}

export type RowOutcome =
  | { readonly kind: 'ok'; readonly row: number; readonly messages: readonly SegmentMessage[]; readonly bytes: number }
  | { readonly kind: 'rejected'; readonly row: number; readonly rejected: RejectedRow }
  | { readonly kind: 'blank'; readonly row: number };

/** Segment's e-commerce spec events by Datong order status (https://segment.com/docs/connections/spec/ecommerce/v2/). */
export const ORDER_EVENTS: Readonly<Record<OrderStatus, string>> = {
  created: 'Order Updated',
  paid: 'Order Completed',
  shipped: 'Order Completed',
  completed: 'Order Completed',
  cancelled: 'Order Cancelled',
  closed: 'Order Cancelled',
};

function jsonSafe(values: Readonly<Record<string, Cell>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out;
}

/** A trait value: text trimmed, numbers and booleans kept, dates as ISO 8601 (a date without time as YYYY-MM-DD). */
function traitValue(v: unknown, offsetMinutes: number): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (v instanceof Date) {
    const wall = v.toISOString();
    if (wall.endsWith('T00:00:00.000Z')) return { ok: true, value: wall.slice(0, 10) };
    const d = parseDateCell(v, offsetMinutes);
    return d.ok ? { ok: true, value: d.value?.toISOString() } : d;
  }
  if (typeof v === 'string') {
    const s = v.trim();
    return s.length > MAX_TEXT ? { ok: false, reason: `is longer than ${MAX_TEXT} characters` } : { ok: true, value: s };
  }
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return { ok: true, value: v };
  if (typeof v === 'object') return { ok: true, value: v };
  return { ok: false, reason: 'is not a value a trait can hold' };
}

function textOf(v: unknown): string | undefined {
  const t = cellText(v as Cell);
  return t.ok ? t.value : typeof v === 'string' ? v : v === null || v === undefined ? undefined : String(v);
}

/**
 * Validates one row and builds its messages: an `identify` for a customer; for an order the
 * buyer's `identify` (when the row carries a name or traits) and the order's `track`
 * (`Order Completed`, `Order Cancelled` or `Order Updated` by status). A row with any problem is
 * rejected whole, with every reason, and never half imported.
 */
export async function buildRow(plan: ImportPlan, row: TableRow): Promise<RowOutcome> {
  const m = plan.mapping;
  if (Object.values(row.values).every(isBlank)) return { kind: 'blank', row: row.row };
  const { values, errors } = await resolveFields(m, row.values);
  const problems: RowProblem[] = [...errors];
  const problem = (field: string, message: string): void => void problems.push({ field, message });
  if (row.extraCells) problem('', `the row has ${row.extraCells} more cell(s) than the header has columns (a delimiter inside an unquoted field?)`);

  let userId: string | undefined;
  const externalIds: { id: string; type: string; collection?: string; encoding: 'none' }[] = [];
  const traits: Record<string, unknown> = {};
  const raw: Record<string, unknown> = {};
  for (const [field, v] of values) {
    if (isBlank(v)) continue;
    const spec = IMPORT_FIELDS[field];
    if (spec?.kind === 'identifier' && spec.identifier) {
      const text = cellText(v as Cell);
      if (!text.ok) {
        problem(field, `${field} ${text.reason}`);
        raw[field] = v;
        continue;
      }
      const collection = m.collections[field];
      const r = normalizeIdentifier(spec.identifier, text.value, collection);
      if (!r.ok) {
        problem(field, r.reason);
        raw[field] = text.value;
        continue;
      }
      if (field === 'user_id') userId = r.identifier.value;
      else {
        externalIds.push({ id: r.identifier.value, type: r.identifier.type, ...(r.identifier.collection ? { collection: r.identifier.collection } : {}), encoding: 'none' });
        if (field === 'phone' || field === 'email') traits[field] = r.identifier.value;
      }
    } else if (field === 'name') {
      const t = cellText(v as Cell);
      if (!t.ok || (t.value ?? '').length > 200) problem(field, `name ${t.ok ? 'is longer than 200 characters' : t.reason}`);
      traits['name'] = t.ok ? t.value : textOf(v);
    } else if (field.startsWith('traits.')) {
      const t = traitValue(v, m.offsetMinutes);
      if (!t.ok) problem(field, `${field} ${t.reason}`);
      traits[field.slice('traits.'.length)] = t.ok ? t.value : textOf(v);
    }
  }
  const hasIdentifier = userId !== undefined || externalIds.length > 0;
  if (!hasIdentifier && !problems.some((p) => IMPORT_FIELDS[p.field]?.kind === 'identifier')) {
    problem('phone', 'the row has no identifier (phone, email, user_id, crm_id…), so it cannot be tied to a customer');
  }
  const createdAt = parseDateCell((values.get('created_at') ?? null) as Cell, m.offsetMinutes);
  if (!createdAt.ok) problem('created_at', `created_at ${createdAt.reason}`);
  const created = createdAt.ok ? createdAt.value : undefined;
  const context: Record<string, unknown> = { import: { id: plan.importId, row: row.row } };
  if (externalIds.length > 0) context['externalIds'] = externalIds;
  const who: Record<string, unknown> = userId !== undefined ? { userId } : {};

  if (m.type === 'customers') {
    if (created) traits['createdAt'] = created.toISOString();
    const messageId = `imp-${plan.key}-${row.row}-c`;
    const message: SegmentMessage = {
      type: 'identify',
      messageId,
      ...who,
      ...(userId === undefined && raw['user_id'] !== undefined ? { userId: raw['user_id'] } : {}),
      traits: { ...traits, ...Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'user_id')) },
      context,
      ...(created ? { timestamp: created.toISOString() } : {}),
    };
    return finish(row, problems, [message], message, messageId);
  }

  // Orders.
  const orderId = cellText((values.get('order_id') ?? null) as Cell);
  if (!orderId.ok) problem('order_id', `order_id ${orderId.reason}`);
  else if (orderId.value === undefined) problem('order_id', 'order_id is empty');
  else if (orderId.value.length > 128) problem('order_id', 'order_id is longer than 128 characters');
  const status = parseStatus((values.get('status') ?? null) as Cell, m.statuses);
  if (!status.ok) problem('status', `status ${status.reason}`);
  const currencyText = cellText((values.get('currency') ?? null) as Cell);
  const currency = (currencyText.ok && currencyText.value ? currencyText.value : m.currency).toUpperCase();
  if (!isCurrencyCode(currency)) problem('currency', 'currency is not an ISO 4217 code such as CNY');
  const money = (field: string, required: boolean): string | undefined => {
    const v = values.get(field);
    if (isBlank(v)) {
      if (required) problem(field, `${field} is empty`);
      return undefined;
    }
    const p = parseMoney(v as Cell, currency);
    if (!p.ok) {
      problem(field, `${field} ${p.reason}`);
      return textOf(v);
    }
    return p.value;
  };
  const total = money('total', true);
  const discount = money('discount', false);
  const shipping = money('shipping', false);
  const paidAt = parseDateCell((values.get('paid_at') ?? null) as Cell, m.offsetMinutes);
  if (!paidAt.ok) problem('paid_at', `paid_at ${paidAt.reason}`);
  const shop = cellText((values.get('shop_id') ?? null) as Cell);
  if (!shop.ok) problem('shop_id', `shop_id ${shop.reason}`);
  const channel = cellText((values.get('channel') ?? null) as Cell);

  const products: Record<string, unknown>[] = [];
  const productFields = ['product_id', 'sku', 'product_name', 'quantity', 'price'];
  if (productFields.some((f) => !isBlank(values.get(f)))) {
    const p: Record<string, unknown> = {};
    for (const [field, key] of [['product_id', 'product_id'], ['sku', 'sku'], ['product_name', 'name']] as const) {
      const t = cellText((values.get(field) ?? null) as Cell);
      if (!t.ok) problem(field, `${field} ${t.reason}`);
      else if (t.value !== undefined) p[key] = t.value;
    }
    const q = parseQuantity((values.get('quantity') ?? null) as Cell);
    if (!q.ok) problem('quantity', `quantity ${q.reason}`);
    p['quantity'] = q.ok ? (q.value ?? 1) : textOf(values.get('quantity'));
    const price = money('price', false);
    if (price !== undefined) p['price'] = price;
    products.push(p);
  }
  const listed = values.get('products');
  if (!isBlank(listed)) {
    const list = Array.isArray(listed) ? listed : typeof listed === 'object' ? [listed] : null;
    if (!list || list.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) problem('products', 'products is a list of objects (product_id, sku, name, quantity, price)');
    else products.push(...(list as Record<string, unknown>[]));
  }

  const st: OrderStatus = status.ok ? (status.value ?? 'completed') : 'completed';
  const oid = orderId.ok && orderId.value ? orderId.value : textOf(values.get('order_id')) ?? '';
  const shopId = shop.ok ? shop.value : undefined;
  const when = (paidAt.ok ? paidAt.value : undefined) ?? created;
  // Keyed by the order, not the row: the same order in two overlapping exports is one event.
  const trackId = `order-${createHash('sha256').update(`${m.platform}\0${shopId ?? ''}\0${oid}\0${st}`).digest('hex').slice(0, 32)}`;
  const properties: Record<string, unknown> = {
    order_id: oid,
    total,
    currency,
    status: status.ok ? st : textOf(values.get('status')),
    platform: m.platform,
    ...(shopId !== undefined ? { shop_id: shopId } : {}),
    ...(discount !== undefined ? { discount } : {}),
    ...(shipping !== undefined ? { shipping } : {}),
    ...(paidAt.ok && paidAt.value ? { paid_at: paidAt.value.toISOString() } : {}),
    ...(created ? { created_at: created.toISOString() } : {}),
    ...(channel.ok && channel.value ? { channel: channel.value } : {}),
    ...(products.length > 0 ? { products } : {}),
  };
  const track: SegmentMessage = {
    type: 'track',
    messageId: trackId,
    ...who,
    event: ORDER_EVENTS[st],
    properties,
    context,
    ...(when ? { timestamp: when.toISOString() } : {}),
  };
  const messages: SegmentMessage[] = [];
  const profile = { ...traits };
  delete profile['phone'];
  delete profile['email'];
  if (Object.keys(profile).length > 0) {
    messages.push({ type: 'identify', messageId: `imp-${plan.key}-${row.row}-b`, ...who, traits, context, ...(when ? { timestamp: when.toISOString() } : {}) });
  }
  messages.push(track);
  return finish(row, problems, messages, track, trackId);
}

function finish(row: TableRow, problems: RowProblem[], messages: SegmentMessage[], main: SegmentMessage, messageId: string): RowOutcome {
  let bytes = 0;
  if (problems.length === 0) {
    for (const msg of messages) {
      const b = Buffer.byteLength(JSON.stringify(msg));
      if (b > MAX_MESSAGE_BYTES) problems.push({ field: '', message: `the row makes a message of ${b} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes (32 KB)` });
      bytes += b;
    }
  }
  if (problems.length > 0) {
    return { kind: 'rejected', row: row.row, rejected: { row: row.row, problems, data: jsonSafe(row.values), message: main, messageId } };
  }
  return { kind: 'ok', row: row.row, messages, bytes };
}
