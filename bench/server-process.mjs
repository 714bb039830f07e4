// Datong in its own process for the benchmark, started from the built packages/server/dist
// (run `npm run build` first), so the load generator does not take its CPU.
//
// Environment: the usual DATONG_* / DATABASE_URL variables (see packages/server/src/config), and
// BENCH_SERVER_ENTRY to run a snapshot of the build instead of packages/server/dist.
// Prints one JSON line once listening: {"url", "writeKey", "sourceId", "adminKey", "db"}.
// When forked with an IPC channel it answers the orchestrator's commands (bench/run.mjs):
// new sources, progress from the in-process metrics (no database polling on the hot path),
// SQL statistics of a run, the raw-INSERT baseline and the bulk customer load, all on the
// server's own database handle (PGlite allows only one process on its folder).
// BENCH_SQL_TIMING=1 times every SQL statement the server runs (for the diagnosis run only).
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { generateMessages, LOOKUP_PHONE_PREFIX } from './workload.mjs';

// BENCH_SERVER_ENTRY: a snapshot of the build (see harness.mjs snapshotBuild); default the workspace's.
const entry = process.env.BENCH_SERVER_ENTRY ? pathToFileURL(process.env.BENCH_SERVER_ENTRY).href : '@datong/server';
const { createLogger, createSource, DEFAULT_TENANT_ID, loadConfig, lockTenantIdentities, startDatong } = await import(entry);

const { config } = loadConfig(process.env);
const datong = await startDatong({ config, logger: createLogger(config.log.level) });
const { db, deps, metrics } = datong;
const tenantId = DEFAULT_TENANT_ID;

const sqlStats = new Map();
/** Phase times of inline ingest transactions (see `timeline`). */
const inlineMarks = [];
/**
 * The planning chain of speculating transactions, in lock order (ms, averages): from the previous
 * batch's confirmation (lock taken and graph checked) to this one's graph read, the read, the
 * planning after it, the speculative inserts, until the lock is asked for, the lock wait, the check,
 * and the period between two confirmations (what bounds throughput when the chain is the limit).
 */
