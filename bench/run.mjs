// `npm run bench`: Datong's ingest, latency and lookup benchmark on PGlite and PostgreSQL, with
// in-run baselines (raw multi-row INSERT on the same database, a bare Fastify route).
// Method and results: docs/benchmarks.md. Options (environment):
//   BENCH_QUICK=1          smoke run (~2 min): small sizes, one repeat
//   BENCH_CUSTOMERS=N      customers loaded for the lookup test (default 1,000,000; quick 20,000)
//   BENCH_EVENTS=N         events per ingest run (default 60,000; quick 5,000)
//   BENCH_REPEATS=N        repeats of each measurement (default 3; quick 1)
//   BENCH_DBS=pglite,postgres   which databases
//   BENCH_SKIP_BUILD=1     do not run `npm run build` first
//   BENCH_PROFILE=1        diagnosis run instead: one ingest run per database with the server
//                          child under --cpu-prof and every SQL statement timed
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { getLoop, request, sendAll, sendPaced } from './load.mjs';
import { num, percentile, spread, summary } from './stats.mjs';
import { describeMix, generateMessages, LOOKUP_PHONE_PREFIX, toBatches } from './workload.mjs';
import { summarizeProfile } from './profile-summary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const PROFILE = env.BENCH_PROFILE === '1';
const int = (v, d) => (v !== undefined && v !== '' ? Number.parseInt(v, 10) : d);

