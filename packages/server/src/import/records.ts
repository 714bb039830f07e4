import { createHash } from 'node:crypto';
import { formatMinorUnits, isCurrencyCode, normalizeIdentifier, toMinorUnits, type OrderStatus } from '@datong/core';
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

interface ExternalId {
  readonly id: string;
  readonly type: string;
  readonly collection?: string;
  readonly encoding: 'none';
}

/** A person's identifiers and traits from one row, in the mapping's order (the order the message lists them in). */
type PersonEntry =
  | { readonly kind: 'user'; readonly field: string; readonly value: string }
  | { readonly kind: 'id'; readonly field: string; readonly value: ExternalId }
  | { readonly kind: 'trait'; readonly field: string; readonly key: string; readonly value: unknown; readonly ok: boolean };

interface Person {
  readonly entries: PersonEntry[];
  /** Unreadable identifier cells, as read. */
  readonly raw: Record<string, unknown>;
}

function readPerson(m: CompiledImportMapping, values: ReadonlyMap<string, unknown>, problem: (field: string, message: string) => void): Person {
  const entries: PersonEntry[] = [];
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
      const r = normalizeIdentifier(spec.identifier, text.value, m.collections[field]);
      if (!r.ok) {
        problem(field, r.reason);
        raw[field] = text.value;
        continue;
      }
      if (field === 'user_id') entries.push({ kind: 'user', field, value: r.identifier.value });
      else {
        const id: ExternalId = { id: r.identifier.value, type: r.identifier.type, ...(r.identifier.collection ? { collection: r.identifier.collection } : {}), encoding: 'none' };
        entries.push({ kind: 'id', field, value: id });
      }
    } else if (field === 'name') {
      const t = cellText(v as Cell);
      const ok = t.ok && (t.value ?? '').length <= 200;
      if (!ok) problem(field, `name ${t.ok ? 'is longer than 200 characters' : t.reason}`);
      entries.push({ kind: 'trait', field, key: 'name', value: t.ok ? t.value : textOf(v), ok });
    } else if (field.startsWith('traits.')) {
      const t = traitValue(v, m.offsetMinutes);
      if (!t.ok) problem(field, `${field} ${t.reason}`);
      entries.push({ kind: 'trait', field, key: field.slice('traits.'.length), value: t.ok ? t.value : textOf(v), ok: t.ok });
    }
  }
  return { entries, raw };
}

/** userId, externalIds and traits (phone and email included) of a person's entries. */
function personParts(entries: Iterable<PersonEntry>): { userId: string | undefined; externalIds: ExternalId[]; traits: Record<string, unknown> } {
  let userId: string | undefined;
  const externalIds: ExternalId[] = [];
  const traits: Record<string, unknown> = {};
  for (const e of entries) {
    if (e.kind === 'user') userId = e.value;
    else if (e.kind === 'id') {
      externalIds.push(e.value);
      if (e.field === 'phone' || e.field === 'email') traits[e.field] = e.value.id;
    } else traits[e.key] = e.value;
  }
  return { userId, externalIds, traits };
}

const NO_IDENTIFIER = 'the row has no identifier (phone, email, user_id, crm_id…), so it cannot be tied to a customer';

function buildCustomer(plan: ImportPlan, row: TableRow, values: ReadonlyMap<string, unknown>, problems: RowProblem[]): RowOutcome {
  const m = plan.mapping;
  const problem = (field: string, message: string): void => void problems.push({ field, message });
  const person = readPerson(m, values, problem);
  const { userId, externalIds, traits } = personParts(person.entries);
  if (userId === undefined && externalIds.length === 0 && !problems.some((p) => IMPORT_FIELDS[p.field]?.kind === 'identifier')) problem('phone', NO_IDENTIFIER);
  const createdAt = parseDateCell((values.get('created_at') ?? null) as Cell, m.offsetMinutes);
  if (!createdAt.ok) problem('created_at', `created_at ${createdAt.reason}`);
  const created = createdAt.ok ? createdAt.value : undefined;
  const context: Record<string, unknown> = { import: { id: plan.importId, row: row.row } };
  if (externalIds.length > 0) context['externalIds'] = externalIds;
  if (created) traits['createdAt'] = created.toISOString();
  const messageId = `imp-${plan.key}-${row.row}-c`;
  const raw = person.raw;
  const message: SegmentMessage = {
    type: 'identify',
    messageId,
    ...(userId !== undefined ? { userId } : {}),
    ...(userId === undefined && raw['user_id'] !== undefined ? { userId: raw['user_id'] } : {}),
    traits: { ...traits, ...Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'user_id')) },
    context,
    ...(created ? { timestamp: created.toISOString() } : {}),
  };
  const sized = measure([message]);
  if (sized.problem && problems.length === 0) problems.push(sized.problem);
  if (problems.length > 0) return { kind: 'rejected', row: row.row, rejected: { row: row.row, problems, data: jsonSafe(row.values), message, messageId } };
  return { kind: 'ok', row: row.row, messages: [message], bytes: sized.bytes };
}

