import { createHash } from 'node:crypto';
import {
  normalizeIdentifier,
  orderUpdateApplies,
  toMinorUnits,
  type CanonicalBuyer,
  type CanonicalMember,
  type CanonicalOrder,
  type CanonicalRecord,
  type CanonicalRefund,
  type Identifier,
  type OrderStatus,
  type RefundStatus,
} from '@datong/core';
import type { Queryable } from '../db/client.js';
import { identifierIndexInput } from '../jobs/process-inbox.js';
import type { Keyring } from '../security/keys.js';
import { derivedMessageId, ORDER_COMPLETED, ORDER_REFUNDED, orderTransitionEvents, refundUpdateApplies } from './commerce-rules.js';

/**
 * Applies canonical commerce records (what a connector's normalizer returns) in the caller's
 * transaction: orders and refunds move forward only, every applied order update leaves a
 * status history row, and each applied transition becomes Segment messages for the inbox
 * (an `identify` with the buyer's identifiers and the e-commerce `track` events). The inbox
 * worker then does OneID, the timeline, rule tags and webhooks as for any other source.
 */

export interface ApplyContext {
  readonly tenantId: string;
  readonly connectorId: string;
  /** The connector's platform: the key of orders and refunds whatever a record says. */
  readonly platform: string;
  /** connector_messages.id of the message being applied (status history). */
  readonly connectorMessageId: string;
  readonly now: Date;
}

/** What the message log shows of a record: ids, states, amounts and counts; never personal data. */
export type RecordResult =
  | {
      readonly kind: 'order';
      readonly orderId: string;
      readonly shopId: string;
      readonly status: OrderStatus;
      readonly previousStatus: OrderStatus | null;
      readonly applied: boolean;
      readonly reason?: string;
      readonly events: readonly string[];
      readonly total: string;
      readonly currency: string;
      readonly lines: number;
      readonly buyerIdentifiers: number;
    }
  | {
      readonly kind: 'refund';
      readonly refundId: string;
      readonly orderId: string;
      readonly shopId: string;
      readonly status: RefundStatus;
      readonly previousStatus: RefundStatus | null;
      readonly applied: boolean;
      readonly reason?: string;
      readonly events: readonly string[];
      readonly amount: string;
      readonly currency: string;
    }
  | { readonly kind: 'member'; readonly shopId: string; readonly event: string; readonly level: string | null; readonly events: readonly string[]; readonly reason?: string }
  | { readonly kind: 'ignored'; readonly reason: string };

export interface ApplyOutcome {
  readonly results: RecordResult[];
  /** Segment messages to store in the inbox under the connector's source, in the same transaction. */
  readonly segment: Record<string, unknown>[];
}

type SegmentMessage = Record<string, unknown>;

interface StoredOrder {
  status: OrderStatus;
  status_at: Date | string;
  version: string | null;
  completed_event: boolean;
  buyer_ids_enc: string | null;
  buyer_index: string[];
  buyer_enc: string | null;
  paid_at: Date | string | null;
  link_message_id: string | null;
  attribution: Record<string, unknown>;
  promotions: unknown[];
  details_known: boolean;
  currency: string;
  total: string;
  total_minor: string | null;
  discount: string | null;
  shipping: string | null;
  created_at: Date | string;
}

interface StoredRefund {
  status: RefundStatus;
  status_at: Date | string;
  version: string | null;
  refunded_event: boolean;
}

const iso = (v: Date | string): string => new Date(v).toISOString();

/** The buyer's identifiers Datong can use (normalized; invalid ones dropped, never guessed). */
export function usableIdentifiers(buyer: CanonicalBuyer | undefined): Identifier[] {
  const out: Identifier[] = [];
  const seen = new Set<string>();
  for (const b of buyer?.identifiers ?? []) {
    const r = normalizeIdentifier(b.type, b.value, b.collection);
    if (!r.ok) continue;
    const key = identifierIndexInput(r.identifier);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r.identifier);
  }
  return out;
}

