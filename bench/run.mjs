// `npm run bench`: Datong's ingest, latency and lookup benchmark on PGlite and PostgreSQL, with
// in-run baselines (raw multi-row INSERT on the same database, a bare Fastify route).
// Method and results: docs/benchmarks.md. Options (environment):
//   BENCH_QUICK=1          smoke run (~1.5 min): small sizes, one repeat
//   BENCH_CUSTOMERS=N      customers loaded for the lookup test (default 1,000,000; quick 20,000)
//   BENCH_EVENTS=N         events per ingest run (default 40,000; quick 5,000)
//   BENCH_REPEATS=N        repeats of each measurement (default 3; quick 1)
//   BENCH_INGEST_REPEATS=N repeats of the throughput pair, raw INSERT then ingest (default 5; quick 1)
//   BENCH_DBS=pglite,postgres   which databases
//   BENCH_SKIP_BUILD=1     do not run `npm run build` first
//   BENCH_PROFILE=1        diagnosis run instead: one ingest run and one lookup run per database
//                          with a CPU profile of the server child and every SQL statement timed
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basicAuth, cleanup, cpuDelta, cpuSnapshot, createTagRule, log, root, serverEnv, snapshotBuild, sourceFingerprint, startChild, startPostgres, waitProcessed } from './harness.mjs';
import { getLoop, sendAll, sendPaced } from './load.mjs';
import { num, percentile, spread, summary } from './stats.mjs';
import { describeMix, generateMessages, LOOKUP_PHONE_PREFIX, toBatches } from './workload.mjs';
import { summarizeProfile } from './profile-summary.mjs';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const PROFILE = env.BENCH_PROFILE === '1';
const int = (v, d) => (v !== undefined && v !== '' ? Number.parseInt(v, 10) : d);

const cfg = {
  quick: QUICK,
  profile: PROFILE,
  repeats: PROFILE ? 1 : int(env.BENCH_REPEATS, QUICK ? 1 : 3),
  // Throughput repeats are short (~4 s on PostgreSQL): five of them, each right after its raw
  // INSERT baseline, so that a slow moment of the machine moves one pair, not the median.
  ingestRepeats: PROFILE ? 1 : int(env.BENCH_INGEST_REPEATS, QUICK ? 1 : 5),
  warmupEvents: QUICK ? 2_000 : 20_000,
  batchSize: 100,
  concurrency: 20,
  ingestEvents: int(env.BENCH_EVENTS, QUICK ? 5_000 : 40_000),
  rawRowsPerInsert: 500,
  latencyEventsPerSecond: 2_000,
  latencySeconds: QUICK ? 5 : 20,
  customers: int(env.BENCH_CUSTOMERS, QUICK ? 20_000 : 1_000_000),
  customersPerStatement: 5_000,
  lookupSeconds: QUICK ? 3 : 10,
  lookupConcurrency: 20,
  bareRequests: QUICK ? 1_500 : 5_000,
  dbs: (env.BENCH_DBS ?? 'pglite,postgres').split(',').map((s) => s.trim()).filter(Boolean),
};

const TARGETS = {
  pgProcessed: 10_000,
  pgRawRatio: 0.2,
  latencyP99Ms: 1_000,
  pgliteProcessed: 4_000,
};

function latencyStats(ms) {
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.length ? Math.max(...ms) : null };
}