function chain(ms) {
  const spec = ms.filter((m) => m.insEnd !== undefined && m.lockEnd !== undefined).sort((a, b) => a.lockEnd - b.lockEnd);
  const confirm = (m) => m.checkEnd ?? m.lockEnd;
  const rows = [];
  for (let i = 1; i < spec.length; i++) {
    const prev = spec[i - 1];
    const m = spec[i];
    const planStart = m.readEnd ?? Math.max(confirm(prev), m.inboxEnd);
    rows.push({
      turnToRead: m.readStart !== undefined ? m.readStart - confirm(prev) : null,
      read: m.readStart !== undefined ? m.readEnd - m.readStart : null,
      plan: m.insStart - planStart,
      inserts: m.insEnd - m.insStart,
      toLock: m.lockStart - m.insEnd,
      lockWait: m.lockEnd - m.lockStart,
      check: confirm(m) - m.lockEnd,
      period: confirm(m) - confirm(prev),
    });
  }
  const out = { batches: rows.length };
  for (const k of ['turnToRead', 'read', 'plan', 'inserts', 'toLock', 'lockWait', 'check', 'period']) {
    const xs = rows.map((r) => r[k]).filter((x) => x !== null);
    out[k] = xs.length ? +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : null;
  }
  return out;
}
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
let inspectorSession = null;
const post = (method, params) => new Promise((resolve, reject) => inspectorSession.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
if (process.env.BENCH_SQL_TIMING === '1') instrument(db);

const url = await datong.app.listen({ host: '127.0.0.1', port: 0 });
const first = await createSource(db, deps, tenantId, 'bench', 'server', new Date());
process.stdout.write(`${JSON.stringify({ url, writeKey: first.writeKey, sourceId: first.id, adminKey: config.security.adminKey, db: db.kind })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await datong.close().catch((e) => process.stderr.write(`close failed: ${e?.stack ?? e}\n`));
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);

async function counters() {
  const m = await metrics.inboxProcessed.get();
  const out = { processed: 0, quarantined: 0 };
  for (const v of m.values) out[v.labels.outcome] = v.value;
  return out;
}

const commands = {
  async newSource({ name }) {
    const s = await createSource(db, deps, tenantId, name, 'server', new Date());
    return { sourceId: s.id, writeKey: s.writeKey };
  },
  /**
   * Inline ingest transactions since the last call, averaged (ms): waiting for a connection and
   * BEGIN, the raw messages into the inbox, resolution and the speculative inserts, waiting for
   * the tenant's lock, and from the lock to the end of COMMIT; and the share of the wall time with
   * 0, 1, 2 or 3+ of them open, and with the lock held.
   */
  async timeline() {
    const ms = inlineMarks.splice(0);
    if (ms.length === 0) return {};
    const avg = (f) => +(ms.reduce((n, m) => n + f(m), 0) / ms.length).toFixed(1);
    const start = Math.min(...ms.map((m) => m.t0));
    const wall = Math.max(...ms.map((m) => m.end)) - start;
    const edges = ms.flatMap((m) => [[m.t0, 1], [m.end, -1]]).sort((a, b) => a[0] - b[0]);
    const open = [0, 0, 0, 0];
    let k = 0;
    let last = start;
    for (const [t, d] of edges) {
      open[Math.min(k, 3)] += t - last;
      last = t;
      k += d;
    }
    const share = (x) => +(x / wall).toFixed(2);
    return {
      transactions: ms.length,
      wallMs: Math.round(wall),
      begin: avg((m) => m.first - m.t0),
      inbox: avg((m) => m.inboxEnd - m.inboxStart),
      resolveAndInsert: avg((m) => m.lockStart - m.inboxEnd),
      lockWait: avg((m) => m.lockEnd - m.lockStart),
      locked: avg((m) => m.end - m.lockEnd),
      total: avg((m) => m.end - m.t0),
      open: open.map(share),
      lockHeld: share(ms.reduce((n, m) => n + (m.end - m.lockEnd), 0)),
      // Under the lock: statements (how many, how long), the JS between them, and COMMIT.
      lockedStatements: avg((m) => m.lockedCalls ?? 0),
      lockedSql: avg((m) => m.lockedSql ?? 0),
      lockedJs: avg((m) => m.lastEnd - m.lockEnd - (m.lockedSql ?? 0)),
      commit: avg((m) => m.end - m.lastEnd),
      chain: chain(ms),
    };
  },
  /** Messages the workers finished (processed + quarantined) since the server started. */
  async progress() {
    const c = await counters();
    return { done: c.processed + c.quarantined, ...c, now: Date.now() };
  },
  /** Inline ingest transactions by how identity resolution ran (speculated / redone / locked), since start. */
  async speculation() {
    const m = await metrics.ingestSpeculation.get();
    return Object.fromEntries(m.values.map((v) => [v.labels.outcome, v.value]));
  },
  /** What the database holds for one run's source: the "fully processed" check and the timings. */
  async runStats({ sourceId, schedule }) {
    // With a schedule (the paced run), also the latency from when a batch was due to be sent
    // (message ids are m-<tag>-<index>) to processed: it includes any queueing before the accept.
    const sched = schedule
      ? `, (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at) * 1000 - ($3::float8 + floor(split_part(message_id, '-', 3)::int / $5::int) * $4::float8)))::float8 AS send_p50_ms,
           (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at) * 1000 - ($3::float8 + floor(split_part(message_id, '-', 3)::int / $5::int) * $4::float8)))::float8 AS send_p99_ms`
      : '';
    const inbox = await db.query(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 0)::int AS pending,
              count(*) FILTER (WHERE status = 1)::int AS processed, count(*) FILTER (WHERE status = 2)::int AS quarantined,
              (extract(epoch FROM min(received_at)) * 1000)::float8 AS first_received_ms,
              (extract(epoch FROM max(received_at)) * 1000)::float8 AS last_received_ms,
              (extract(epoch FROM max(processed_at)) * 1000)::float8 AS last_processed_ms,
              (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::float8 AS p50_ms,
              (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::float8 AS p99_ms,
              (extract(epoch FROM max(processed_at - received_at)) * 1000)::float8 AS max_ms${sched}
       FROM inbox WHERE tenant_id = $1 AND source_id = $2`,
      schedule ? [tenantId, sourceId, schedule.startMs, schedule.msPerBatch, schedule.batchSize] : [tenantId, sourceId],
    );
    const events = await db.query('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1 AND source_id = $2', [tenantId, sourceId]);
    const merges = await db.query('SELECT count(*)::int AS n FROM customer_merges WHERE tenant_id = $1 AND source_id = $2', [tenantId, sourceId]);
    const customers = await db.query('SELECT count(*)::int AS n FROM customers WHERE tenant_id = $1', [tenantId]);
    const quarantine = await db.query('SELECT reason, count(*)::int AS n FROM quarantine WHERE tenant_id = $1 AND source_id = $2 GROUP BY reason', [tenantId, sourceId]);
    return { ...inbox.rows[0], events: events.rows[0].n, merges: merges.rows[0].n, customersTotal: customers.rows[0].n, quarantineReasons: quarantine.rows };
  },
  async info() {
    const v = await db.query('SELECT version() AS v');
    const size = await db.query('SELECT pg_database_size(current_database())::float8 AS b');
    return { version: v.rows[0].v, dbBytes: size.rows[0].b, rssBytes: process.memoryUsage().rss };
  },
  /**
   * Baseline (a): the same events as plain rows in a table with the columns of `events` and
   * no index, `rowsPerInsert` rows per multi-row INSERT, one statement at a time (autocommit):
   * the least work that persists each event once. Two spellings of the multi-row INSERT are
   * timed, VALUES lists and unnest of column arrays; the faster one is the baseline. Rows are
   * prepared before the clock starts.
   */
  async rawInsert({ count, runNo, tag, table, rowsPerInsert = 500 }) {
    const msgs = generateMessages({ count, runNo, tag });
    const now = new Date().toISOString();
    const rows = msgs.map((m, i) => [
      tenantId,
      `evt_raw${i}`,
      m.userId ?? m.anonymousId ?? '',
      'src_bench',
      m.messageId,
      m.type,
      m.event ?? null,
      m.timestamp,
      now,
      m.context?.campaign?.source ?? 'server',
      JSON.stringify(m.properties ?? m.traits ?? {}),
      JSON.stringify(m.context ?? {}),
      m.event === 'Order Completed' ? String(Math.round(Number(m.properties.total) * 100)) : null,
      m.event === 'Order Completed' ? 'CNY' : null,
    ]);
    const cols = 14;
    const columns = 'tenant_id, id, customer_id, source_id, message_id, type, event, occurred_at, received_at, channel, properties, context, amount_minor, currency';
    const create = async () =>
      db.exec(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (
        tenant_id text NOT NULL, id text NOT NULL, customer_id text NOT NULL, source_id text NOT NULL, message_id text NOT NULL,
        type text NOT NULL, event text, occurred_at timestamptz NOT NULL, received_at timestamptz NOT NULL, channel text,
        properties jsonb NOT NULL, context jsonb NOT NULL, amount_minor bigint, currency text)`);
    const chunks = [];
    for (let i = 0; i < rows.length; i += rowsPerInsert) chunks.push(rows.slice(i, i + rowsPerInsert));
    const valuesSql = new Map();
    const valuesFor = (n) => {
      if (!valuesSql.has(n)) {
        const values = [];
        for (let r = 0; r < n; r++) {
          const b = r * cols;
          values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}::timestamptz, $${b + 9}::timestamptz, $${b + 10}, $${b + 11}::jsonb, $${b + 12}::jsonb, $${b + 13}::bigint, $${b + 14})`);
        }
        valuesSql.set(n, `INSERT INTO ${table} (${columns}) VALUES ${values.join(', ')}`);
      }
      return valuesSql.get(n);
    };
    const unnestSql = `INSERT INTO ${table} (${columns}) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
      $8::timestamptz[], $9::timestamptz[], $10::text[], $11::jsonb[], $12::jsonb[], $13::bigint[], $14::text[])`;
    const variants = {
      values: (chunk) => db.query(valuesFor(chunk.length), chunk.flat()),
      unnest: (chunk) => db.query(unnestSql, Array.from({ length: cols }, (_, c) => chunk.map((r) => r[c]))),
    };
    const out = {};
    for (const [name, insert] of Object.entries(variants)) {
      await create();
      const t0 = performance.now();
      for (const chunk of chunks) await insert(chunk);
      const ms = performance.now() - t0;
      const n = await db.query(`SELECT count(*)::int AS n FROM ${table}`);
      out[name] = { rows: n.rows[0].n, ms };
    }
    await db.exec(`DROP TABLE ${table}`);
    return out;
  },
  /**
   * Loads `n` customers, each with a phone identity stored as ingestion stores it (blind
   * index + encrypted value), `perStatement` rows a multi-row INSERT (unnest of arrays).
   * Phones are +86 137 followed by the 8-digit customer number.
   */
  async seedCustomers({ n, perStatement = 5000 }) {
    const t0 = performance.now();
    const at = new Date().toISOString();
    for (let start = 0; start < n; start += perStatement) {
      const end = Math.min(n, start + perStatement);
      const ids = [];
      const names = [];
      const idx = [];
      const enc = [];
      for (let i = start; i < end; i++) {
        const id = `cus_bench${String(i).padStart(9, '0')}`;
        const phone = `+86${LOOKUP_PHONE_PREFIX}${String(i).padStart(8, '0')}`;
        ids.push(id);
        names.push(JSON.stringify({ name: `顾客${i}`, city: '上海' }));
        idx.push(deps.keyring.blindIndex(tenantId, `phone\u0000\u0000${phone}`));
        enc.push(deps.keyring.encrypt(phone));
      }
      await db.tx(async (q) => {
        await lockTenantIdentities(q, tenantId);
        await q.query(
          `INSERT INTO customers (tenant_id, id, root_id, traits, own_traits, first_seen_at, last_seen_at, created_at, updated_at)
           SELECT $1, u.id, u.id, u.t, u.t, $2, $2, $2, $2 FROM unnest($3::text[], $4::jsonb[]) AS u(id, t)`,
          [tenantId, at, ids, names],
        );
        await q.query(
          `INSERT INTO customer_identities (tenant_id, value_index, customer_id, type, collection, value, value_enc, source_id, message_id, created_at)
           SELECT $1, u.vi, u.id, 'phone', '', NULL, u.ve, NULL, NULL, $2 FROM unnest($3::text[], $4::text[], $5::text[]) AS u(vi, id, ve)`,
          [tenantId, at, idx, ids, enc],
        );
      });
    }
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    // As an import tool would: fresh statistics and visibility map, so the lookups measure the
    // steady state and not the after-effects of a bulk load (hint bits, autovacuum catching up).
    await db.exec('VACUUM (ANALYZE) customers, customer_identities');
    return { n, loadMs, vacuumAnalyzeMs: performance.now() - t1 };
  },
  /** The console benchmark's customers, tags, orders and one customer with a long timeline (bench/console-seed.mjs). */
  async seedConsole(args) {
    const { seedConsole } = await import('./console-seed.mjs');
    return seedConsole({ db, deps, tenantId, lockTenantIdentities }, args);
  },
  /** CPU profile of this process for one phase (node:inspector; same format as --cpu-prof). */
  async profileStart() {
    inspectorSession ??= new inspector.Session();
    inspectorSession.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    return true;
  },
  async profileStop({ file }) {
    const { profile } = await post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    inspectorSession.disconnect();
    return file;
  },
  /** Diagnostics: runs one statement on the server's handle (EXPLAIN, ANALYZE, pg_stat_*). */
  async sql({ text, params = [] }) {
    return (await db.query(text, params)).rows;
  },
  /** Statements in one transaction that is rolled back; the last one's rows (EXPLAIN ANALYZE of writes). */
  async sqlRolledBack({ statements }) {
    const rollback = new Error('rollback');
    let out = [];
    try {
      await db.tx(async (q) => {
        for (const st of statements) out = (await q.query(st.text, st.params ?? [])).rows;
        throw rollback;
      });
    } catch (e) {
      if (e !== rollback) throw e;
    }
    return out;
  },
  async sqlTiming({ reset = false } = {}) {
    const rows = [...sqlStats.entries()].map(([sql, s]) => ({ sql, ...s })).sort((a, b) => b.ms - a.ms);
    // How long callbacks waited for the main thread (a result that arrives while it is busy waits too).
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    rows.push({ sql: `event-loop delay p50 ${ms(loopDelay.percentile(50))} p90 ${ms(loopDelay.percentile(90))} p99 ${ms(loopDelay.percentile(99))} max ${ms(loopDelay.max)} ms`, ms: 0, calls: 1 });
    if (reset) {
      sqlStats.clear();
      loopDelay.reset();
    }
    return rows;
  },
};

