// Diagnosis helper for docs/benchmarks.md: repeated ingest runs against one Datong server child
// with every SQL statement timed, to see what a batch costs and how it changes as data grows.
// Run `npm run build` first. Options (environment):
//   DIAG_DB=pglite|postgres    database (postgres: a throwaway cluster, stopped at the end)
//   DIAG_RUNS=3                ingest runs of DIAG_EVENTS events each (default 40,000)
//   DIAG_ANALYZE_BEFORE=1,2    run ANALYZE on the server's database before these runs (0-based)
//   DIAG_SQL_BEFORE='…'        SQL run once on the server's database before the first run (A/B of a schema change)
//   DIAG_SQL_AFTER='…'         SQL run after the last run, its rows printed (e.g. pg_stat_user_tables)
//   DIAG_EXPLAIN=1             after the last run, EXPLAIN ANALYZE the batch's rule-tag query
//                              (total_spend over ~400 roots) and identity probe (~900 keys)
//   DIAG_PROFILE=/tmp/p        CPU profile of the server child per run (/tmp/p-<run>.cpuprofile)
//   DIAG_PGSS=1                (postgres) server-side time per statement from pg_stat_statements
//   DIAG_NODE_FLAGS='…'        Node flags of the server child instead of SERVER_NODE_FLAGS ('' for none)
//   DIAG_CLIENTS=20            concurrent clients sending batches
//   DIAG_TOP=14                statements listed per run (the slowest in total)
//   DATONG_*                   passed to the server, e.g. DATONG_INBOX_BATCH_SIZE=2000
// Prints per run: throughput, CPU, the slowest statements, inline transactions by outcome and
// their phases (timeline: connection + BEGIN, inbox, resolution + speculative inserts, lock wait,
// locked until COMMIT; share of the run with 0/1/2/3+ open and with the lock held).
// Example: DIAG_DB=pglite DIAG_ANALYZE_BEFORE=1 node bench/diagnose.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuth, cleanup, cpuDelta, cpuSnapshot, createTagRule, log, root, serverEnv, snapshotBuild, sourceFingerprint, startChild, startPostgres, waitProcessed } from './harness.mjs';
import { sendAll } from './load.mjs';
import { num } from './stats.mjs';
import { generateMessages, toBatches } from './workload.mjs';

const db = process.env.DIAG_DB ?? 'pglite';
const runs = Number(process.env.DIAG_RUNS ?? 3);
const events = Number(process.env.DIAG_EVENTS ?? 40_000);
const analyzeBefore = new Set((process.env.DIAG_ANALYZE_BEFORE ?? '').split(',').filter(Boolean).map(Number));

const snapshotDir = path.join(root, 'bench/results', `.build-diag-${process.pid}`);

