// The benchmark's event mix: deterministic (seeded) Segment messages that look like a shop's
// traffic. Used by the load generator (batches for /v1/batch) and by the raw-INSERT baseline
// in the server child (the same events as plain rows), so both see exactly the same data.
//
// People, per run (identifier values carry the run tag, so every run creates new customers):
//   10%  anonymous visitors: anonymousId only
//   20%  "seen again with another identifier": first as an anonymous device, separately as a
//        phone + WeChat openid (mini-program login), then a login carrying anonymousId + phone +
//        userId, which links the two customers -> a merge
//   70%  known customers: userId plus 0-2 of phone, email, wechat_openid
// Messages: ~30% identify (traits incl. phone/email), ~70% track (Product Viewed, Product Added,
// Order Completed with a total in CNY). Each message carries 1-3 identifiers.

/** mulberry32: small, fast, seeded PRNG (https://gist.github.com/tommyettinger/46a874533244883189143505d203312c). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Chinese mobile prefixes (all valid for libphonenumber's CN metadata). 137 is reserved for the
// customers loaded directly for the lookup benchmark; 188 is avoided (18888888888 is blocked).
const PHONE_PREFIXES = ['150', '151', '152', '155', '156', '157', '158', '159', '182', '183', '185', '186', '187', '189', '130', '131', '132', '133', '135', '136'];
export const LOOKUP_PHONE_PREFIX = '137';
export const WECHAT_APP_ID = 'wx5f2a9c1b7e3d4a60';

const CITIES = ['上海', '北京', '深圳', '杭州', '成都', '广州', '南京', '武汉'];
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '洋', '艳', '勇', '军'];
const CATEGORIES = ['美妆', '服饰', '母婴', '食品', '家居', '数码'];
const UAS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47',
  'Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
];

const pad = (n, w) => String(n).padStart(w, '0');

function uuidish(r) {
  const h = () => Math.floor(r() * 0x10000).toString(16).padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}

/** A phone as people type it: three formats of the same number. */
function phoneAs(prefix, n, r) {
  const digits = `${prefix}${pad(n, 8)}`;
  const f = r();
  if (f < 0.5) return `+86${digits}`;
  if (f < 0.8) return `${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`;
  return digits;
}

/**
 * Generates `count` messages for run number `runNo` (0..19), tagged `tag` (unique per run).
 * Returns plain objects, in send order.
 */
export function generateMessages({ count, runNo, tag, seed = 1 }) {
  const r = rng(seed * 7919 + runNo * 104729 + 13);
  const phonePrefix = PHONE_PREFIXES[runNo % PHONE_PREFIXES.length];
  // Messages per person: 1..8, mean ~4 -> about count/4 people.
  const people = [];
  const slots = [];
  let total = 0;
  for (let p = 0; total < count; p++) {
    const kindR = r();
    const kind = kindR < 0.1 ? 'anon' : kindR < 0.3 ? 'fragmented' : 'known';
    let k = 1 + Math.floor(r() * 7);
    if (kind === 'fragmented') k = Math.max(k, 3);
    k = Math.min(k, count - total);
    if (kind === 'fragmented' && k < 3) k = Math.min(count - total, 1);
    const person = {
      p,
      kind: kind === 'fragmented' && k < 3 ? 'anon' : kind,
      k,
      seen: 0,
      userId: `u-${tag}-${p}`,
      anonymousId: uuidish(r),
      phoneNo: p,
      email: `p${p}.${tag}@mail${p % 7}.example.cn`,
      openid: `oWx${tag}${pad(p, 7)}`,
      name: `${SURNAMES[p % SURNAMES.length]}${GIVEN[Math.floor(r() * GIVEN.length)]}`,
      city: CITIES[Math.floor(r() * CITIES.length)],
      extras: ['phone', 'email', 'openid'].filter(() => r() < 0.35),
    };
    people.push(person);
    for (let i = 0; i < k; i++) slots.push(p);
    total += k;
  }
  // Interleave people (Fisher-Yates); each person's own messages stay in their logical order.
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = slots[i];
    slots[i] = slots[j];
    slots[j] = t;
  }
  const base = Date.now() - 60_000;
  const out = [];
  for (let i = 0; i < slots.length; i++) {
    const person = people[slots[i]];
    const j = person.seen++;
    const ids = identifiersFor(person, j);
    const forceIdentify = person.kind === 'fragmented' && (j === person.k - 1 || ids.phone);
    const type = forceIdentify || (person.kind !== 'anon' && r() < 0.22) ? 'identify' : 'track';
    out.push(buildMessage(person, ids, type, r, { tag, i, at: new Date(base + i * 5).toISOString(), phonePrefix }));
  }
  return out;
}