function measure(messages: readonly SegmentMessage[], what = 'the row'): { bytes: number; problem?: RowProblem } {
  let bytes = 0;
  for (const msg of messages) {
    const b = Buffer.byteLength(JSON.stringify(msg));
    if (b > MAX_MESSAGE_BYTES) return { bytes, problem: { field: '', message: `${what} makes a message of ${b} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes (32 KB)` } };
    bytes += b;
  }
  return { bytes };
}

// ---------------------------------------------------------------------------------------------
// Orders. A POS or shop export usually has one row per order line: the order id, buyer, times and
// amounts repeated (or left blank) on every line, and each line's product. A row is first read
// on its own (an OrderLine), then the consecutive lines of one order are put together
// (assembleOrder) into one `track` whose `products` holds every line.

/** An order-level value of one line: what the message carries and, when it is valid, the text lines are compared by. */
interface Fact {
  readonly value: unknown;
  readonly same?: string;
  readonly row: number;
}

/** A line's amounts, read in a currency. */
interface LineMoney {
  readonly total: string | undefined;
  readonly discount: string | undefined;
  readonly shipping: string | undefined;
  readonly price: string | undefined;
  readonly lineTotal: string | undefined;
  /** lineTotal is a valid amount (not the text of an invalid one). */
  readonly lineTotalOk: boolean;
  readonly orderProblems: RowProblem[];
  readonly lineProblems: RowProblem[];
}

/** One row of an order import, read and checked on its own. */
export interface OrderLine {
  readonly row: TableRow;
  /** Everything wrong with the row itself (not yet compared with the other lines of its order). */
  readonly problems: readonly RowProblem[];
  /** The order id; undefined when the row has none that can be read (it then belongs to no order). */
  readonly orderId: string | undefined;
  /** The order id as written, for the message of a rejected row. */
  readonly orderIdText: string;
  /** Blank: the same as the order's other lines. */
  readonly shop: string | undefined;
  /** Blank or unreadable: the same as the order's other lines. */
  readonly status: OrderStatus | undefined;
  /** An unreadable status, as written. */
  readonly statusText: string | undefined;
  readonly person: readonly PersonEntry[];
  /** Order-level values other than the buyer's, by field. */
  readonly facts: ReadonlyMap<string, Fact>;
  /** The currency the row's amounts were read in, and whether the row names it. */
  readonly currency: string;
  readonly currencyGiven: boolean;
  readonly money: LineMoney;
  readonly values: ReadonlyMap<string, unknown>;
  /** The line's product (product_id, sku, name, quantity; price and amount are added from `money`). */
  readonly product: Readonly<Record<string, unknown>> | null;
  /** Products of a `products` list cell. */
  readonly listed: readonly Record<string, unknown>[];
}

export type ParsedRow = { readonly kind: 'blank'; readonly row: number } | { readonly kind: 'customer'; readonly outcome: RowOutcome } | { readonly kind: 'line'; readonly line: OrderLine };

const ORDER_MONEY = ['total', 'discount', 'shipping'] as const;

function readMoney(values: ReadonlyMap<string, unknown>, currency: string): LineMoney {
  const orderProblems: RowProblem[] = [];
  const lineProblems: RowProblem[] = [];
  const money = (field: string, into: RowProblem[]): { value: string | undefined; ok: boolean } => {
    const v = values.get(field);
    if (isBlank(v)) return { value: undefined, ok: false };
    const p = parseMoney(v as Cell, currency);
    if (!p.ok) {
      into.push({ field, message: `${field} ${p.reason}` });
      return { value: textOf(v), ok: false };
    }
    return { value: p.value, ok: true };
  };
  const [total, discount, shipping] = ORDER_MONEY.map((f) => money(f, orderProblems).value);
  const price = money('price', lineProblems).value;
  const lineTotal = money('line_total', lineProblems);
  return { total, discount, shipping, price, lineTotal: lineTotal.value, lineTotalOk: lineTotal.ok, orderProblems, lineProblems };
}

