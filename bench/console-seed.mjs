// The console benchmark's data (bench/console.mjs), loaded in SQL on the server child's own
// database handle (server-process.mjs `seedConsole`), as the lookup benchmark loads customers:
// `n` root customers with a name, a phone identity stored as ingestion stores it (blind index
// + encrypted value) and tags; every 5th one with an order; and one customer (the newest)
// with `heavyEvents` timeline events across channels and event types.
import { performance } from 'node:perf_hooks';

/** Phones are +86 136 followed by the 8-digit customer number. */
export const CONSOLE_PHONE_PREFIX = '136';
export const customerIdOf = (i) => `cus_console${String(i).padStart(9, '0')}`;
export const phoneOf = (i) => `+86${CONSOLE_PHONE_PREFIX}${String(i).padStart(8, '0')}`;
/** Tags: one on 10% of the customers, one on 0.1%. */
export const COMMON_TAG = '会员';
export const RARE_TAG = '黑金会员';
export const CHANNELS = ['miniprogram', 'web', 'youzan', 'doudian', 'wecom', 'miniprogram', 'miniprogram'];
const EVENTS = ['Product Viewed', 'Product Added', 'Coupon Applied', 'Checkout Started'];
const CITIES = ['上海', '北京', '杭州', '广州', '成都', '深圳'];