/** `warmup`: a shorter run, not counted, that lets the server's JIT and the database's caches settle first. */
async function ingestRun(server, db, r, warmup = false) {
  const tag = warmup ? `${db[0]}w` : `${db[0]}i${r}`;
  const messages = generateMessages({ count: warmup ? cfg.warmupEvents : cfg.ingestEvents, runNo: r, tag });
  const bodies = toBatches(messages, cfg.batchSize);
  const src = await server.rpc('newSource', { name: warmup ? 'bench ingest warm-up' : `bench ingest ${r}` });
  const base = (await server.rpc('progress')).done;
  const cpu0 = cpuSnapshot(server.pid);
  const sent = await sendAll({ base: server.info.url, path: '/v1/batch', headers: basicAuth(src.writeKey), bodies, concurrency: cfg.concurrency, expectStatus: 200, countAccepted: true });
  const cpuAccept = cpuSnapshot(server.pid);
  if (sent.errorCount > 0) throw new Error(`ingest ${db}#${r}: ${sent.errorCount} failed requests, e.g. ${sent.errors.join(' | ')}`);
  const polledDoneMs = await waitProcessed(server, base, sent.accepted, `ingest ${db}#${r}`);
  const cpu1 = cpuSnapshot(server.pid);
  const st = await server.rpc('runStats', { sourceId: src.sourceId });
  const n = messages.length;
  const fully = Math.min(st.events, st.processed);
  if (st.pending !== 0 || st.total !== n) throw new Error(`ingest ${db}#${r}: inbox holds ${st.total} rows, ${st.pending} pending (sent ${n})`);
  const endMs = Math.max(st.last_processed_ms, sent.endMs);
  const res = {
    events: n,
    accepted: sent.accepted,
    processed: st.processed,
    quarantined: st.quarantined,
    eventsStored: st.events,
    merges: st.merges,
    customersTotal: st.customersTotal,
    quarantineReasons: st.quarantineReasons,
    acceptSeconds: (sent.endMs - sent.startMs) / 1000,
    processSeconds: (endMs - sent.startMs) / 1000,
    processSecondsPolled: (polledDoneMs - sent.startMs) / 1000,
    acceptRate: n / ((sent.endMs - sent.startMs) / 1000),
    processedRate: fully / ((endMs - sent.startMs) / 1000),
    httpLatencyMs: latencyStats(sent.latencies),
    acceptToProcessedMs: { p50: st.p50_ms, p99: st.p99_ms, max: st.max_ms },
    cpuWhileAccepting: cpuDelta(cpu0, cpuAccept),
    cpuWholeRun: cpuDelta(cpu0, cpu1),
  };
  if (fully !== n) res.warning = `${n - fully} of ${n} events are not fully processed (quarantined or missing from events)`;
  log(`${db} ingest ${warmup ? 'warm-up (not counted)' : `#${r + 1}`}: ${num(res.processedRate)} ev/s processed, ${num(res.acceptRate)} ev/s accepted, ${st.merges} merges, cpu server ${res.cpuWholeRun.serverPct}% pg ${res.cpuWholeRun.postgresPct}% loadgen ${res.cpuWholeRun.loadgenPct}%`);
  return res;
}

async function latencyRun(server, db, r) {
  const tag = `${db[0]}l${r}`;
  const count = cfg.latencyEventsPerSecond * cfg.latencySeconds;
  const messages = generateMessages({ count, runNo: 10 + r, tag });
  const bodies = toBatches(messages, cfg.batchSize);
  const src = await server.rpc('newSource', { name: `bench latency ${r}` });
  const base = (await server.rpc('progress')).done;
  const cpu0 = cpuSnapshot(server.pid);
  const perSecond = cfg.latencyEventsPerSecond / cfg.batchSize;
  // Offered for latencySeconds (+2 s grace): batches a saturated server was not ready for by then are not sent.
  // At most 2 s of offered load in flight: a client does not queue more than that on a server that stopped answering.
  const sent = await sendPaced({ base: server.info.url, path: '/v1/batch', headers: basicAuth(src.writeKey), bodies, perSecond, maxInFlight: 2 * perSecond, stopAfterMs: (cfg.latencySeconds + 2) * 1000 });
  if (sent.errorCount > 0) throw new Error(`latency ${db}#${r}: ${sent.errorCount} failed requests, e.g. ${sent.errors.join(' | ')}`);
  await waitProcessed(server, base, sent.accepted, `latency ${db}#${r}`);
  const cpu1 = cpuSnapshot(server.pid);
  const st = await server.rpc('runStats', { sourceId: src.sourceId, schedule: { startMs: sent.startMs, msPerBatch: 1000 / perSecond, batchSize: cfg.batchSize } });
  const acceptSeconds = (sent.endMs - sent.startMs) / 1000;
  const res = {
    events: count,
    offeredRate: cfg.latencyEventsPerSecond,
    notSent: (bodies.length - sent.sent) * cfg.batchSize,
    // Until the last 200 came back: a saturated server accepts later than it was asked to.
    achievedAcceptRate: sent.accepted / acceptSeconds,
    processedRate: st.processed / ((st.last_processed_ms - sent.startMs) / 1000),
    acceptSeconds,
    drainAfterLastAcceptMs: st.last_processed_ms - Math.max(st.last_received_ms, sent.endMs),
    lateSends: sent.late,
    p50Ms: st.p50_ms,
    p99Ms: st.p99_ms,
    maxMs: st.max_ms,
    sendToProcessedMs: { p50: st.send_p50_ms, p99: st.send_p99_ms },
    httpLatencyMs: latencyStats(sent.latencies),
    quarantined: st.quarantined,
    cpu: cpuDelta(cpu0, cpu1),
  };
  // Kept up = every batch was accepted within 1 s of the offered window and the backlog after
  // the last accept cleared within 1 s.
  res.keptUp = res.notSent === 0 && acceptSeconds <= cfg.latencySeconds + 1 && res.drainAfterLastAcceptMs < 1_000;
  log(`${db} latency #${r + 1}: accept→processed p50 ${num(res.p50Ms)} ms, p99 ${num(res.p99Ms)} ms; send→processed p99 ${num(res.sendToProcessedMs.p99)} ms; accepted ${num(res.achievedAcceptRate)} ev/s, processed ${num(res.processedRate)} ev/s, kept up: ${res.keptUp}`);
  return res;
}

async function lookupRun(server, db, r, n) {
  const headers = { authorization: `Bearer ${server.info.adminKey}` };
  const pathFor = () => {
    const i = Math.floor(Math.random() * n);
    return `/v1/customers/lookup?type=phone&value=${encodeURIComponent(`+86${LOOKUP_PHONE_PREFIX}${String(i).padStart(8, '0')}`)}`;
  };
  if (r === 0) await getLoop({ base: server.info.url, headers, pathFor, concurrency: cfg.lookupConcurrency, durationMs: 1_000 }); // warm-up, not counted
  const cpu0 = cpuSnapshot(server.pid);
  const out = await getLoop({ base: server.info.url, headers, pathFor, concurrency: cfg.lookupConcurrency, durationMs: cfg.lookupSeconds * 1000 });
  const cpu1 = cpuSnapshot(server.pid);
  if (out.errorCount > 0) throw new Error(`lookups ${db}#${r}: ${out.errorCount} failed, e.g. ${out.errors.join(' | ')}`);
  const res = { requests: out.requests, rate: out.requests / (out.ms / 1000), latencyMs: latencyStats(out.latencies), cpu: cpuDelta(cpu0, cpu1) };
  log(`${db} lookups #${r + 1}: ${num(res.rate)} /s, p99 ${num(res.latencyMs.p99)} ms`);
  return res;
}

async function bareFastifyRuns() {
  const out = [];
  const child = await startChild('bare-fastify', path.join(root, 'bench/bare-fastify.mjs'), { ...env, NODE_ENV: 'production' });
  try {
    const messages = generateMessages({ count: Math.min(cfg.ingestEvents, 20_000), runNo: 19, tag: 'bare' });
    const one = toBatches(messages, cfg.batchSize);
    const bodies = Array.from({ length: cfg.bareRequests }, (_, i) => one[i % one.length]);
    await sendAll({ base: child.info.url, path: '/v1/batch', headers: {}, bodies: bodies.slice(0, 200), concurrency: cfg.concurrency, expectStatus: 202 }); // warm-up
    for (let r = 0; r < cfg.repeats; r++) {
      const cpu0 = cpuSnapshot(child.pid);
      const s = await sendAll({ base: child.info.url, path: '/v1/batch', headers: {}, bodies, concurrency: cfg.concurrency, expectStatus: 202 });
      const cpu1 = cpuSnapshot(child.pid);
      if (s.errorCount > 0) throw new Error(`bare Fastify: ${s.errorCount} failed, e.g. ${s.errors.join(' | ')}`);
      const secs = (s.endMs - s.startMs) / 1000;
      const res = { requests: bodies.length, requestsPerSecond: bodies.length / secs, eventsPerSecond: (bodies.length * cfg.batchSize) / secs, httpLatencyMs: latencyStats(s.latencies), cpu: cpuDelta(cpu0, cpu1) };
      log(`bare Fastify #${r + 1}: ${num(res.eventsPerSecond)} ev/s (${num(res.requestsPerSecond)} req/s)`);
      out.push(res);
    }
  } finally {
    await child.stop();
  }
  return out;
}

async function runDatabase(db, pgUrl) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `datong-bench-${db}-`));
  const childEnv = { ...(await serverEnv(db, pgUrl, dataDir)), BENCH_SERVER_ENTRY: serverEntry };
  let profDir = null;
  if (PROFILE) {
    profDir = path.join(root, 'bench/results', `profile-${stamp}-${db}`);
    mkdirSync(profDir, { recursive: true });
    childEnv.BENCH_SQL_TIMING = '1';
  }
  const result = { db, rawInsert: [], ingest: [], latency: [], load: null, lookups: [] };
  log(`${db}: starting the Datong server child`);
  const t0 = Date.now();
  const server = await startChild(`datong-${db}`, path.join(root, 'bench/server-process.mjs'), childEnv);
  result.startSeconds = (Date.now() - t0) / 1000;
  try {
    result.info = await server.rpc('info');
    log(`${db}: ${result.info.version.split(',')[0]} on ${server.info.url} (pid ${server.pid})`);
    await createTagRule(server);
    if (PROFILE) {
      await server.rpc('profileStart');
      result.ingest.push(await ingestRun(server, db, 0));
      result.profiles = { ingest: await server.rpc('profileStop', { file: path.join(profDir, 'ingest.cpuprofile') }) };
      result.sqlTiming = { ingest: await server.rpc('sqlTiming', { reset: true }) };
      const n = Math.min(cfg.customers, 100_000);
      await server.rpc('seedCustomers', { n, perStatement: cfg.customersPerStatement }, 3_600_000);
      await server.rpc('sqlTiming', { reset: true });
      await server.rpc('profileStart');
      result.lookups.push(await lookupRun(server, db, 0, n));
      result.profiles.lookups = await server.rpc('profileStop', { file: path.join(profDir, 'lookups.cpuprofile') });
      result.sqlTiming.lookups = await server.rpc('sqlTiming', { reset: true });
      return result;
    }
    // Warm-up: the first tens of thousands of events through a fresh server cost ~25% more CPU
    // per event (JIT, heap sizing, empty caches; bench/diagnose.mjs, run 0 against the next).
    // The bare Fastify and lookup baselines get theirs too.
    result.ingestWarmup = await ingestRun(server, db, 9, true);
    // Each ingest repeat right after its raw INSERT baseline: their ratio compares two
    // measurements seconds apart, on the machine as it was then.
    for (let r = 0; r < cfg.ingestRepeats; r++) {
      const raw = await server.rpc('rawInsert', { count: cfg.ingestEvents, runNo: r, tag: `${db[0]}r${r}`, table: 'bench_raw_events', rowsPerInsert: cfg.rawRowsPerInsert });
      const rate = (x) => x.rows / (x.ms / 1000);
      const res = { rows: raw.unnest.rows, valuesRowsPerSecond: rate(raw.values), unnestRowsPerSecond: rate(raw.unnest) };
      res.rowsPerSecond = Math.max(res.valuesRowsPerSecond, res.unnestRowsPerSecond);
      log(`${db} raw INSERT #${r + 1}: ${num(res.unnestRowsPerSecond)} rows/s (unnest), ${num(res.valuesRowsPerSecond)} rows/s (VALUES)`);
      result.rawInsert.push(res);
      result.ingest.push(await ingestRun(server, db, r));
    }
    for (let r = 0; r < cfg.repeats; r++) result.latency.push(await latencyRun(server, db, r));
    log(`${db}: loading ${num(cfg.customers, 0)} customers (${num(cfg.customersPerStatement, 0)} rows a statement)`);
    const cpu0 = cpuSnapshot(server.pid);
    const load = await server.rpc('seedCustomers', { n: cfg.customers, perStatement: cfg.customersPerStatement }, 3_600_000);
    result.load = { customers: load.n, seconds: load.loadMs / 1000, vacuumAnalyzeSeconds: load.vacuumAnalyzeMs / 1000, rowsPerSecond: (2 * load.n) / (load.loadMs / 1000), cpu: cpuDelta(cpu0, cpuSnapshot(server.pid)) };
    log(`${db}: loaded in ${num(result.load.seconds)} s (${num(result.load.rowsPerSecond)} rows/s into customers + customer_identities)`);
    for (let r = 0; r < cfg.repeats; r++) result.lookups.push(await lookupRun(server, db, r, cfg.customers));
    result.infoAfter = await server.rpc('info');
  } finally {
    await server.stop();
    result.serverLog = server.logSummary();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (profDir) result.profileDir = profDir;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

function buildReport(out) {
  const byDb = Object.fromEntries(out.databases.map((d) => [d.db, d]));
  const bare = summary(out.bareFastify.map((x) => x.eventsPerSecond));
  const col = (db, f) => (byDb[db] ? f(byDb[db]) : null);
  const dbs = cfg.dbs;
  const head = `| measurement | ${dbs.map((d) => (d === 'pglite' ? 'PGlite' : 'PostgreSQL 15')).join(' | ')} |`;
  const sep = `|---|${dbs.map(() => '---:').join('|')}|`;
  const rows = [];
  const row = (label, f) => rows.push(`| ${label} | ${dbs.map((db) => f(db) ?? '—').join(' | ')} |`);
  const pick = {};
  for (const db of dbs) {
    const d = byDb[db];
    if (!d) continue;
    pick[db] = {
      processed: summary(d.ingest.map((x) => x.processedRate)),
      accepted: summary(d.ingest.map((x) => x.acceptRate)),
      raw: summary(d.rawInsert.map((x) => x.rowsPerSecond)),
      p50: summary(d.latency.map((x) => x.p50Ms)),
      p99: summary(d.latency.map((x) => x.p99Ms)),
      sendP99: summary(d.latency.map((x) => x.sendToProcessedMs.p99)),
      httpP99: summary(d.latency.map((x) => x.httpLatencyMs?.p99 ?? null)),
      rawValues: summary(d.rawInsert.map((x) => x.valuesRowsPerSecond)),
      rawUnnest: summary(d.rawInsert.map((x) => x.unnestRowsPerSecond)),
      latProcessed: summary(d.latency.map((x) => x.processedRate)),
      latAccepted: summary(d.latency.map((x) => x.achievedAcceptRate)),
      keptUp: d.latency.length ? d.latency.filter((x) => x.keptUp).length : null,
      lookups: summary(d.lookups.map((x) => x.rate)),
      lookupP99: summary(d.lookups.map((x) => x.latencyMs.p99)),
      ingestP99: summary(d.ingest.map((x) => x.acceptToProcessedMs.p99)),
    };
    pick[db].rawRatio = summary(d.ingest.map((x, i) => (d.rawInsert[i] ? x.processedRate / d.rawInsert[i].rowsPerSecond : null)));
    // The bare route runs in its own phase: each ingest repeat against its median.
    pick[db].bareRatio = summary(d.ingest.map((x) => (bare.median ? x.acceptRate / bare.median : null)));
  }
  const P = (db, k, digits) => (pick[db] ? spread(pick[db][k], digits) : null);
  row(`**Ingest, fully processed** (events/s; ${num(cfg.ingestEvents, 0)} events, ${cfg.concurrency} clients × ${cfg.batchSize}/batch)`, (db) => P(db, 'processed'));
  row('Ingest, accepted (HTTP 200, events/s)', (db) => P(db, 'accepted'));
  row(`… warm-up before the repeats, not counted (${num(cfg.warmupEvents, 0)} events; processed events/s)`, (db) => (byDb[db]?.ingestWarmup ? num(byDb[db].ingestWarmup.processedRate) : null));
  row(`Baseline: raw INSERT, ${cfg.rawRowsPerInsert} rows/statement, unnest (rows/s)`, (db) => P(db, 'rawUnnest'));
  row(`… same, VALUES lists (rows/s)`, (db) => P(db, 'rawValues'));
  row('**Ratio processed ÷ raw INSERT** (the faster spelling)', (db) => P(db, 'rawRatio', 3));
  row('Baseline: bare Fastify 202, same batches (events/s)', () => spread(bare));
  row('**Ratio accepted ÷ bare Fastify**', (db) => P(db, 'bareRatio', 3));
  row('Accept→processed p99 during the throughput run (ms)', (db) => P(db, 'ingestP99', 0));
  row(`**Latency at ${num(cfg.latencyEventsPerSecond, 0)} ev/s offered** (${cfg.latencySeconds} s): p50 accept→processed (ms)`, (db) => P(db, 'p50', 0));
  row('… p99 accept→processed (ms)', (db) => P(db, 'p99', 0));
  row('… p99 scheduled send→processed (ms; includes queueing before the accept)', (db) => P(db, 'sendP99', 0));
  row('… p99 HTTP response time (ms, client side; with inline ingest the 200 comes after the commit)', (db) => P(db, 'httpP99', 0));
  row('… achieved accept rate (events/s)', (db) => P(db, 'latAccepted', 0));
  row('… processed rate (events/s)', (db) => P(db, 'latProcessed', 0));
  row('… kept up (runs)', (db) => (pick[db]?.keptUp === null || !pick[db] ? null : `${pick[db].keptUp}/${byDb[db].latency.length}`));
  row(`Load ${num(cfg.customers, 0)} customers + phone identities (s)`, (db) => col(db, (d) => (d.load ? `${num(d.load.seconds)} (${num(d.load.rowsPerSecond, 0)} rows/s) + ${num(d.load.vacuumAnalyzeSeconds)} VACUUM ANALYZE` : null)));
  row(`**Identity lookups by phone** (${cfg.lookupConcurrency} clients, ${cfg.lookupSeconds} s; lookups/s)`, (db) => P(db, 'lookups'));
  row('… lookup p99 (ms, client side)', (db) => P(db, 'lookupP99', 1));
  const table = [head, sep, ...rows].join('\n');

  const verdicts = [];
  const v = (label, value, ok) => verdicts.push({ label, value, ok });
  if (pick.postgres) {
    v(`PostgreSQL ≥ ${num(TARGETS.pgProcessed, 0)} events/s fully processed`, `${num(pick.postgres.processed.median, 0)} events/s`, pick.postgres.processed.median >= TARGETS.pgProcessed);
    v(`PostgreSQL ≥ ${TARGETS.pgRawRatio} of raw INSERT`, num(pick.postgres.rawRatio.median, 3), pick.postgres.rawRatio.median >= TARGETS.pgRawRatio);
    // The larger of the database's accept→processed p99 and the client's HTTP p99 (inline ingest answers after the commit).
    const p99 = Math.max(pick.postgres.p99.median ?? 0, pick.postgres.httpP99.median ?? 0);
    v('PostgreSQL p99 accept→processed < 1 s at 2,000 events/s', `${num(p99, 0)} ms, kept up ${pick.postgres.keptUp}/${byDb.postgres.latency.length}`, p99 < TARGETS.latencyP99Ms && pick.postgres.keptUp === byDb.postgres.latency.length);
  }
  if (pick.pglite) {
    v(`PGlite ≥ ${num(TARGETS.pgliteProcessed, 0)} events/s fully processed`, `${num(pick.pglite.processed.median, 0)} events/s`, pick.pglite.processed.median >= TARGETS.pgliteProcessed);
    const p99 = Math.max(pick.pglite.p99.median ?? 0, pick.pglite.httpP99.median ?? 0);
    v('PGlite p99 accept→processed < 1 s at 2,000 events/s (same target, for reference)', `${num(p99, 0)} ms, kept up ${pick.pglite.keptUp}/${byDb.pglite.latency.length}`, p99 < TARGETS.latencyP99Ms && pick.pglite.keptUp === byDb.pglite.latency.length);
  }
  const vt = ['| target | measured (median) | met? |', '|---|---:|:---:|', ...verdicts.map((x) => `| ${x.label} | ${x.value} | ${x.ok ? 'yes' : '**no**'} |`)].join('\n');
  return { table, verdictTable: vt, verdicts, medians: pick, bare };
}

function cpuTable(out) {
  const lines = ['| run | server (Node) | PostgreSQL processes | load generator |', '|---|---:|---:|---:|'];
  for (const d of out.databases) {
    const c = d.ingest[0]?.cpuWholeRun;
    const a = d.ingest[0]?.cpuWhileAccepting;
    if (a) lines.push(`| ${d.db} ingest #1, while accepting | ${a.serverPct}% | ${a.postgresPct}% | ${a.loadgenPct}% |`);
    if (c) lines.push(`| ${d.db} ingest #1, first send → all processed | ${c.serverPct}% | ${c.postgresPct}% | ${c.loadgenPct}% |`);
    const l = d.latency[0]?.cpu;
    if (l) lines.push(`| ${d.db} latency #1 (2,000 ev/s) | ${l.serverPct}% | ${l.postgresPct}% | ${l.loadgenPct}% |`);
    const k = d.lookups[0]?.cpu;
    if (k) lines.push(`| ${d.db} lookups #1 | ${k.serverPct}% | ${k.postgresPct}% | ${k.loadgenPct}% |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
let serverEntry = null;

async function main() {
  const started = Date.now();
  log(`config: ${JSON.stringify(cfg)}`);
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('npm run build');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  }
  // Run the code built now, even if the workspace is rebuilt while the benchmark runs.
  const snapshotDir = path.join(root, 'bench/results', `.build-${stamp}`);
  serverEntry = snapshotBuild(snapshotDir);
  const out = {
    startedAt: new Date(started).toISOString(),
    config: cfg,
    targets: TARGETS,
    machine: {
      nproc: os.availableParallelism?.() ?? os.cpus().length,
      cpu: os.cpus()[0]?.model,
      ramGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      pglite: JSON.parse(readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version,
      fastify: JSON.parse(readFileSync(path.join(root, 'node_modules/fastify/package.json'), 'utf8')).version,
    },
    source: sourceFingerprint(),
    dist: sourceFingerprint('dist', /\.(js|sql)$/, snapshotDir),
    loadAverageAtStart: os.loadavg(),
    mix: describeMix(generateMessages({ count: cfg.ingestEvents, runNo: 0, tag: 'mix' })),
    bareFastify: [],
    databases: [],
  };
  let pgUrl = null;
  if (cfg.dbs.includes('postgres')) {
    pgUrl = startPostgres();
  }
  if (!PROFILE) out.bareFastify = await bareFastifyRuns();
  for (const db of cfg.dbs) out.databases.push(await runDatabase(db, pgUrl));
  out.finishedAt = new Date().toISOString();
  out.loadAverageAtEnd = os.loadavg();
  out.durationSeconds = (Date.now() - started) / 1000;
  const pgRes = out.databases.find((d) => d.db === 'postgres');
  if (pgRes?.info) out.machine.postgres = pgRes.info.version.split(',')[0];
  const pgliteRes = out.databases.find((d) => d.db === 'pglite');
  if (pgliteRes?.info) out.machine.pgliteServer = pgliteRes.info.version.split(',')[0];

  const resultsDir = path.join(root, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  if (PROFILE) {
    const lines = [];
    for (const d of out.databases) {
      d.cpuProfiles = {};
      for (const [phase, file] of Object.entries(d.profiles ?? {})) d.cpuProfiles[phase] = summarizeProfile(file);
      const ing = d.ingest[0];
      lines.push(`\n## ${d.db}: ingest ${num(ing.processedRate)} ev/s processed, ${num(ing.acceptRate)} ev/s accepted; lookups ${num(d.lookups[0]?.rate)} /s (profiled: slower than unprofiled)`);
      lines.push(`CPU, ingest first send → processed: ${JSON.stringify(ing.cpuWholeRun)}; lookups: ${JSON.stringify(d.lookups[0]?.cpu)}`);
      for (const [phase, p] of Object.entries(d.cpuProfiles)) {
        lines.push(`\nCPU profile of the server child, ${phase} (${num(p.busySeconds)} s busy of ${num(p.totalSeconds)} s), self time by area:`);
        for (const a of p.byArea.slice(0, 14)) lines.push(`  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
        lines.push('Top functions (self time):');
        for (const f of p.topFunctions.slice(0, 20)) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
      }
      for (const [phase, rows] of Object.entries(d.sqlTiming ?? {})) {
        lines.push(`\nSQL statements during ${phase} (time summed over the run, top 22):`);
        for (const x of rows.slice(0, 22)) lines.push(`  ${num(x.ms / 1000, 2).padStart(7)} s  ${String(x.calls).padStart(6)} calls  avg ${num(x.ms / x.calls, 2)} ms  max ${num(x.maxMs, 1)} ms  ${x.sql}`);
      }
    }
    const file = path.join(resultsDir, `profile-${stamp}.json`);
    writeFileSync(file, JSON.stringify(out, (k, v) => (k === 'latencies' ? undefined : v), 2));
    console.log(lines.join('\n'));
    log(`wrote ${path.relative(root, file)} (CPU profiles in bench/results/profile-${stamp}-<db>/, open them in Chrome DevTools)`);
    return;
  }
  const report = buildReport(out);
  out.report = { verdicts: report.verdicts, medians: report.medians };
  const file = path.join(resultsDir, `${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, (k, v) => (k === 'latencies' ? undefined : v), 2));
  console.log(`\n## Datong benchmark — ${out.startedAt} (${cfg.quick ? 'QUICK smoke run' : 'full run'}, ${cfg.ingestRepeats} throughput and ${cfg.repeats} other repeat(s); median (min–max))\n`);
  console.log(`Machine: ${out.machine.nproc} cores (${out.machine.cpu}), ${out.machine.ramGiB} GiB, Node ${out.machine.node}, ${out.machine.postgres ?? ''}, PGlite ${out.machine.pglite} (${out.machine.pgliteServer ?? ''})\n`);
  console.log(`Source: packages/*/src fingerprint ${out.source.sha256} (${out.source.files} files, newest change ${out.source.newestChange}); build ${out.dist.sha256} (run from a snapshot); load average ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')} at start\n`);
  console.log(`Mix: ${JSON.stringify(out.mix)}\n`);
  console.log(report.table);
  console.log(`\n${report.verdictTable}\n`);
  console.log(`CPU use of the two cores (100% = one core busy):\n\n${cpuTable(out)}\n`);
  log(`wrote ${path.relative(root, file)} in ${num(out.durationSeconds, 0)} s`);
}

try {
  await main();
} catch (e) {
  console.error(e?.stack ?? e);
  process.exitCode = 1;
} finally {
  await cleanup();
  if (serverEntry) rmSync(path.resolve(serverEntry, '../../../..'), { recursive: true, force: true });
}