process.on('message', async (msg) => {
  if (!msg || typeof msg !== 'object' || !('cmd' in msg)) return;
  const f = commands[msg.cmd];
  try {
    if (!f) throw new Error(`unknown command ${msg.cmd}`);
    const result = await f(msg.args ?? {});
    process.send?.({ id: msg.id, ok: true, result });
  } catch (e) {
    process.send?.({ id: msg.id, ok: false, error: String(e?.stack ?? e) });
  }
});

/**
 * Wraps the database handle the server uses (the same object the workers and routes hold)
 * to time each statement, keyed by its first words. Inside a transaction a statement's time is
 * pure database time; outside (autocommit, e.g. the ingest INSERT on PGlite) it includes
 * waiting for the single connection.
 */
function instrument(handle) {
  const key = (sql) => sql.replace(/\s+/g, ' ').trim().slice(0, 110);
  /** Characters of a statement's text and parameters (what the driver sends, near enough). */
  const size = (sql, params) => {
    let n = sql.length;
    for (const p of params ?? []) {
      if (typeof p === 'string') n += p.length;
      else if (Array.isArray(p)) for (const x of p) n += String(x).length + 3;
      else if (p !== null && p !== undefined) n += String(p).length;
    }
    return n;
  };
  const record = (where, sql, ms, params) => {
    // WRITE_BATCH_SQL runs twice in a speculation: its inserts before the lock, identities and updates under it.
    const part = sql.startsWith('WITH nc AS') && params !== undefined ? (params[6] === '[]' ? ' [updates]' : params[3] === '[]' && params[4] === '[]' ? ' [inserts]' : ' [all]') : '';
    const k = `${where}${part} ${key(sql)}`;
    const s = sqlStats.get(k) ?? { calls: 0, ms: 0, maxMs: 0, chars: 0 };
    s.calls++;
    s.ms += ms;
    if (params !== undefined) s.chars += size(sql, params);
    s.maxMs = Math.max(s.maxMs, ms);
    sqlStats.set(k, s);
  };
  const timed = (where, target) => async (sql, params) => {
    const t = performance.now();
    try {
      return await target.query(sql, params);
    } finally {
      record(where, sql, performance.now() - t, params ?? []);
    }
  };
  const query = handle.query;
  const exec = handle.exec;
  const tx = handle.tx;
  handle.query = timed('[auto]', { query: (s, p) => query.call(handle, s, p) });
  // exec: migrations and maintenance (VACUUM/ANALYZE on PGlite), which also hold the connection.
  handle.exec = async (sql) => {
    const t = performance.now();
    try {
      return await exec.call(handle, sql);
    } finally {
      record('[exec]', sql, performance.now() - t);
    }
  };
  handle.tx = (fn) => {
    const t = performance.now();
    let inTx = 0;
    let locked = null;
    const marks = { t0: t };
    return tx
      .call(handle, (q) =>
        fn({
          exec: (s) => q.exec(s),
          query: async (sql, params) => {
            const t1 = performance.now();
            if (marks.first === undefined) marks.first = t1;
            if (sql.startsWith('WITH batches')) marks.inboxStart = t1;
            if (sql.startsWith('INSERT INTO identity_locks')) marks.lockStart = t1;
            const graph = sql.startsWith('WITH o AS MATERIALIZED');
            if (graph && marks.lockEnd === undefined) marks.readStart = t1;
            const specInserts = sql.startsWith('WITH nc AS') && params?.[6] !== '[]' && params?.[3] === '[]' && params?.[4] === '[]';
            if (specInserts) marks.insStart = t1;
            try {
              return await q.query(sql, params);
            } finally {
              if (graph && marks.lockEnd === undefined) marks.readEnd = performance.now();
              if (graph && marks.lockEnd !== undefined && marks.checkEnd === undefined) marks.checkEnd = performance.now();
              if (specInserts) marks.insEnd = performance.now();
              marks.lastEnd = performance.now();
              if (marks.lockEnd !== undefined && !sql.startsWith('INSERT INTO identity_locks')) {
                marks.lockedSql = (marks.lockedSql ?? 0) + (marks.lastEnd - t1);
                marks.lockedCalls = (marks.lockedCalls ?? 0) + 1;
              }
              if (sql.startsWith('WITH batches')) marks.inboxEnd = performance.now();
              if (sql.startsWith('INSERT INTO identity_locks')) marks.lockEnd = performance.now();
              const d = performance.now() - t1;
              inTx += d;
              record('[tx]', sql, d, params ?? []);
              if (locked === null && sql.startsWith('INSERT INTO identity_locks')) locked = performance.now();
            }
          },
        }),
      )
      .finally(() => {
        const total = performance.now() - t;
        record('[tx] (whole transaction, incl. BEGIN/COMMIT and JS)', '', total);
        record('[tx] (JS + BEGIN/COMMIT between statements)', '', total - inTx);
        // The serial part: from holding the tenant's identity lock to the end of COMMIT.
        if (locked !== null) record('[tx] (tenant identity lock held, until COMMIT done)', '', performance.now() - locked);
        if (marks.inboxStart !== undefined && marks.lockEnd !== undefined) {
          marks.end = performance.now();
          inlineMarks.push(marks);
        }
      });
  };
}