async function parseOrderLine(plan: ImportPlan, row: TableRow, values: ReadonlyMap<string, unknown>, problems: RowProblem[]): Promise<OrderLine> {
  const m = plan.mapping;
  const problem = (field: string, message: string): void => void problems.push({ field, message });
  const person = readPerson(m, values, problem);
  const facts = new Map<string, Fact>();
  const fact = (field: string, value: unknown, same?: string): void => void facts.set(field, { value, row: row.row, ...(same !== undefined ? { same } : {}) });

  const createdAt = parseDateCell((values.get('created_at') ?? null) as Cell, m.offsetMinutes);
  if (!createdAt.ok) problem('created_at', `created_at ${createdAt.reason}`);
  else if (createdAt.value) fact('created_at', createdAt.value, createdAt.value.toISOString());
  const orderId = cellText((values.get('order_id') ?? null) as Cell);
  if (!orderId.ok) problem('order_id', `order_id ${orderId.reason}`);
  else if (orderId.value === undefined) problem('order_id', 'order_id is empty');
  else if (orderId.value.length > 128) problem('order_id', 'order_id is longer than 128 characters');
  const status = parseStatus((values.get('status') ?? null) as Cell, m.statuses);
  if (!status.ok) problem('status', `status ${status.reason}`);
  const currencyText = cellText((values.get('currency') ?? null) as Cell);
  const currencyGiven = currencyText.ok && currencyText.value !== undefined;
  const currency = (currencyText.ok && currencyText.value ? currencyText.value : m.currency).toUpperCase();
  if (!isCurrencyCode(currency)) problem('currency', 'currency is not an ISO 4217 code such as CNY');
  else if (currencyGiven) fact('currency', currency, currency);
  const money = readMoney(values, currency);
  problems.push(...money.orderProblems);
  const paidAt = parseDateCell((values.get('paid_at') ?? null) as Cell, m.offsetMinutes);
  if (!paidAt.ok) problem('paid_at', `paid_at ${paidAt.reason}`);
  else if (paidAt.value) fact('paid_at', paidAt.value, paidAt.value.toISOString());
  const shop = cellText((values.get('shop_id') ?? null) as Cell);
  if (!shop.ok) problem('shop_id', `shop_id ${shop.reason}`);
  const channel = cellText((values.get('channel') ?? null) as Cell);
  if (channel.ok && channel.value) fact('channel', channel.value, channel.value);

  let product: Record<string, unknown> | null = null;
  if (['product_id', 'sku', 'product_name', 'quantity', 'price', 'line_total'].some((f) => !isBlank(values.get(f)))) {
    const p: Record<string, unknown> = {};
    for (const [field, key] of [['product_id', 'product_id'], ['sku', 'sku'], ['product_name', 'name']] as const) {
      const t = cellText((values.get(field) ?? null) as Cell);
      if (!t.ok) problem(field, `${field} ${t.reason}`);
      else if (t.value !== undefined) p[key] = t.value;
    }
    const q = parseQuantity((values.get('quantity') ?? null) as Cell);
    if (!q.ok) problem('quantity', `quantity ${q.reason}`);
    p['quantity'] = q.ok ? (q.value ?? 1) : textOf(values.get('quantity'));
    product = p;
  }
  problems.push(...money.lineProblems);
  const listed: Record<string, unknown>[] = [];
  const list = values.get('products');
  if (!isBlank(list)) {
    const items = Array.isArray(list) ? list : typeof list === 'object' ? [list] : null;
    if (!items || items.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) problem('products', 'products is a list of objects (product_id, sku, name, quantity, price)');
    else listed.push(...(items as Record<string, unknown>[]));
  }
  return {
    row,
    problems,
    orderId: orderId.ok ? orderId.value : undefined,
    orderIdText: orderId.ok && orderId.value ? orderId.value : (textOf(values.get('order_id')) ?? ''),
    shop: shop.ok ? shop.value : undefined,
    status: status.ok ? status.value : undefined,
    statusText: status.ok ? undefined : textOf(values.get('status')),
    person: person.entries,
    facts,
    currency,
    currencyGiven,
    money,
    values,
    product,
    listed,
  };
}