const cfg = {
  quick: QUICK,
  profile: PROFILE,
  repeats: PROFILE ? 1 : int(env.BENCH_REPEATS, QUICK ? 1 : 3),
  batchSize: 100,
  concurrency: 20,
  ingestEvents: int(env.BENCH_EVENTS, QUICK ? 5_000 : 60_000),
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

const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------------------------------------
// Child processes and the throwaway PostgreSQL: every one is stopped by PID (or data dir) at exit.

const children = new Set();
let pgDir = null;
let cleanedUp = false;

function stopPostgres() {
  if (!pgDir) return;
  const dir = pgDir;
  pgDir = null;
  spawnSync('bash', [path.join(root, 'scripts/pg.sh'), 'stop', dir], { stdio: 'inherit' });
}

async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const c of [...children]) await c.stop();
  stopPostgres();
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping children and PostgreSQL`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Forks `file` with an IPC channel, waits for its first JSON line on stdout. */
async function startChild(name, file, childEnv, execArgv = []) {
  const proc = fork(file, [], { env: childEnv, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: root });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const pending = new Map();
  let nextId = 1;
  proc.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${name}: ${m.error}`));
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(({ code, signal }) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal}). stderr:\n${stderr.slice(-3000)}`));
    pending.clear();
  });
  const child = {
    name,
    pid: proc.pid,
    proc,
    info: null,
    stderr: () => stderr,
    rpc(cmd, args, timeoutMs = 600_000) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const t = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: ${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(t);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
        proc.send({ id, cmd, args });
      });
    },
    async stop() {
      if (!children.has(child)) return;
      children.delete(child);
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(proc.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 60_000))]);
        if (done === null) {
          log(`${name} (pid ${proc.pid}) did not stop in 60 s: SIGKILL`);
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        }
      }
    },
  };
  children.add(child);
  child.info = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 180 s. stderr:\n${stderr.slice(-3000)}`)), 180_000);
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0 && child.info === null) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (e) {
          reject(new Error(`${name} printed ${out.slice(0, 300)}: ${e}`));
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting. stderr:\n${stderr.slice(-3000)}`));
    });
  });
  return child;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: where the machine's two cores went during a measurement.

const TICK = 100; // USER_HZ on Linux
function procCpuMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
  } catch {
    return 0;
  }
}
function postgresPids() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim().startsWith('postgres')) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
function cpuSnapshot(serverPid) {
  const pg = postgresPids().reduce((a, p) => a + procCpuMs(p), 0);
  const me = process.cpuUsage();
  return { at: Date.now(), server: procCpuMs(serverPid), postgres: pg, loadgen: (me.user + me.system) / 1000 };
}
function cpuDelta(a, b) {
  const wall = b.at - a.at;
  const pct = (x) => Math.round((x / wall) * 100);
  // Postgres backends that exited between snapshots are not counted (ours live for the run).
  return { wallMs: wall, serverPct: pct(b.server - a.server), postgresPct: pct(Math.max(0, b.postgres - a.postgres)), loadgenPct: pct(b.loadgen - a.loadgen) };
}

// ---------------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the workers have finished `expected` more messages than `base` (in-process counter). */
async function waitProcessed(server, base, expected, label) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const p = await server.rpc('progress');
    const done = p.done - base;
    if (done >= expected) return p.now;
    if (done !== last) {
      last = done;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 90_000) {
      throw new Error(`${label}: processing stalled at ${done}/${expected} for 90 s. server stderr:\n${server.stderr().slice(-3000)}`);
    }
    await sleep(50);
  }
}

async function createTagRule(server) {
  const r = await request(undefined, server.info.url, 'POST', '/v1/tag-rules', { authorization: `Bearer ${server.info.adminKey}` }, Buffer.from(
    JSON.stringify({ name: 'Spent 1,000 CNY', tag: 'vip', condition: { type: 'total_spend', currency: 'CNY', op: 'gte', value: '1000' } }),
  ));
  if (r.status !== 200 && r.status !== 201) throw new Error(`creating the tag rule: ${r.status} ${r.body}`);
}

function latencyStats(ms) {
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.length ? Math.max(...ms) : null };
}

async function ingestRun(server, db, r) {
  const tag = `${db[0]}i${r}`;
  const messages = generateMessages({ count: cfg.ingestEvents, runNo: r, tag });
  const bodies = toBatches(messages, cfg.batchSize);
  const src = await server.rpc('newSource', { name: `bench ingest ${r}` });
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
  log(`${db} ingest #${r + 1}: ${num(res.processedRate)} ev/s processed, ${num(res.acceptRate)} ev/s accepted, ${st.merges} merges, cpu server ${res.cpuWholeRun.serverPct}% pg ${res.cpuWholeRun.postgresPct}% loadgen ${res.cpuWholeRun.loadgenPct}%`);
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
  const sent = await sendPaced({ base: server.info.url, path: '/v1/batch', headers: basicAuth(src.writeKey), bodies, perSecond: cfg.latencyEventsPerSecond / cfg.batchSize });
  if (sent.errorCount > 0) throw new Error(`latency ${db}#${r}: ${sent.errorCount} failed requests, e.g. ${sent.errors.join(' | ')}`);
  await waitProcessed(server, base, sent.accepted, `latency ${db}#${r}`);
  const cpu1 = cpuSnapshot(server.pid);
  const st = await server.rpc('runStats', { sourceId: src.sourceId });
  const acceptWindowS = (st.last_received_ms - st.first_received_ms) / 1000;
  const res = {
    events: count,
    offeredRate: cfg.latencyEventsPerSecond,
    achievedAcceptRate: count / (sent.sendWindowMs / 1000),
    processedRate: st.processed / ((st.last_processed_ms - st.first_received_ms) / 1000),
    acceptWindowSeconds: acceptWindowS,
    drainAfterLastAcceptMs: st.last_processed_ms - st.last_received_ms,
    lateSends: sent.late,
    p50Ms: st.p50_ms,
    p99Ms: st.p99_ms,
    maxMs: st.max_ms,
    httpLatencyMs: latencyStats(sent.latencies),
    quarantined: st.quarantined,
    cpu: cpuDelta(cpu0, cpu1),
  };
  // Kept up = the sender was never held back and the backlog after the last send cleared within 1 s.
  res.keptUp = sent.late === 0 && res.drainAfterLastAcceptMs < 1_000;
  log(`${db} latency #${r + 1}: p50 ${num(res.p50Ms)} ms, p99 ${num(res.p99Ms)} ms, processed ${num(res.processedRate)} ev/s, kept up: ${res.keptUp}`);
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

function basicAuth(writeKey) {
  return { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
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
  const childEnv = {
    ...env,
    NODE_ENV: 'production',
    DATONG_DATA_DIR: dataDir,
    DATONG_MASTER_KEY: randomBytes(32).toString('base64'),
    DATONG_ADMIN_KEY: `dtk_bench_${randomBytes(12).toString('hex')}`,
    DATONG_LOG_LEVEL: 'warn',
  };
  delete childEnv.DATABASE_URL;
  if (db === 'postgres') {
    const name = `datong_bench_${Date.now()}`;
    await createDatabase(pgUrl, name);
    childEnv.DATABASE_URL = pgUrl.replace(/\/[^/]*$/, `/${name}`);
  }
  const execArgv = [];
  let profDir = null;
  if (PROFILE) {
    profDir = path.join(root, 'bench/results', `profile-${stamp}-${db}`);
    mkdirSync(profDir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
    childEnv.BENCH_SQL_TIMING = '1';
  }
  const result = { db, rawInsert: [], ingest: [], latency: [], load: null, lookups: [] };
  log(`${db}: starting the Datong server child`);
  const t0 = Date.now();
  const server = await startChild(`datong-${db}`, path.join(root, 'bench/server-process.mjs'), childEnv, execArgv);
  result.startSeconds = (Date.now() - t0) / 1000;
  try {
    result.info = await server.rpc('info');
    log(`${db}: ${result.info.version.split(',')[0]} on ${server.info.url} (pid ${server.pid})`);
    await createTagRule(server);
    if (PROFILE) {
      result.ingest.push(await ingestRun(server, db, 0));
      result.sqlTiming = await server.rpc('sqlTiming');
      return result;
    }
    for (let r = 0; r < cfg.repeats; r++) {
      const raw = await server.rpc('rawInsert', { count: cfg.ingestEvents, runNo: r, tag: `${db[0]}r${r}`, table: 'bench_raw_events', rowsPerInsert: cfg.rawRowsPerInsert });
      const res = { rows: raw.rows, seconds: raw.ms / 1000, rowsPerSecond: raw.rows / (raw.ms / 1000) };
      log(`${db} raw INSERT #${r + 1}: ${num(res.rowsPerSecond)} rows/s`);
      result.rawInsert.push(res);
    }
    for (let r = 0; r < cfg.repeats; r++) result.ingest.push(await ingestRun(server, db, r));
    for (let r = 0; r < cfg.repeats; r++) result.latency.push(await latencyRun(server, db, r));
    log(`${db}: loading ${num(cfg.customers, 0)} customers (${num(cfg.customersPerStatement, 0)} rows a statement)`);
    const cpu0 = cpuSnapshot(server.pid);
    const load = await server.rpc('seedCustomers', { n: cfg.customers, perStatement: cfg.customersPerStatement }, 3_600_000);
    result.load = { customers: load.n, seconds: load.loadMs / 1000, analyzeSeconds: load.analyzeMs / 1000, rowsPerSecond: (2 * load.n) / (load.loadMs / 1000), cpu: cpuDelta(cpu0, cpuSnapshot(server.pid)) };
    log(`${db}: loaded in ${num(result.load.seconds)} s (${num(result.load.rowsPerSecond)} rows/s into customers + customer_identities)`);
    for (let r = 0; r < cfg.repeats; r++) result.lookups.push(await lookupRun(server, db, r, cfg.customers));
    result.infoAfter = await server.rpc('info');
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (profDir) result.profileDir = profDir;
  return result;
}

async function createDatabase(url, name) {
  const require = createRequire(path.join(root, 'packages/server/package.json'));
  const pg = require('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
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
      latProcessed: summary(d.latency.map((x) => x.processedRate)),
      latAccepted: summary(d.latency.map((x) => x.achievedAcceptRate)),
      keptUp: d.latency.length ? d.latency.filter((x) => x.keptUp).length : null,
      lookups: summary(d.lookups.map((x) => x.rate)),
      lookupP99: summary(d.lookups.map((x) => x.latencyMs.p99)),
      ingestP99: summary(d.ingest.map((x) => x.acceptToProcessedMs.p99)),
    };
    pick[db].rawRatio = summary(d.ingest.map((x, i) => (d.rawInsert[i] ? x.processedRate / d.rawInsert[i].rowsPerSecond : null)));
    pick[db].bareRatio = summary(d.ingest.map((x, i) => (out.bareFastify[i] ? x.acceptRate / out.bareFastify[i].eventsPerSecond : null)));
  }
  const P = (db, k, digits) => (pick[db] ? spread(pick[db][k], digits) : null);
  row(`**Ingest, fully processed** (events/s; ${num(cfg.ingestEvents, 0)} events, ${cfg.concurrency} clients × ${cfg.batchSize}/batch)`, (db) => P(db, 'processed'));
  row('Ingest, accepted (HTTP 200, events/s)', (db) => P(db, 'accepted'));
  row(`Baseline: raw INSERT, ${cfg.rawRowsPerInsert} rows/statement (rows/s)`, (db) => P(db, 'raw'));
  row('**Ratio processed ÷ raw INSERT**', (db) => P(db, 'rawRatio', 3));
  row('Baseline: bare Fastify 202, same batches (events/s)', () => spread(bare));
  row('**Ratio accepted ÷ bare Fastify**', (db) => P(db, 'bareRatio', 3));
  row('Accept→processed p99 during the throughput run (ms)', (db) => P(db, 'ingestP99', 0));
  row(`**Latency at ${num(cfg.latencyEventsPerSecond, 0)} ev/s offered** (${cfg.latencySeconds} s): p50 accept→processed (ms)`, (db) => P(db, 'p50', 0));
  row('… p99 accept→processed (ms)', (db) => P(db, 'p99', 0));
  row('… achieved accept rate (events/s)', (db) => P(db, 'latAccepted', 0));
  row('… processed rate (events/s)', (db) => P(db, 'latProcessed', 0));
  row('… kept up (runs)', (db) => (pick[db]?.keptUp === null || !pick[db] ? null : `${pick[db].keptUp}/${byDb[db].latency.length}`));
  row(`Load ${num(cfg.customers, 0)} customers + phone identities (s)`, (db) => col(db, (d) => (d.load ? `${num(d.load.seconds)} (${num(d.load.rowsPerSecond, 0)} rows/s)` : null)));
  row(`**Identity lookups by phone** (${cfg.lookupConcurrency} clients, ${cfg.lookupSeconds} s; lookups/s)`, (db) => P(db, 'lookups'));
  row('… lookup p99 (ms, client side)', (db) => P(db, 'lookupP99', 1));
  const table = [head, sep, ...rows].join('\n');

  const verdicts = [];
  const v = (label, value, ok) => verdicts.push({ label, value, ok });
  if (pick.postgres) {
    v(`PostgreSQL ≥ ${num(TARGETS.pgProcessed, 0)} events/s fully processed`, `${num(pick.postgres.processed.median, 0)} events/s`, pick.postgres.processed.median >= TARGETS.pgProcessed);
    v(`PostgreSQL ≥ ${TARGETS.pgRawRatio} of raw INSERT`, num(pick.postgres.rawRatio.median, 3), pick.postgres.rawRatio.median >= TARGETS.pgRawRatio);
    v('PostgreSQL p99 accept→processed < 1 s at 2,000 events/s', `${num(pick.postgres.p99.median, 0)} ms, kept up ${pick.postgres.keptUp}/${byDb.postgres.latency.length}`, pick.postgres.p99.median < TARGETS.latencyP99Ms && pick.postgres.keptUp === byDb.postgres.latency.length);
  }
  if (pick.pglite) {
    v(`PGlite ≥ ${num(TARGETS.pgliteProcessed, 0)} events/s fully processed`, `${num(pick.pglite.processed.median, 0)} events/s`, pick.pglite.processed.median >= TARGETS.pgliteProcessed);
    v('PGlite p99 accept→processed < 1 s at 2,000 events/s (same target, for reference)', `${num(pick.pglite.p99.median, 0)} ms, kept up ${pick.pglite.keptUp}/${byDb.pglite.latency.length}`, pick.pglite.p99.median < TARGETS.latencyP99Ms && pick.pglite.keptUp === byDb.pglite.latency.length);
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

async function main() {
  const started = Date.now();
  log(`config: ${JSON.stringify(cfg)}`);
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('npm run build');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  }
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
    mix: describeMix(generateMessages({ count: cfg.ingestEvents, runNo: 0, tag: 'mix' })),
    bareFastify: [],
    databases: [],
  };
  let pgUrl = null;
  if (cfg.dbs.includes('postgres')) {
    execFileSync('bash', [path.join(root, 'scripts/pg.sh'), 'ensure'], { stdio: 'inherit' });
    pgDir = mkdtempSync(path.join(os.tmpdir(), 'datong-bench-pg.'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    pgUrl = execFileSync('bash', [path.join(root, 'scripts/pg.sh'), 'start', pgDir, String(port)], { encoding: 'utf8' }).trim().split('\n').pop();
    log(`PostgreSQL at ${pgUrl} (data ${pgDir})`);
  }
  if (!PROFILE) out.bareFastify = await bareFastifyRuns();
  for (const db of cfg.dbs) out.databases.push(await runDatabase(db, pgUrl));
  out.finishedAt = new Date().toISOString();
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
      const files = d.profileDir && existsSync(d.profileDir) ? readdirSync(d.profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
      d.cpuProfile = files.length ? summarizeProfile(path.join(d.profileDir, files[0])) : null;
      lines.push(`\n## ${d.db}: ingest ${num(d.ingest[0].processedRate)} ev/s processed, ${num(d.ingest[0].acceptRate)} ev/s accepted (profiled, slower than unprofiled)`);
      lines.push(`CPU (first send → processed): ${JSON.stringify(d.ingest[0].cpuWholeRun)}`);
      if (d.cpuProfile) {
        lines.push(`\nCPU profile of the server child (${d.cpuProfile.file}), self time by area:`);
        for (const a of d.cpuProfile.byArea.slice(0, 12)) lines.push(`  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
        lines.push('Top functions (self time):');
        for (const f of d.cpuProfile.topFunctions.slice(0, 25)) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
      }
      lines.push('\nSQL statements (time summed over the run, top 20):');
      for (const s of d.sqlTiming.slice(0, 20)) lines.push(`  ${num(s.ms / 1000, 2).padStart(7)} s  ${String(s.calls).padStart(6)} calls  avg ${num(s.ms / s.calls, 2)} ms  ${s.sql}`);
    }
    const file = path.join(resultsDir, `profile-${stamp}.json`);
    writeFileSync(file, JSON.stringify(out, null, 2));
    console.log(lines.join('\n'));
    log(`wrote ${path.relative(root, file)}`);
    return;
  }
  const report = buildReport(out);
  out.report = { verdicts: report.verdicts, medians: report.medians };
  const file = path.join(resultsDir, `${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, (k, v) => (k === 'latencies' ? undefined : v), 2));
  console.log(`\n## Datong benchmark — ${out.startedAt} (${cfg.quick ? 'QUICK smoke run' : 'full run'}, ${cfg.repeats} repeat(s); median (min–max))\n`);
  console.log(`Machine: ${out.machine.nproc} cores (${out.machine.cpu}), ${out.machine.ramGiB} GiB, Node ${out.machine.node}, ${out.machine.postgres ?? ''}, PGlite ${out.machine.pglite} (${out.machine.pgliteServer ?? ''})\n`);
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
}