function externalIds(ids: readonly Identifier[]): Record<string, string>[] {
  return ids.map((i) => ({ type: i.type, id: i.value, ...(i.collection ? { collection: i.collection } : {}), encoding: 'none' }));
}

function connectorContext(ctx: ApplyContext, ids: readonly Identifier[]): Record<string, unknown> {
  return { externalIds: externalIds(ids), connector: { id: ctx.connectorId, platform: ctx.platform } };
}

function identify(ctx: ApplyContext, messageId: string, timestamp: string, ids: readonly Identifier[], traits: Record<string, unknown>): SegmentMessage {
  return { type: 'identify', messageId, timestamp, traits, context: connectorContext(ctx, ids) };
}

function track(ctx: ApplyContext, event: string, messageId: string, timestamp: string, ids: readonly Identifier[], properties: Record<string, unknown>): SegmentMessage {
  return { type: 'track', event, messageId, timestamp, properties, context: connectorContext(ctx, ids) };
}

function orderProperties(ctx: ApplyContext, o: CanonicalOrder, lines: CanonicalOrder['lines']): Record<string, unknown> {
  const coupon = o.promotions?.find((p) => p.kind === 'coupon');
  const props: Record<string, unknown> = {
    order_id: o.orderId,
    total: o.totalAmount,
    currency: o.currency,
    products: lines.map((l) => ({
      product_id: l.productId ?? null,
      sku: l.skuId ?? null,
      name: l.title,
      price: l.unitPrice,
      quantity: l.quantity,
    })),
    platform: ctx.platform,
    shop_id: o.shopId,
  };
  if (o.discountAmount !== undefined) props['discount'] = o.discountAmount;
  if (o.shippingAmount !== undefined) props['shipping'] = o.shippingAmount;
  if (coupon) props['coupon'] = coupon.id ?? coupon.name;
  if (o.promotions && o.promotions.length > 0) props['promotions'] = o.promotions;
  if (o.attribution && Object.keys(o.attribution).length > 0) props['attribution'] = o.attribution;
  return props;
}

function encryptJson(keyring: Keyring, v: unknown): string {
  return keyring.encrypt(JSON.stringify(v));
}

function buyerDetails(buyer: CanonicalBuyer): Record<string, unknown> | null {
  const d: Record<string, unknown> = {};
  if (buyer.name !== undefined) d['name'] = buyer.name;
  if (buyer.maskedPhone !== undefined) d['maskedPhone'] = buyer.maskedPhone;
  if (buyer.address !== undefined) d['address'] = buyer.address;
  return Object.keys(d).length > 0 ? d : null;
}

