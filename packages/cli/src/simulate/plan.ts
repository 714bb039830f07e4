import { PAGES, REFUND_REASONS, SHOP_PRODUCTS, STORE_PRODUCTS, type Product } from './catalog.js';
import { shoppersOn } from './population.js';
import { createRng, type Rng } from './random.js';
import {
  COMMERCE_PLATFORMS,
  MALL_APP_ID,
  type CommercePlatform,
  type Delivery,
  type OrderStep,
  type Shopper,
  type SimEvent,
  type SimLine,
  type SimOrder,
  type SimPlatform,
} from './model.js';

/**
 * The traffic plan: an endless, deterministic sequence of deliveries from a seed and a run id
 * (no clock, no I/O; times are computed from `startAt` and `rate`). Shoppers browse the mall
 * (anonymously, then logged in with the mini-program), buy on the platforms where they have
 * accounts, and their orders move through their lifecycle interleaved with everyone else's.
 * Some deliveries are repeated (`duplicates`) and some steps of an order are delivered after the
 * next one (`outOfOrder`).
 */

export interface PlanOptions {
  /** Seed of the traffic (the population has its own, see createPopulation). */
  readonly seed: string;
  /** Distinguishes runs: order and message ids include it, so a second run adds new orders. */
  readonly runId: string;
  readonly platforms: readonly SimPlatform[];
  /** Epoch ms of the first delivery. */
  readonly startAt: number;
  /** Deliveries per second: delivery n is due at startAt + n / rate. */
  readonly rate: number;
  /** Probability that a delivery is pushed again a little later (0–1). */
  readonly duplicates: number;
  /** Probability that an order step is delivered after the step that follows it (0–1). */
  readonly outOfOrder: number;
}

/** Lifecycles, with how often each happens. Meituan orders are pushed once paid (there is no unpaid push). */
const SHOP_PATHS: readonly (readonly OrderStep[])[] = [
  ['created', 'paid', 'shipped', 'completed'],
  ['created', 'cancelled'],
  ['created', 'paid', 'shipped', 'completed', 'refund_requested', 'refund_approved', 'refunded'],
  ['created', 'paid', 'refund_requested', 'refund_approved', 'refunded', 'closed'],
];
const SHOP_PATH_WEIGHTS = [0.6, 0.15, 0.13, 0.12];
const MEITUAN_PATHS: readonly (readonly OrderStep[])[] = [
  ['paid', 'confirmed', 'shipped', 'completed'],
  ['paid', 'cancelled'],
  ['paid', 'confirmed', 'shipped', 'completed', 'refund_requested', 'refund_approved', 'refunded'],
];
const MEITUAN_PATH_WEIGHTS = [0.7, 0.12, 0.18];

/** How many activities (orders in progress, mall visits) run side by side, roughly. */
const CONCURRENT_ACTIVITIES = 8;
/** Share of new activities that are mall visits (when the mall and a platform are both on). */
const MALL_SHARE = 0.45;