/** Which identifiers message number `j` of a person carries (1-3 of them). */
function identifiersFor(person, j) {
  switch (person.kind) {
    case 'anon':
      return { anonymousId: true };
    case 'fragmented':
      if (j === person.k - 1) return { anonymousId: true, phone: true, userId: true }; // the login that merges
      return j % 2 === 0 ? { anonymousId: true } : { phone: true, openid: true };
    default: {
      const ids = { userId: true };
      // Seen again with one more identifier than before, up to two extras.
      for (const e of person.extras.slice(0, Math.min(2, j))) ids[e] = true;
      if (j === 0 && person.extras[0]) ids[person.extras[0]] = true;
      return ids;
    }
  }
}

function buildMessage(person, ids, type, r, { tag, i, at, phonePrefix }) {
  const msg = { type, messageId: `m-${tag}-${i}`, timestamp: at };
  if (ids.userId) msg.userId = person.userId;
  if (ids.anonymousId) msg.anonymousId = person.anonymousId;
  const idTraits = {};
  if (ids.phone) idTraits.phone = phoneAs(phonePrefix, person.phoneNo, r);
  if (ids.email) idTraits.email = person.email;
  const context = {
    library: { name: 'analytics-node', version: '3.1.0' },
    ip: `10.${person.p % 250}.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}`,
    userAgent: UAS[person.p % UAS.length],
    locale: 'zh-CN',
  };
  if (ids.openid) context.externalIds = [{ id: person.openid, type: 'wechat_openid', collection: WECHAT_APP_ID, encoding: 'none' }];
  if (r() < 0.25) context.campaign = { source: r() < 0.5 ? 'wechat' : 'douyin', medium: 'social', name: '618' };
  if (type === 'identify') {
    msg.traits = { ...idTraits, name: person.name, city: person.city, ...(r() < 0.3 ? { tier: 'gold' } : {}) };
  } else {
    if (Object.keys(idTraits).length > 0) context.traits = idTraits;
    const e = r();
    const price = (19 + Math.floor(r() * 980)).toFixed(0);
    const sku = `SKU-${pad(Math.floor(r() * 5000), 5)}`;
    if (e < 0.7) {
      msg.event = 'Product Viewed';
      msg.properties = { product_id: sku, sku, name: `商品 ${sku}`, category: CATEGORIES[Math.floor(r() * CATEGORIES.length)], price: Number(price), currency: 'CNY' };
    } else if (e < 0.8) {
      msg.event = 'Product Added';
      msg.properties = { product_id: sku, sku, quantity: 1 + Math.floor(r() * 3), price: Number(price), currency: 'CNY' };
    } else {
      msg.event = 'Order Completed';
      msg.properties = {
        order_id: `o-${tag}-${i}`,
        total: `${price}.${pad(Math.floor(r() * 100), 2)}`,
        currency: 'CNY',
        products: [{ product_id: sku, sku, price: Number(price), quantity: 1 }],
      };
    }
  }
  msg.context = context;
  return msg;
}

/** Splits messages into request bodies of `size` messages. */
export function toBatches(messages, size) {
  const out = [];
  for (let i = 0; i < messages.length; i += size) out.push(Buffer.from(JSON.stringify({ batch: messages.slice(i, i + size) })));
  return out;
}

/** The mix actually generated, for the report. */
export function describeMix(messages) {
  const c = { messages: messages.length, identify: 0, track: 0, orderCompleted: 0, identifiers: 0, withPhone: 0, withEmail: 0, withOpenid: 0 };
  for (const m of messages) {
    c[m.type]++;
    if (m.event === 'Order Completed') c.orderCompleted++;
    const t = m.traits ?? m.context?.traits ?? {};
    const n = (m.userId ? 1 : 0) + (m.anonymousId ? 1 : 0) + (t.phone ? 1 : 0) + (t.email ? 1 : 0) + (m.context?.externalIds?.length ?? 0);
    c.identifiers += n;
    if (t.phone) c.withPhone++;
    if (t.email) c.withEmail++;
    if (m.context?.externalIds) c.withOpenid++;
  }
  return { ...c, identifiersPerMessage: +(c.identifiers / c.messages).toFixed(2), avgBytes: Math.round(JSON.stringify(messages).length / messages.length) };
}

export { LOOKUP_PHONE_PREFIX as lookupPhonePrefix };