async function applyOrder(q: Queryable, keyring: Keyring, ctx: ApplyContext, o: CanonicalOrder, out: ApplyOutcome): Promise<void> {
  const { tenantId, platform } = ctx;
  const key = [tenantId, platform, o.shopId, o.orderId];
  const r = await q.query<StoredOrder>(
    `SELECT status, status_at, version, completed_event, buyer_ids_enc, buyer_index, buyer_enc, paid_at, link_message_id, attribution, promotions,
            details_known, currency, total, total_minor::text AS total_minor, discount, shipping, created_at
     FROM orders WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND order_id = $4 FOR UPDATE`,
    key,
  );
  const stored = r.rows[0];
  const base = { kind: 'order' as const, orderId: o.orderId, shopId: o.shopId, status: o.status, total: o.totalAmount, currency: o.currency, lines: o.lines.length };
  let ids = usableIdentifiers(o.buyer);
  // A record without lines is a status-only message (see migration 0007): it never replaces
  // known amounts, lines or dates, and an order known only from such messages has no details yet.
  const thin = o.lines.length === 0;
  const applies = !stored || orderUpdateApplies({ status: stored.status, statusAt: iso(stored.status_at), version: stored.version ?? undefined }, o);
  // A full record of an order known only from status messages fills in the details even when it
  // is not newer: the status stays, and the Order Completed that waited for the amount goes out.
  const detailsOnly = !!stored && !applies && !thin && !stored.details_known;
  if (stored && !applies && !detailsOnly) {
    out.results.push({
      ...base,
      previousStatus: stored.status,
      applied: false,
      reason: 'not newer than the stored state (forward-only)',
      events: [],
      buyerIdentifiers: ids.length,
    });
    return;
  }
  // An update without buyer identifiers (a status-only push) keeps the ones already known.
  const storedIds = stored?.buyer_ids_enc ? (JSON.parse(keyring.decrypt(stored.buyer_ids_enc)) as Identifier[]) : [];
  if (ids.length === 0) ids = storedIds;
  const from = stored?.status ?? null;
  const status = detailsOnly && stored ? stored.status : o.status;
  const statusAt = detailsOnly && stored ? iso(stored.status_at) : o.statusAt;
  const version = detailsOnly && stored ? stored.version : (o.version ?? null);
  const detailsKnown = !thin || (stored?.details_known ?? false);
  const keep = thin && stored ? stored : null;
  // Order Completed carries the amount: it waits until the details are known.
  const events = ids.length > 0 ? orderTransitionEvents(from, status, stored?.completed_event ?? false).filter((e) => detailsKnown || e !== ORDER_COMPLETED) : [];
  const details = buyerDetails(o.buyer);
  const lines = o.lines;
  const minor = toMinorUnits(o.totalAmount, o.currency);
  const nowIso = ctx.now.toISOString();
  const segment: SegmentMessage[] = [];
  let linkMessageId = stored?.link_message_id ?? null;
  if (ids.length > 0 && (from !== status || storedIds.length === 0)) {
    const id = derivedMessageId(platform, o.shopId, o.orderId, `identify:${status}`);
    segment.push(identify(ctx, id, statusAt, ids, {}));
    linkMessageId ??= id;
  }
  for (const event of events) {
    const suffix = event.toLowerCase().replace(/\s+/g, '-');
    const id = derivedMessageId(platform, o.shopId, o.orderId, suffix);
    const at = event === ORDER_COMPLETED ? (o.paidAt ?? statusAt) : statusAt;
    const props = event === ORDER_COMPLETED ? orderProperties(ctx, o, lines) : { order_id: o.orderId, total: o.totalAmount, currency: o.currency, platform, shop_id: o.shopId };
    segment.push(track(ctx, event, id, at, ids, props));
    if (event === ORDER_COMPLETED) linkMessageId = id;
  }
  const row = {
    status,
    status_at: statusAt,
    version,
    currency: keep ? keep.currency : o.currency,
    total: keep ? keep.total : o.totalAmount,
    total_minor: keep ? keep.total_minor : minor === undefined ? null : minor.toString(),
    discount: keep ? keep.discount : (o.discountAmount ?? null),
    shipping: keep ? keep.shipping : (o.shippingAmount ?? null),
    created_at: keep ? iso(keep.created_at) : o.createdAt,
    paid_at: o.paidAt ?? (stored?.paid_at ? iso(stored.paid_at) : null),
    buyer_index: ids.map((i) => keyring.blindIndex(tenantId, identifierIndexInput(i))),
    buyer_ids_enc: ids.length > 0 ? encryptJson(keyring, ids) : null,
    buyer_enc: details ? encryptJson(keyring, details) : (stored?.buyer_enc ?? null),
    attribution: o.attribution && Object.keys(o.attribution).length > 0 ? o.attribution : (stored?.attribution ?? {}),
    promotions: o.promotions && o.promotions.length > 0 ? o.promotions : (stored?.promotions ?? []),
    link_message_id: linkMessageId,
    completed_event: (stored?.completed_event ?? false) || events.includes(ORDER_COMPLETED),
    details_known: detailsKnown,
  };
  if (!stored) {
    await q.query(
      `INSERT INTO orders (tenant_id, platform, shop_id, order_id, connector_id, status, status_at, version, currency, total, total_minor, discount, shipping,
         created_at, paid_at, buyer_index, buyer_ids_enc, buyer_enc, attribution, promotions, link_message_id, completed_event, first_seen_at, updated_at, details_known)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23, $24)`,
      [
        ...key,
        ctx.connectorId,
        row.status,
        row.status_at,
        row.version,
        row.currency,
        row.total,
        row.total_minor,
        row.discount,
        row.shipping,
        row.created_at,
        row.paid_at,
        row.buyer_index,
        row.buyer_ids_enc,
        row.buyer_enc,
        JSON.stringify(row.attribution),
        JSON.stringify(row.promotions),
        row.link_message_id,
        row.completed_event,
        nowIso,
        row.details_known,
      ],
    );
  } else {
    await q.query(
      `UPDATE orders SET connector_id = $5, status = $6, status_at = $7, version = $8, currency = $9, total = $10, total_minor = $11, discount = $12, shipping = $13,
         created_at = $14, paid_at = $15, buyer_index = $16, buyer_ids_enc = $17, buyer_enc = $18, attribution = $19, promotions = $20, link_message_id = $21,
         completed_event = $22, updated_at = $23, details_known = $24
       WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND order_id = $4`,
      [
        ...key,
        ctx.connectorId,
        row.status,
        row.status_at,
        row.version,
        row.currency,
        row.total,
        row.total_minor,
        row.discount,
        row.shipping,
        row.created_at,
        row.paid_at,
        row.buyer_index,
        row.buyer_ids_enc,
        row.buyer_enc,
        JSON.stringify(row.attribution),
        JSON.stringify(row.promotions),
        row.link_message_id,
        row.completed_event,
        nowIso,
        row.details_known,
      ],
    );
  }
  // A status-only update (no lines) keeps the lines already known.
  if (lines.length > 0) {
    await q.query('DELETE FROM order_lines WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND order_id = $4', key);
    await q.query(
      `INSERT INTO order_lines (tenant_id, platform, shop_id, order_id, line_id, product_id, sku_id, title, quantity, unit_price, amount, amount_minor)
       SELECT $1, $2, $3, $4, x.line_id, x.product_id, x.sku_id, x.title, x.quantity, x.unit_price, x.amount, x.amount_minor
       FROM jsonb_to_recordset($5::jsonb) AS x(line_id text, product_id text, sku_id text, title text, quantity integer, unit_price text, amount text, amount_minor bigint)
       ON CONFLICT DO NOTHING`,
      [
        ...key,
        JSON.stringify(
          lines.map((l) => ({
            line_id: l.lineId,
            product_id: l.productId ?? null,
            sku_id: l.skuId ?? null,
            title: l.title,
            quantity: l.quantity,
            unit_price: l.unitPrice,
            amount: l.amount,
            amount_minor: toMinorUnits(l.amount, o.currency)?.toString() ?? null,
          })),
        ),
      ],
    );
  }
  if (!detailsOnly) {
    await q.query(
      `INSERT INTO order_status_history (tenant_id, platform, shop_id, order_id, from_status, to_status, status_at, version, connector_message_id, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [...key, from, o.status, o.statusAt, o.version ?? null, ctx.connectorMessageId, nowIso],
    );
  }
  // Refunds that reached `refunded` before their order (or its buyer) was known get their event now.
  if (ids.length > 0) {
    const waiting = await q.query<{ refund_id: string; amount: string; currency: string; status_at: Date | string }>(
      `SELECT refund_id, amount, currency, status_at FROM refunds
       WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND order_id = $4 AND status = 'refunded' AND NOT refunded_event FOR UPDATE`,
      key,
    );
    for (const w of waiting.rows) {
      const id = derivedMessageId(platform, o.shopId, o.orderId, `refund:${w.refund_id}:refunded`);
      segment.push(refundTrack(ctx, id, o.shopId, o.orderId, w.refund_id, w.amount, w.currency, iso(w.status_at), ids));
      await q.query('UPDATE refunds SET refunded_event = true, link_message_id = $5, updated_at = $6 WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND refund_id = $4', [
        tenantId,
        platform,
        o.shopId,
        w.refund_id,
        id,
        nowIso,
      ]);
    }
  }
  out.segment.push(...segment);
  out.results.push({
    ...base,
    previousStatus: from,
    applied: true,
    ...(detailsOnly
      ? { reason: 'details filled in from a full record; the status stays (forward-only)' }
      : ids.length === 0
        ? { reason: 'no usable buyer identifier: stored, not on a customer timeline' }
        : !detailsKnown
          ? { reason: 'status-only message: details (amount, lines, buyer) are fetched from the platform' }
          : {}),
    events: segment.map((m) => (m['type'] === 'track' ? String(m['event']) : 'identify')),
    buyerIdentifiers: ids.length,
  });
}

function refundTrack(
  ctx: ApplyContext,
  messageId: string,
  shopId: string,
  orderId: string,
  refundId: string,
  amount: string,
  currency: string,
  at: string,
  ids: readonly Identifier[],
): SegmentMessage {
  return track(ctx, ORDER_REFUNDED, messageId, at, ids, { order_id: orderId, refund_id: refundId, total: amount, amount, currency, platform: ctx.platform, shop_id: shopId });
}

async function applyRefund(q: Queryable, keyring: Keyring, ctx: ApplyContext, f: CanonicalRefund, out: ApplyOutcome): Promise<void> {
  const { tenantId, platform } = ctx;
  const key = [tenantId, platform, f.shopId, f.refundId];
  const r = await q.query<StoredRefund>('SELECT status, status_at, version, refunded_event FROM refunds WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND refund_id = $4 FOR UPDATE', key);
  const stored = r.rows[0];
  const base = { kind: 'refund' as const, refundId: f.refundId, orderId: f.orderId, shopId: f.shopId, status: f.status, amount: f.amount, currency: f.currency };
  if (stored && !refundUpdateApplies({ status: stored.status, statusAt: iso(stored.status_at), version: stored.version ?? undefined }, f)) {
    out.results.push({ ...base, previousStatus: stored.status, applied: false, reason: 'not newer than the stored state (forward-only)', events: [] });
    return;
  }
  let ids = usableIdentifiers(f.buyer);
  if (ids.length === 0) {
    const o = await q.query<{ buyer_ids_enc: string | null }>('SELECT buyer_ids_enc FROM orders WHERE tenant_id = $1 AND platform = $2 AND shop_id = $3 AND order_id = $4', [
      tenantId,
      platform,
      f.shopId,
      f.orderId,
    ]);
    const enc = o.rows[0]?.buyer_ids_enc;
    if (enc) ids = JSON.parse(keyring.decrypt(enc)) as Identifier[];
  }
  const events: string[] = [];
  let linkMessageId: string | null = null;
  const emitted = stored?.refunded_event ?? false;
  if (f.status === 'refunded' && !emitted && ids.length > 0) {
    linkMessageId = derivedMessageId(platform, f.shopId, f.orderId, `refund:${f.refundId}:refunded`);
    out.segment.push(refundTrack(ctx, linkMessageId, f.shopId, f.orderId, f.refundId, f.amount, f.currency, f.statusAt, ids));
    events.push(ORDER_REFUNDED);
  }
  const minor = toMinorUnits(f.amount, f.currency);
  const nowIso = ctx.now.toISOString();
  const params = [
    ...key,
    f.orderId,
    ctx.connectorId,
    f.status,
    f.statusAt,
    f.version ?? null,
    f.currency,
    f.amount,
    minor === undefined ? null : minor.toString(),
    f.reason !== undefined ? keyring.encrypt(f.reason) : null,
    ids.length > 0 ? encryptJson(keyring, ids) : null,
    linkMessageId,
    emitted || events.length > 0,
    nowIso,
  ];
  await q.query(
    `INSERT INTO refunds (tenant_id, platform, shop_id, refund_id, order_id, connector_id, status, status_at, version, currency, amount, amount_minor, reason_enc,
       buyer_ids_enc, link_message_id, refunded_event, first_seen_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
     ON CONFLICT (tenant_id, platform, shop_id, refund_id) DO UPDATE SET order_id = EXCLUDED.order_id, connector_id = EXCLUDED.connector_id, status = EXCLUDED.status,
       status_at = EXCLUDED.status_at, version = EXCLUDED.version, currency = EXCLUDED.currency, amount = EXCLUDED.amount, amount_minor = EXCLUDED.amount_minor,
       reason_enc = coalesce(EXCLUDED.reason_enc, refunds.reason_enc), buyer_ids_enc = coalesce(EXCLUDED.buyer_ids_enc, refunds.buyer_ids_enc),
       link_message_id = coalesce(EXCLUDED.link_message_id, refunds.link_message_id), refunded_event = EXCLUDED.refunded_event, updated_at = EXCLUDED.updated_at`,
    params,
  );
  out.results.push({
    ...base,
    previousStatus: stored?.status ?? null,
    applied: true,
    ...(f.status === 'refunded' && !emitted && ids.length === 0 ? { reason: 'buyer not known yet: Order Refunded is written when the order arrives' } : {}),
    events,
  });
}

function applyMember(ctx: ApplyContext, m: CanonicalMember, out: ApplyOutcome): void {
  const ids = usableIdentifiers(m.buyer);
  const base = { kind: 'member' as const, shopId: m.shopId, event: m.event, level: m.level ?? null };
  if (ids.length === 0) {
    out.results.push({ ...base, events: [], reason: 'no usable buyer identifier' });
    return;
  }
  const traits: Record<string, unknown> = {};
  if (m.level !== undefined) traits[`${ctx.platform}_member_level`] = m.level;
  if (m.points !== undefined) traits[`${ctx.platform}_member_points`] = m.points;
  // The buyer's identifiers hashed, so the id carries no personal data and stays the same on replay.
  const who = createHash('sha256')
    .update(ids.map((i) => identifierIndexInput(i)).join('\u0001'))
    .digest('base64url')
    .slice(0, 16);
  const id = `dt:${ctx.platform}:${m.shopId}:member:${who}:${m.event}:${m.statusAt}`;
  out.segment.push(identify(ctx, id, m.statusAt, ids, traits));
  out.results.push({ ...base, events: ['identify'] });
}

/** Applies the records of one platform message, in order, in the caller's transaction. */
export async function applyCanonicalRecords(q: Queryable, keyring: Keyring, ctx: ApplyContext, records: readonly CanonicalRecord[]): Promise<ApplyOutcome> {
  const out: ApplyOutcome = { results: [], segment: [] };
  for (const rec of records) {
    switch (rec.kind) {
      case 'order':
        await applyOrder(q, keyring, ctx, rec.order, out);
        break;
      case 'refund':
        await applyRefund(q, keyring, ctx, rec.refund, out);
        break;
      case 'member':
        applyMember(ctx, rec.member, out);
        break;
      case 'ignored':
        out.results.push({ kind: 'ignored', reason: rec.reason });
        break;
    }
  }
  return out;
}

/** The advisory-lock keys of the orders and refunds a set of records touches (PostgreSQL workers). */
export function recordLockKeys(tenantId: string, platform: string, records: readonly CanonicalRecord[]): string[] {
  const keys: string[] = [];
  for (const r of records) {
    if (r.kind === 'order') keys.push(`datong:order:${tenantId}:${platform}:${r.order.shopId}:${r.order.orderId}`);
    else if (r.kind === 'refund') {
      keys.push(`datong:order:${tenantId}:${platform}:${r.refund.shopId}:${r.refund.orderId}`);
      keys.push(`datong:refund:${tenantId}:${platform}:${r.refund.shopId}:${r.refund.refundId}`);
    }
  }
  return keys;
}