export function fenText(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Beijing wall-clock digits yyyyMMddHHmmss of an instant (ids carry them, as Youzan's tid does). */
function beijingDigits(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().replace(/\D/g, '').slice(0, 14);
}

/** Splits `discount` over the lines in proportion to their amounts, exactly (the remainder on the last line). */
function allocate(discount: number, amounts: readonly number[]): number[] {
  const total = amounts.reduce((s, a) => s + a, 0);
  let left = discount;
  return amounts.map((a, i) => {
    const share = i === amounts.length - 1 ? left : Math.floor((discount * a) / Math.max(1, total));
    left -= share;
    return a - share;
  });
}

type MallStep = 'page' | 'view' | 'add' | 'order' | 'login' | 'identify' | 'member_centre';

interface OrderActivity {
  readonly kind: 'order';
  readonly platform: CommercePlatform;
  order: SimOrder;
}
interface VisitActivity {
  readonly kind: 'visit';
  readonly shopper: Shopper;
  readonly steps: MallStep[];
  /** The product the shopper is looking at. */
  product: Product;
}
type Activity = OrderActivity | VisitActivity;

interface Pending {
  readonly dueSeq: number;
  readonly at: number;
  readonly duplicate: boolean;
  readonly late: boolean;
  readonly event: SimEvent;
}

/** Applies one step to an order at time `at`, returning the new snapshot. */
function applyStep(rng: Rng, order: SimOrder, step: OrderStep, at: number, refundId: () => string): SimOrder {
  const stepIndex = order.path.indexOf(step, order.stepIndex + 1);
  const next = { ...order, stepIndex };
  switch (step) {
    case 'created':
      return { ...next, createdAt: at };
    case 'paid':
      return { ...next, paidAt: at };
    case 'confirmed':
      return { ...next, confirmedAt: at };
    case 'shipped':
      return { ...next, shippedAt: at };
    case 'completed':
      return { ...next, completedAt: at };
    case 'cancelled':
      return { ...next, cancelledAt: at };
    case 'closed':
      return { ...next, closedAt: at };
    case 'refund_requested': {
      // Before shipping the whole order is refunded; after completion, one line (after-sale).
      const whole = order.shippedAt === undefined;
      const line = whole ? order.lines[0] : rng.pick(order.lines);
      return {
        ...next,
        refund: {
          refundId: refundId(),
          lineId: line?.lineId ?? '',
          amountFen: whole ? order.totalFen : (line?.payFen ?? 0),
          reason: rng.pick(REFUND_REASONS),
          requestedAt: at,
        },
      };
    }
    case 'refund_approved':
      return order.refund ? { ...next, refund: { ...order.refund, approvedAt: at } } : next;
    case 'refunded':
      return order.refund ? { ...next, refund: { ...order.refund, refundedAt: at } } : next;
  }
}

/**
 * The deliveries, in sending order, forever (take as many as needed). The same population and
 * options give the same sequence.
 */
export function* planDeliveries(population: readonly Shopper[], options: PlanOptions): Generator<Delivery, void, undefined> {
  const rng = createRng(`datong-simulate:${options.seed}:${options.runId}:plan`);
  const interval = 1000 / options.rate;
  const mallShoppers = options.platforms.includes('mall') ? shoppersOn(population, 'mall') : [];
  const buyers = new Map<CommercePlatform, Shopper[]>();
  for (const p of COMMERCE_PLATFORMS) {
    if (!options.platforms.includes(p)) continue;
    const on = shoppersOn(population, p);
    if (on.length > 0) buyers.set(p, on);
  }
  const orderPlatforms = [...buyers.keys()];
  if (mallShoppers.length === 0 && orderPlatforms.length === 0) return;

  const activities: Activity[] = [];
  const pending: Pending[] = [];
  const loggedIn = new Set<number>();
  let idCounter = 0;
  const uniq = (): string => `${options.runId}${(idCounter++).toString(36)}`;

  const newOrder = (platform: CommercePlatform, at: number): OrderActivity => {
    const shopper = rng.pick(buyers.get(platform) ?? []);
    const isStore = platform === 'meituan';
    const path = isStore ? rng.weighted(MEITUAN_PATHS, MEITUAN_PATH_WEIGHTS) : rng.weighted(SHOP_PATHS, SHOP_PATH_WEIGHTS);
    const catalog = isStore ? STORE_PRODUCTS : SHOP_PRODUCTS;
    const count = rng.int(1, isStore ? 3 : 2);
    const products: Product[] = [];
    while (products.length < count) {
      const p = rng.pick(catalog);
      if (!products.includes(p)) products.push(p);
    }
    const quantities = products.map(() => rng.int(1, isStore ? 2 : 3));
    const amounts = products.map((p, i) => p.priceFen * (quantities[i] ?? 1));
    const itemsFen = amounts.reduce((s, a) => s + a, 0);
    // Youzan's order fake has no promotions; the others take a shop coupon on larger orders.
    const coupon = platform !== 'youzan' && itemsFen >= 9900 && rng.chance(0.35) ? (itemsFen >= 19900 ? { name: '满199减20', fen: 2000 } : { name: '满99减10', fen: 1000 }) : undefined;
    const discountFen = coupon?.fen ?? 0;
    const shippingFen = isStore ? 500 : itemsFen >= 9900 ? 0 : 800;
    const pay = allocate(discountFen, amounts);
    const orderId =
      platform === 'youzan' ? `E${beijingDigits(at)}${rng.digits(9)}` : platform === 'meituan' ? rng.digits(18) : rng.digits(19);
    // Line ids: Douyin's sub-orders follow the order id; Youzan and Taobao have their own 19-digit ids.
    const lineBase = platform === 'doudian' ? BigInt(orderId) : BigInt(rng.digits(19));
    const lines: SimLine[] = products.map((p, i) => ({
      lineId: isStore ? p.productId : String(lineBase + BigInt(i + 1)),
      productId: p.productId,
      skuId: p.skuId,
      title: p.title,
      quantity: quantities[i] ?? 1,
      unitPriceFen: p.priceFen,
      payFen: pay[i] ?? 0,
    }));
    const order: SimOrder = {
      platform,
      orderId,
      shopper: shopper.index,
      path,
      stepIndex: -1,
      lines,
      itemsFen,
      shippingFen,
      discountFen,
      totalFen: itemsFen + shippingFen - discountFen,
      ...(coupon ? { couponName: coupon.name } : {}),
      // A Meituan order is pushed once paid: it was placed a little before.
      createdAt: isStore ? at - rng.int(20, 90) * 1000 : at,
    };
    return { kind: 'order', platform, order };
  };

  const refundId = (): string => rng.digits(19);

  /** The next step(s) of an order: one event, or two when the first is to be delivered late. */
  const advanceOrder = (a: OrderActivity, at: number): { now: SimEvent; late?: SimEvent } => {
    const o = a.order;
    const step = o.path[o.stepIndex + 1];
    if (step === undefined) throw new RangeError('order has no step left');
    const event = (order: SimOrder, s: OrderStep): SimEvent => ({ kind: 'order', platform: a.platform, step: s, order, key: `${options.runId}:${order.orderId}:${s}` });
    const following = o.path[o.stepIndex + 2];
    if (following !== undefined && rng.chance(options.outOfOrder)) {
      // Two steps in quick succession; the second reaches Datong first.
      const first = applyStep(rng, o, step, at - interval / 2, refundId);
      const second = applyStep(rng, first, following, at, refundId);
      a.order = second;
      return { now: event(second, following), late: event(first, step) };
    }
    const first = applyStep(rng, o, step, at, refundId);
    a.order = first;
    return { now: event(first, step) };
  };

  const newVisit = (): VisitActivity => {
    const shopper = rng.pick(mallShoppers);
    const steps: MallStep[] = [];
    if (!loggedIn.has(shopper.index)) {
      loggedIn.add(shopper.index);
      steps.push('page');
      for (let i = rng.int(0, 2); i > 0; i--) steps.push('view');
      steps.push('login', 'identify');
      if (shopper.mall?.memberCentreOpenid !== undefined) steps.push('member_centre');
    } else {
      steps.push('page');
    }
    for (let i = rng.int(1, 3); i > 0; i--) steps.push('view');
    if (rng.chance(0.45)) {
      steps.push('add');
      if (rng.chance(0.5)) steps.push('order');
    }
    return { kind: 'visit', shopper, steps, product: rng.pick(SHOP_PRODUCTS) };
  };

  const segment = (shopper: Shopper, seq: number, at: number, body: Record<string, unknown>, anonymous: boolean): SimEvent => {
    const mall = shopper.mall;
    return {
      kind: 'segment',
      shopper: shopper.index,
      message: {
        ...body,
        messageId: `sim-${options.runId}-${seq.toString(36)}`,
        timestamp: new Date(at).toISOString(),
        ...(anonymous ? { anonymousId: mall?.anonymousId } : { userId: mall?.memberId }),
        context: { app: { name: '大同商城', namespace: MALL_APP_ID }, library: { name: 'datong-simulate', version: '1' }, channel: 'miniprogram' },
      },
    };
  };

  const productProps = (p: Product): Record<string, unknown> => ({ product_id: p.productId, sku: p.skuId, name: p.title, price: fenText(p.priceFen), currency: 'CNY' });

  const advanceVisit = (v: VisitActivity, seq: number, at: number): SimEvent => {
    const step = v.steps.shift();
    const s = v.shopper;
    const mall = s.mall;
    // Before logging in, the mall knows the device only (anonymousId).
    const anonymous = v.steps.includes('login');
    switch (step) {
      case 'page': {
        const name = anonymous ? '首页' : rng.pick(PAGES);
        return segment(s, seq, at, { type: 'page', name, properties: { title: name, path: `pages/${encodeURIComponent(name)}` } }, anonymous);
      }
      case 'view':
        v.product = rng.pick(SHOP_PRODUCTS);
        return segment(s, seq, at, { type: 'track', event: 'Product Viewed', properties: productProps(v.product) }, anonymous);
      case 'add':
        return segment(s, seq, at, { type: 'track', event: 'Product Added', properties: { ...productProps(v.product), quantity: 1 } }, false);
      case 'order': {
        const quantity = rng.int(1, 2);
        const items = v.product.priceFen * quantity;
        const shipping = items >= 9900 ? 0 : 800;
        const discount = items >= 19900 && rng.chance(0.4) ? 2000 : 0;
        return segment(
          s,
          seq,
          at,
          {
            type: 'track',
            event: 'Order Completed',
            properties: {
              order_id: `MALL${beijingDigits(at)}${rng.digits(6)}`,
              subtotal: fenText(items),
              shipping: fenText(shipping),
              discount: fenText(discount),
              ...(discount > 0 ? { coupon: '会员满199减20' } : {}),
              total: fenText(items + shipping - discount),
              currency: 'CNY',
              products: [{ product_id: v.product.productId, sku: v.product.skuId, name: v.product.title, price: fenText(v.product.priceFen), quantity }],
            },
          },
          false,
        );
      }
      case 'login':
        return { kind: 'wechat_login', shopper: s.index, app: 'mall', code: `wxc${uniq()}`, ...(mall?.givesPhone ? { phoneCode: `wxp${uniq()}` } : {}) };
      case 'member_centre':
        return { kind: 'wechat_login', shopper: s.index, app: 'member', code: `wxc${uniq()}` };
      case 'identify':
        return {
          kind: 'segment',
          shopper: s.index,
          message: {
            type: 'identify',
            messageId: `sim-${options.runId}-${seq.toString(36)}`,
            timestamp: new Date(at).toISOString(),
            userId: mall?.memberId,
            anonymousId: mall?.anonymousId,
            traits: { name: s.name, ...(mall?.givesPhone ? { phone: mall.typedPhone } : {}), member_level: '普通会员' },
            context: {
              app: { name: '大同商城', namespace: MALL_APP_ID },
              library: { name: 'datong-simulate', version: '1' },
              channel: 'miniprogram',
              externalIds: [{ type: 'wechat_openid', id: mall?.openid, collection: MALL_APP_ID, encoding: 'none' }],
            },
          },
        };
      case undefined:
        throw new RangeError('visit has no step left');
    }
  };

  const isDuplicable = (e: SimEvent): boolean => e.kind !== 'wechat_login';

  for (let seq = 0; ; seq++) {
    const at = options.startAt + seq * interval;
    const due = pending.findIndex((p) => p.dueSeq <= seq);
    if (due !== -1) {
      const [p] = pending.splice(due, 1);
      if (p) {
        yield { seq, dueAt: at, at: p.at, duplicate: p.duplicate, late: p.late, event: p.event };
        if (p.late && isDuplicable(p.event) && rng.chance(options.duplicates)) {
          pending.push({ dueSeq: seq + rng.int(1, 20), at: p.at, duplicate: true, late: false, event: p.event });
        }
        continue;
      }
    }
    let activity: Activity;
    const advance = activities.length > 0 && rng.chance(activities.length / (activities.length + CONCURRENT_ACTIVITIES));
    if (advance) activity = rng.pick(activities);
    else {
      const mall = mallShoppers.length > 0 && (orderPlatforms.length === 0 || rng.chance(MALL_SHARE));
      activity = mall ? newVisit() : newOrder(rng.pick(orderPlatforms), at);
      activities.push(activity);
    }
    let event: SimEvent;
    if (activity.kind === 'order') {
      const r = advanceOrder(activity, at);
      event = r.now;
      if (r.late?.kind === 'order') pending.push({ dueSeq: seq + rng.int(1, 3), at: stepTime(r.late.order, r.late.step), duplicate: false, late: true, event: r.late });
      if (activity.order.stepIndex >= activity.order.path.length - 1) activities.splice(activities.indexOf(activity), 1);
    } else {
      event = advanceVisit(activity, seq, at);
      if (activity.steps.length === 0) activities.splice(activities.indexOf(activity), 1);
    }
    const eventAt = event.kind === 'order' ? stepTime(event.order, event.step) : at;
    yield { seq, dueAt: at, at: eventAt, duplicate: false, late: false, event };
    if (isDuplicable(event) && rng.chance(options.duplicates)) {
      pending.push({ dueSeq: seq + rng.int(1, 20), at: eventAt, duplicate: true, late: false, event });
    }
  }
}

/** When an order reached `step` (the time the platform gives the step). */
export function stepTime(order: SimOrder, step: OrderStep): number {
  switch (step) {
    case 'created':
      return order.createdAt;
    case 'paid':
      return order.paidAt ?? order.createdAt;
    case 'confirmed':
      return order.confirmedAt ?? order.createdAt;
    case 'shipped':
      return order.shippedAt ?? order.createdAt;
    case 'completed':
      return order.completedAt ?? order.createdAt;
    case 'cancelled':
      return order.cancelledAt ?? order.createdAt;
    case 'closed':
      return order.closedAt ?? order.createdAt;
    case 'refund_requested':
      return order.refund?.requestedAt ?? order.createdAt;
    case 'refund_approved':
      return order.refund?.approvedAt ?? order.createdAt;
    case 'refunded':
      return order.refund?.refundedAt ?? order.createdAt;
  }
}