export async function seedConsole({ db, deps, tenantId, lockTenantIdentities }, { n, heavyEvents, sourceId, perStatement = 5000 }) {
  const t0 = performance.now();
  const now = Date.now();
  // Creation times one second apart, the newest last: the list's first page shows the highest numbers.
  const createdAt = (i) => new Date(now - (n - i) * 1000).toISOString();
  let orders = 0;
  let tagRows = 0;
  for (let start = 0; start < n; start += perStatement) {
    const end = Math.min(n, start + perStatement);
    const ids = [];
    const traits = [];
    const created = [];
    const idx = [];
    const enc = [];
    const tagIds = [];
    const tags = [];
    const ev = { id: [], customer: [], message: [], at: [], channel: [], props: [], amount: [] };
    for (let i = start; i < end; i++) {
      const id = customerIdOf(i);
      ids.push(id);
      traits.push(JSON.stringify({ name: `顾客${i}`, city: CITIES[i % CITIES.length], gender: i % 2 ? 'female' : 'male' }));
      created.push(createdAt(i));
      idx.push(deps.keyring.blindIndex(tenantId, `phone\u0000\u0000${phoneOf(i)}`));
      enc.push(deps.keyring.encrypt(phoneOf(i)));
      if (i % 10 === 0) {
        tagIds.push(id);
        tags.push(COMMON_TAG);
      }
      if (i % 1000 === 7) {
        tagIds.push(id);
        tags.push(RARE_TAG);
      }
      if (i % 5 === 0) {
        const amount = 1000 + (i % 97) * 1000; // 10.00 … 970.00 CNY
        ev.id.push(`evt_console_o${i}`);
        ev.customer.push(id);
        ev.message.push(`m-console-o${i}`);
        ev.at.push(new Date(now - (i % 400) * 86_400_000).toISOString());
        ev.channel.push(CHANNELS[i % CHANNELS.length]);
        ev.props.push(JSON.stringify({ order_id: `o-${i}`, total: (amount / 100).toFixed(2), currency: 'CNY' }));
        ev.amount.push(String(amount));
      }
    }
    await db.tx(async (q) => {
      await lockTenantIdentities(q, tenantId);
      await q.query(
        `INSERT INTO customers (tenant_id, id, root_id, traits, own_traits, first_seen_at, last_seen_at, created_at, updated_at)
         SELECT $1, u.id, u.id, u.t, u.t, u.c, u.c, u.c, u.c FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[]) AS u(id, t, c)`,
        [tenantId, ids, traits, created],
      );
      await q.query(
        `INSERT INTO customer_identities (tenant_id, value_index, customer_id, type, collection, value, value_enc, source_id, message_id, created_at)
         SELECT $1, u.vi, u.id, 'phone', '', NULL, u.ve, NULL, NULL, u.c FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u(vi, id, ve, c)`,
        [tenantId, idx, ids, enc, created],
      );
      if (tagIds.length > 0) {
        await q.query(
          `INSERT INTO customer_tags (tenant_id, customer_id, tag, source, rule_id, added_at)
           SELECT $1, u.id, u.tag, 'manual', NULL, now() FROM unnest($2::text[], $3::text[]) AS u(id, tag)`,
          [tenantId, tagIds, tags],
        );
      }
      if (ev.id.length > 0) await insertEvents(q, tenantId, sourceId, ev, 'track', 'Order Completed');
    });
    orders += ev.id.length;
    tagRows += tagIds.length;
  }
  await db.query('INSERT INTO tags (tenant_id, name) VALUES ($1, $2), ($1, $3) ON CONFLICT DO NOTHING', [tenantId, COMMON_TAG, RARE_TAG]);

  // The heavy customer: the newest one, with a year of events on every channel.
  const heavyId = customerIdOf(n - 1);
  const span = 365 * 86_400_000;
  for (let start = 0; start < heavyEvents; start += perStatement) {
    const end = Math.min(heavyEvents, start + perStatement);
    const rows = { track: emptyEvents(), page: emptyEvents(), identify: emptyEvents() };
    const names = { track: [], page: [], identify: [] };
    for (let j = start; j < end; j++) {
      const type = j % 10 === 0 ? 'page' : j % 50 === 1 ? 'identify' : 'track';
      const order = type === 'track' && j % 20 === 2;
      const r = rows[type];
      r.id.push(`evt_console_h${String(j).padStart(6, '0')}`);
      r.customer.push(heavyId);
      r.message.push(`m-console-h${j}`);
      r.at.push(new Date(now - Math.floor((j * span) / heavyEvents) - 60_000).toISOString());
      r.channel.push(CHANNELS[j % CHANNELS.length]);
      r.props.push(
        JSON.stringify(
          order
            ? { order_id: `oh-${j}`, total: '199.00', currency: 'CNY' }
            : type === 'page'
              ? { path: `/goods/${j % 300}`, title: '商品详情' }
              : type === 'identify'
                ? { name: `顾客${n - 1}`, city: '上海' }
                : { product_id: `sku-${j % 300}`, name: '真丝围巾', price: '399.00' },
        ),
      );
      r.amount.push(order ? '19900' : null);
      names[type].push(order ? 'Order Completed' : type === 'page' ? '商品详情' : type === 'identify' ? null : EVENTS[j % EVENTS.length]);
    }
    await db.tx(async (q) => {
      for (const type of Object.keys(rows)) if (rows[type].id.length > 0) await insertEvents(q, tenantId, sourceId, rows[type], type, names[type]);
    });
  }
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  await db.exec('VACUUM (ANALYZE) customers, customer_identities, customer_tags, events, tags');
  return { n, heavyId, heavyEvents, orders, tagRows, loadMs, vacuumAnalyzeMs: performance.now() - t1 };
}

function emptyEvents() {
  return { id: [], customer: [], message: [], at: [], channel: [], props: [], amount: [] };
}

/** `event` is one name for every row, or one per row. */
async function insertEvents(q, tenantId, sourceId, ev, type, event) {
  const names = Array.isArray(event) ? event : ev.id.map(() => event);
  await q.query(
    `INSERT INTO events (tenant_id, id, customer_id, source_id, message_id, type, event, occurred_at, received_at, channel, properties, context, amount_minor, currency)
     SELECT $1, u.id, u.cid, $2, u.mid, $3, u.ev, u.at, u.at, u.ch, u.p, '{}'::jsonb, u.amt, CASE WHEN u.amt IS NULL THEN NULL ELSE 'CNY' END
     FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::jsonb[], $11::bigint[]) AS u(id, cid, mid, ev, at, ch, p, amt)`,
    [tenantId, sourceId, type, ev.id, ev.customer, ev.message, names, ev.at, ev.channel, ev.props, ev.amount],
  );
}