async function main() {
  const serverEntry = snapshotBuild(snapshotDir);
  log(`build ${sourceFingerprint('dist', /\.(js|sql)$/, snapshotDir).sha256} (packages/*/dist as it is now, snapshot)`);
  const pgss = db === 'postgres' && process.env.DIAG_PGSS === '1';
  if (pgss) process.env.DATONG_PG_OPTS = `${process.env.DATONG_PG_OPTS ?? ''} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=off`;
  const pgUrl = db === 'postgres' ? startPostgres() : null;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `datong-diag-${db}-`));
  const env = { ...(await serverEnv(db, pgUrl, dataDir)), BENCH_SQL_TIMING: '1', BENCH_SERVER_ENTRY: serverEntry };
  const server = await startChild(`datong-${db}`, path.join(root, 'bench/server-process.mjs'), env, process.env.DIAG_NODE_FLAGS === undefined ? undefined : process.env.DIAG_NODE_FLAGS.split(' ').filter(Boolean));
  try {
    await createTagRule(server);
    if (pgss) await server.rpc('sql', { text: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' });
    if (process.env.DIAG_SQL_BEFORE) {
      await server.rpc('sql', { text: process.env.DIAG_SQL_BEFORE });
      log(`ran DIAG_SQL_BEFORE: ${process.env.DIAG_SQL_BEFORE}`);
    }
    for (let r = 0; r < runs; r++) {
      if (analyzeBefore.has(r)) {
        const t = Date.now();
        await server.rpc('sql', { text: 'ANALYZE' });
        log(`ANALYZE took ${Date.now() - t} ms`);
      }
      const messages = generateMessages({ count: events, runNo: r, tag: `${db[0]}d${r}` });
      const bodies = toBatches(messages, 100);
      const src = await server.rpc('newSource', { name: `diag ${r}` });
      const base = (await server.rpc('progress')).done;
      const blocks0 = (await server.rpc('sql', { text: 'SELECT (blks_hit + blks_read)::float8 AS b FROM pg_stat_database WHERE datname = current_database()' }))[0].b;
      const cpu0 = cpuSnapshot(server.pid);
      if (process.env.DIAG_PROFILE) await server.rpc('profileStart');
      const t0 = Date.now();
      const sent = await sendAll({ base: server.info.url, path: '/v1/batch', headers: basicAuth(src.writeKey), bodies, concurrency: Number(process.env.DIAG_CLIENTS ?? 20), expectStatus: 200, countAccepted: true });
      await waitProcessed(server, base, sent.accepted, `diag run ${r}`);
      const secs = (Date.now() - t0) / 1000;
      if (process.env.DIAG_PROFILE) await server.rpc('profileStop', { file: `${process.env.DIAG_PROFILE}-${r}.cpuprofile` });
      const cpu = cpuDelta(cpu0, cpuSnapshot(server.pid));
      const blocks1 = (await server.rpc('sql', { text: 'SELECT (blks_hit + blks_read)::float8 AS b FROM pg_stat_database WHERE datname = current_database()' }))[0].b;
      const stats = await server.rpc('sqlTiming', { reset: true });
      if (pgss) await printPgss(server, events);
      const inboxTx = stats.find((x) => x.sql.includes('FROM inbox WHERE status = 0'));
      log(`run ${r}: ${num(events / secs)} ev/s processed; ${num((blocks1 - blocks0) / events, 1)} buffer accesses per event; ${inboxTx?.calls ?? '?'} inbox claims; cpu server ${cpu.serverPct}% postgres ${cpu.postgresPct}%; CPU per event: server ${num((cpu.serverMs * 1000) / events, 1)} µs, postgres ${num((cpu.postgresMs * 1000) / events, 1)} µs`);
      console.log(`  inline transactions so far: ${JSON.stringify(await server.rpc('speculation'))}`);
      console.log(`  timeline: ${JSON.stringify(await server.rpc('timeline'))}`);
      const loop = stats.find((x) => x.sql.startsWith('event-loop delay'));
      if (loop) console.log(`  ${loop.sql}`);
      const chars = stats.reduce((a, x) => a + (x.chars ?? 0), 0);
      console.log(`  sent to the database: ${num(chars / events)} characters per event (statement text and parameters)`);
      for (const x of stats.filter((x) => x !== loop).slice(0, Number(process.env.DIAG_TOP ?? 14))) console.log(`  ${num(x.ms / 1000, 2).padStart(7)} s ${String(x.calls).padStart(6)} calls  avg ${num(x.ms / x.calls, 2).padStart(6)} ms ${num((x.chars ?? 0) / events).padStart(5)} ch/ev  ${x.sql.slice(0, 100)}`);
    }
    if (process.env.DIAG_SQL_AFTER) console.table(await server.rpc('sql', { text: process.env.DIAG_SQL_AFTER }));
    if (process.env.DIAG_EXPLAIN === '1') await explain(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Server-side execution time per statement (pg_stat_statements), then reset for the next run. */
async function printPgss(server, events) {
  const sql = (text) => server.rpc('sql', { text });
  const rows = await sql(`SELECT calls, total_exec_time AS ms, rows, shared_blks_hit + shared_blks_read AS blks, shared_blks_dirtied AS dirtied, wal_bytes, query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 16`);
  const total = (await sql('SELECT sum(total_exec_time) AS ms, sum(wal_bytes) AS wal FROM pg_stat_statements'))[0];
  console.log(`  pg_stat_statements: ${num(total.ms / 1000, 2)} s executing, ${num((total.ms * 1000) / events, 1)} µs and ${num(Number(total.wal) / events)} WAL bytes per event`);
  for (const x of rows) {
    console.log(`  ${num(x.ms / 1000, 2).padStart(7)} s ${String(x.calls).padStart(6)} calls ${num((x.ms * 1000) / events, 1).padStart(6)} µs/ev ${num(Number(x.wal_bytes) / events).padStart(5)} WAL B/ev ${num(Number(x.blks) / events, 1).padStart(5)} blk/ev  ${x.query.replace(/\s+/g, ' ').slice(0, 100)}`);
  }
  await sql('SELECT pg_stat_statements_reset()');
}

/** Plans of two per-batch statements with batch-sized arrays (shapes as in process-inbox.ts / tag-rules.ts). */
async function explain(server) {
  const sql = (text, params) => server.rpc('sql', { text, params });
  const roots = (await sql('SELECT root_id FROM customers ORDER BY random() LIMIT 400')).map((r) => r.root_id);
  const keys = (await sql('SELECT value_index FROM customer_identities ORDER BY random() LIMIT 900')).map((r) => r.value_index);
  const { IDENTITY_GRAPH_SQL } = await import('../packages/server/dist/jobs/process-inbox.js');
  const show = async (title, text, params) => {
    const rows = await sql(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
    console.log(`\n${title}\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  };
  await show(
    'total_spend rule over 400 roots:',
    `SELECT c.root_id AS root, coalesce(sum(CASE WHEN e.event = $3 THEN e.amount_minor ELSE -e.amount_minor END), 0)::text AS v
     FROM events e JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id
     WHERE e.tenant_id = $1 AND c.root_id = ANY($2::text[]) AND e.event IN ($3, $4) AND e.currency = $5 AND e.amount_minor IS NOT NULL
     GROUP BY c.root_id`,
    ['ten_default', roots, 'Order Completed', 'Order Refunded', 'CNY'],
  );
  await show(
    'identity probe with 900 keys:',
    `SELECT i.value_index, i.type, i.customer_id, c.root_id FROM customer_identities i
     JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
     WHERE i.tenant_id = $1 AND i.value_index = ANY($2::text[])`,
    ['ten_default', keys],
  );
  await show('identity graph of a batch (900 keys, all known; as in applyMessages):', IDENTITY_GRAPH_SQL, ['ten_default', keys, ['user_id', 'phone', 'wechat_unionid']]);
  await show(
    'members of 400 roots:',
    'SELECT id, root_id, merged_into, first_seen_at, last_seen_at FROM customers WHERE tenant_id = $1 AND root_id = ANY($2::text[])',
    ['ten_default', roots],
  );
  // The profile UPDATE of a batch (process-inbox.ts), with the planner settings of a processing transaction.
  const ids = (await sql('SELECT id FROM customers ORDER BY random() LIMIT 300')).map((r) => r.id);
  const updates = JSON.stringify(ids.map((id, i) => ({ id, own: { city: `c${i}` }, tr: { city: `c${i}` }, fs: null, ls: new Date().toISOString() })));
  const plan = await server.rpc('sqlRolledBack', {
    statements: [
      { text: "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)" },
      {
        text: `EXPLAIN (ANALYZE, BUFFERS, WAL) UPDATE customers c SET own_traits = c.own_traits || u.own, traits = c.traits || u.tr,
                 first_seen_at = LEAST(c.first_seen_at, coalesce(u.fs, c.first_seen_at)), last_seen_at = GREATEST(c.last_seen_at, coalesce(u.ls, c.last_seen_at)),
                 updated_at = CASE WHEN u.own <> '{}'::jsonb OR u.tr <> '{}'::jsonb THEN $2::timestamptz ELSE c.updated_at END
               FROM jsonb_to_recordset($3::jsonb) AS u(id text, own jsonb, tr jsonb, fs timestamptz, ls timestamptz)
               WHERE c.tenant_id = $1 AND c.id = ANY($4::text[]) AND c.id = u.id`,
        params: ['ten_default', new Date().toISOString(), updates, ids],
      },
    ],
  });
  console.log(`\nprofile UPDATE of 300 customers:\n${plan.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  console.table(await sql("SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname IN ('events', 'customers', 'customer_identities', 'inbox') ORDER BY relname"));
}

try {
  await main();
} catch (e) {
  console.error(e?.stack ?? e);
  process.exitCode = 1;
} finally {
  await cleanup();
  rmSync(snapshotDir, { recursive: true, force: true });
}