/**
 * Reads one row: blank, a customer's outcome (customer imports) or an order line (order
 * imports), which assembleOrder puts together with the other lines of its order.
 */
export async function parseRow(plan: ImportPlan, row: TableRow): Promise<ParsedRow> {
  if (Object.values(row.values).every(isBlank)) return { kind: 'blank', row: row.row };
  const { values, errors } = await resolveFields(plan.mapping, row.values);
  const problems: RowProblem[] = [...errors];
  if (row.extraCells) problems.push({ field: '', message: `the row has ${row.extraCells} more cell(s) than the header has columns (a delimiter inside an unquoted field?)` });
  if (plan.mapping.type === 'customers') return { kind: 'customer', outcome: buildCustomer(plan, row, values, problems) };
  return { kind: 'line', line: await parseOrderLine(plan, row, values, problems) };
}

/** The order's identity: the track's messageId and a shorter key to remember the order by within a file. */
export interface OrderKey {
  readonly trackId: string;
  /** 96 bits of the same hash, base64: what a scan of a large file keeps per order. */
  readonly key: string;
  readonly status: OrderStatus;
  readonly shop: string | undefined;
}

/** The key of the order made of `lines` (consecutive rows with the same order id, shop and status). */
export function orderKey(plan: ImportPlan, lines: readonly [OrderLine, ...OrderLine[]]): OrderKey {
  const first = lines[0];
  const shop = lines.find((l) => l.shop !== undefined)?.shop;
  const status = lines.find((l) => l.status !== undefined)?.status ?? 'completed';
  // Keyed by the order, not the row: the same order in two overlapping exports is one event.
  const digest = createHash('sha256').update(`${plan.mapping.platform}\0${shop ?? ''}\0${first.orderIdText}\0${status}`).digest();
  return { trackId: `order-${digest.toString('hex').slice(0, 32)}`, key: digest.subarray(0, 12).toString('base64'), status, shop };
}

/** "row 2", "rows 2–4", "rows 2, 3 and 7", "rows 2–90 (12 lines)". */
export function rowsText(rows: readonly number[]): string {
  const first = rows[0] ?? 0;
  const last = rows[rows.length - 1] ?? first;
  if (rows.length <= 1) return `row ${first}`;
  if (last - first === rows.length - 1) return `rows ${first}–${last}`;
  if (rows.length <= 6) return `rows ${rows.slice(0, -1).join(', ')} and ${last}`;
  return `rows ${first}–${last} (${rows.length} lines)`;
}

function conflict(field: string, row: number): string {
  const label = IMPORT_FIELDS[field]?.kind === 'identifier' ? `the buyer's ${field}` : `the ${field}`;
  const hint =
    field === 'total'
      ? ' (if the column is each line’s amount, map it to line_total: the order total is then their sum)'
      : IMPORT_FIELDS[field]?.kind === 'identifier'
        ? ' (another buyer is another order, with its own order id)'
        : '';
  return `${field} differs from ${label} on row ${row} of the same order: the lines of one order must agree${hint}`;
}

export interface AssembledOrder {
  readonly key: OrderKey;
  /** The order's messages (the buyer's identify, then the track) when every line is valid. */
  readonly messages: readonly SegmentMessage[];
  readonly bytes: number;
  /** Every line of a rejected order, in row order, each with its reasons; empty when the order is valid. */
  readonly rejected: readonly RejectedRow[];
}

/**
 * Puts the lines of one order together: order-level values (buyer, times, currency, total,
 * discount, shipping, channel) once, from whichever line has them, after checking that no two
 * lines disagree; one product per line, in file order. The total is the `total` column (once),
 * or else the exact sum of the lines' `line_total`. A problem on any line, or `veto` (the lines
 * are not together in the file), rejects every line: an order is never imported in part.
 */
