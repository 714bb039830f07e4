import { openPglite, openPostgres } from '@datong/server';
import { generateMessages } from '/work/main/bench/workload.mjs';
import { performance } from 'node:perf_hooks';
import { mkdtempSync } from 'node:fs';
const kind = process.argv[2];
const db = kind === 'pg' ? await openPostgres('postgres://postgres@127.0.0.1:45432/postgres', 5) : await openPglite(mkdtempSync('/tmp/bx/pgl-'));
const msgs = generateMessages({ count: 60000, runNo: 0, tag: 'x' });
const now = new Date().toISOString();
const rows = msgs.map((m, i) => ['ten', `evt_raw${i}`, m.userId ?? m.anonymousId ?? '', 'src', m.messageId, m.type, m.event ?? null, m.timestamp, now, 'server', JSON.stringify(m.properties ?? m.traits ?? {}), JSON.stringify(m.context ?? {}), m.event === 'Order Completed' ? '100' : null, m.event === 'Order Completed' ? 'CNY' : null]);
const ddl = (t, j='jsonb') => `DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (tenant_id text NOT NULL, id text NOT NULL, customer_id text NOT NULL, source_id text NOT NULL, message_id text NOT NULL, type text NOT NULL, event text, occurred_at timestamptz NOT NULL, received_at timestamptz NOT NULL, channel text, properties ${j} NOT NULL, context ${j} NOT NULL, amount_minor bigint, currency text)`;
const cols = 14;
async function values(n) {
  await db.exec(ddl('r1'));
  const v = []; for (let r = 0; r < n; r++) { const b = r * cols; v.push('(' + Array.from({length: cols}, (_, c) => `$${b + c + 1}`).join(',') + ')'); }
  const sql = `INSERT INTO r1 VALUES ${v.join(',')}`;
  const t = performance.now();
  for (let i = 0; i < rows.length; i += n) await db.query(sql, rows.slice(i, i + n).flat());
  return rows.length / ((performance.now() - t) / 1000);
}
async function unnest(n, j='jsonb') {
  await db.exec(ddl('r2', j));
  const sql = `INSERT INTO r2 SELECT * FROM unnest($1::text[],$2::text[],$3::text[],$4::text[],$5::text[],$6::text[],$7::text[],$8::timestamptz[],$9::timestamptz[],$10::text[],$11::${j}[],$12::${j}[],$13::bigint[],$14::text[])`;
  const t = performance.now();
  for (let i = 0; i < rows.length; i += n) { const ch = rows.slice(i, i + n); await db.query(sql, Array.from({length: cols}, (_, c) => ch.map(r => r[c]))); }
  return rows.length / ((performance.now() - t) / 1000);
}
async function jrs(n) {
  await db.exec(ddl('r3'));
  const keys = ['tenant_id','id','customer_id','source_id','message_id','type','event','occurred_at','received_at','channel','properties','context','amount_minor','currency'];
  const objs = rows.map(r => Object.fromEntries(keys.map((k, c) => [k, c === 10 || c === 11 ? JSON.parse(r[c]) : r[c]])));
  const sql = `INSERT INTO r3 SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id text, id text, customer_id text, source_id text, message_id text, type text, event text, occurred_at timestamptz, received_at timestamptz, channel text, properties jsonb, context jsonb, amount_minor bigint, currency text)`;
  const t = performance.now();
  for (let i = 0; i < objs.length; i += n) await db.query(sql, [JSON.stringify(objs.slice(i, i + n))]);
  return rows.length / ((performance.now() - t) / 1000);
}
for (let k = 0; k < 2; k++) {
  console.log(kind, 'values500', Math.round(await values(500)), 'unnest500', Math.round(await unnest(500)), 'unnest500 text', Math.round(await unnest(500, 'text')), 'jrs500', Math.round(await jrs(500)));
}
await db.close();