export function assembleOrder(plan: ImportPlan, lines: readonly [OrderLine, ...OrderLine[]], veto?: string): AssembledOrder {
  const m = plan.mapping;
  const first = lines[0];
  const rows = lines.map((l) => l.row.row);
  const problems = new Map<number, RowProblem[]>(lines.map((l) => [l.row.row, [...l.problems]]));
  const problem = (row: number, field: string, message: string): void => void problems.get(row)?.push({ field, message });
  const key = orderKey(plan, lines);

  // The currency first: a line that leaves it blank is read again in the order's currency.
  const currency = lines.find((l) => l.currencyGiven && isCurrencyCode(l.currency))?.currency ?? lines.find((l) => l.currencyGiven)?.currency ?? m.currency;
  const money = new Map<number, LineMoney>();
  for (const l of lines) {
    if (l.currencyGiven || l.currency === currency || !isCurrencyCode(currency)) {
      money.set(l.row.row, l.money);
      continue;
    }
    const again = readMoney(l.values, currency);
    const own = problems.get(l.row.row) ?? [];
    const stale = new Set([...l.money.orderProblems, ...l.money.lineProblems]);
    problems.set(l.row.row, [...own.filter((p) => !stale.has(p)), ...again.orderProblems, ...again.lineProblems]);
    money.set(l.row.row, again);
  }

  // Order-level values: the first line that has one gives it; a line that has another disagrees.
  const merged = new Map<string, Fact>();
  const agreed = new Map<string, Fact>();
  const person: PersonEntry[] = [];
  const take = (row: number, field: string, f: Fact): void => {
    if (!merged.has(field)) merged.set(field, f);
    if (f.same === undefined) return;
    const a = agreed.get(field);
    if (!a) agreed.set(field, f);
    else if (a.same !== f.same) problem(row, field, conflict(field, a.row));
  };
  for (const l of lines) {
    const r = l.row.row;
    for (const e of l.person) {
      const isNew = !merged.has(e.field);
      const same = e.kind === 'user' ? e.value : e.kind === 'id' ? `${e.value.type}\0${e.value.collection ?? ''}\0${e.value.id}` : e.ok ? JSON.stringify(e.value) : undefined;
      take(r, e.field, { value: e, row: r, ...(same !== undefined ? { same } : {}) });
      if (isNew) person.push(e);
    }
    for (const [field, f] of l.facts) take(r, field, f);
    const lm = money.get(r) ?? l.money;
    for (const field of ORDER_MONEY) {
      const v = lm[field];
      if (v === undefined) continue;
      const valid = !lm.orderProblems.some((p) => p.field === field);
      take(r, field, { value: v, row: r, ...(valid ? { same: v } : {}) });
    }
  }

  const { userId, externalIds, traits } = personParts(person);
  if (userId === undefined && externalIds.length === 0 && ![...problems.values()].some((ps) => ps.some((p) => IMPORT_FIELDS[p.field]?.kind === 'identifier'))) {
    problem(first.row.row, 'phone', lines.length === 1 ? NO_IDENTIFIER : 'no line of the order has an identifier (phone, email, user_id, crm_id…), so it cannot be tied to a customer');
  }

  let total = merged.get('total')?.value as string | undefined;
  if (total === undefined) {
    if (m.fields.some((f) => f.field === 'line_total')) {
      let sum = 0n;
      let exact = isCurrencyCode(currency);
      for (const l of lines) {
        const lm = money.get(l.row.row) ?? l.money;
        if (lm.lineTotal === undefined) {
          problem(l.row.row, 'line_total', lines.length === 1 ? 'line_total is empty (and there is no total)' : 'line_total is empty, and the order has no total: each of its lines needs its amount');
          exact = false;
        } else if (!lm.lineTotalOk) exact = false;
        else sum += toMinorUnits(lm.lineTotal, currency) ?? 0n;
      }
      if (exact) total = formatMinorUnits(sum, currency);
    } else problem(first.row.row, 'total', 'total is empty');
  }

  const products: Record<string, unknown>[] = [];
  for (const l of lines) {
    const lm = money.get(l.row.row) ?? l.money;
    if (l.product) {
      products.push({
        ...l.product,
        ...(lm.price !== undefined ? { price: lm.price } : {}),
        ...(lm.lineTotal !== undefined ? { amount: lm.lineTotal } : {}),
      });
    }
    products.push(...l.listed);
  }

  const unreadableStatus = lines.find((l) => l.statusText !== undefined)?.statusText;
  const knownStatus = lines.some((l) => l.status !== undefined) || unreadableStatus === undefined;
  const created = merged.get('created_at')?.value as Date | undefined;
  const paidAt = merged.get('paid_at')?.value as Date | undefined;
  const discount = merged.get('discount')?.value;
  const shipping = merged.get('shipping')?.value;
  const channel = merged.get('channel')?.value;
  const when = paidAt ?? created;
  const lastRow = rows[rows.length - 1] ?? first.row.row;
  const context: Record<string, unknown> = { import: { id: plan.importId, row: first.row.row, ...(lines.length > 1 ? { lastRow, lines: lines.length } : {}) } };
  if (externalIds.length > 0) context['externalIds'] = externalIds;
  const who: Record<string, unknown> = userId !== undefined ? { userId } : {};
  const properties: Record<string, unknown> = {
    order_id: first.orderIdText,
    total,
    currency,
    status: knownStatus ? key.status : unreadableStatus,
    platform: m.platform,
    ...(key.shop !== undefined ? { shop_id: key.shop } : {}),
    ...(discount !== undefined ? { discount } : {}),
    ...(shipping !== undefined ? { shipping } : {}),
    ...(paidAt ? { paid_at: paidAt.toISOString() } : {}),
    ...(created ? { created_at: created.toISOString() } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(products.length > 0 ? { products } : {}),
  };
  const track: SegmentMessage = {
    type: 'track',
    messageId: key.trackId,
    ...who,
    event: ORDER_EVENTS[key.status],
    properties,
    context,
    ...(when ? { timestamp: when.toISOString() } : {}),
  };
  const messages: SegmentMessage[] = [];
  const profile = { ...traits };
  delete profile['phone'];
  delete profile['email'];
  if (Object.keys(profile).length > 0) {
    messages.push({ type: 'identify', messageId: `imp-${plan.key}-${first.row.row}-b`, ...who, traits, context, ...(when ? { timestamp: when.toISOString() } : {}) });
  }
  messages.push(track);

  const bad = lines.filter((l) => (problems.get(l.row.row)?.length ?? 0) > 0);
  if (bad.length === 0 && veto === undefined) {
    const sized = measure(messages, lines.length === 1 ? 'the row' : `the order (${lines.length} lines)`);
    if (!sized.problem) return { key, messages, bytes: sized.bytes, rejected: [] };
    problems.get(first.row.row)?.push(sized.problem);
    bad.push(first);
  }

  const rejected: RejectedRow[] = lines.map((l, i) => {
    const r = l.row.row;
    const own = problems.get(r) ?? [];
    const reasons: RowProblem[] = [];
    if (veto !== undefined) reasons.push({ field: 'order_id', message: veto }, ...own);
    else if (lines.length === 1) reasons.push(...own);
    else {
      const where = rowsText(rows);
      const holder = i === 0 ? 'this entry holds the order with every line' : `fix it from the entry of row ${first.row.row}, which holds the order with every line`;
      if (own.length > 0) reasons.push(...own, { field: '', message: `the whole order (${where}) is rejected with this line; ${holder}` });
      else reasons.push({ field: '', message: `rejected with its order (${where}) because of ${rowsText(bad.map((b) => b.row.row))}; ${holder}` });
    }
    return { row: r, problems: reasons, data: jsonSafe(l.row.values), message: i === 0 && veto === undefined ? track : null, messageId: key.trackId };
  });
  return { key, messages: [], bytes: 0, rejected };
}

/**
 * Validates one row and builds its messages: an `identify` for a customer; for an order the
 * buyer's `identify` (when the row carries a name or traits) and the order's `track`
 * (`Order Completed`, `Order Cancelled` or `Order Updated` by status). A row with any problem is
 * rejected whole, with every reason, and never half imported. An order row is taken as an order
 * of one line here; the import pipeline puts the consecutive lines of an order together.
 */
export async function buildRow(plan: ImportPlan, row: TableRow): Promise<RowOutcome> {
  const parsed = await parseRow(plan, row);
  if (parsed.kind === 'blank') return { kind: 'blank', row: row.row };
  if (parsed.kind === 'customer') return parsed.outcome;
  const order = assembleOrder(plan, [parsed.line]);
  const rejected = order.rejected[0];
  if (rejected) return { kind: 'rejected', row: row.row, rejected };
  return { kind: 'ok', row: row.row, messages: order.messages, bytes: order.bytes };
}
