// Shared by the benchmark (run.mjs) and the diagnosis script (diagnose.mjs): child processes
// stopped by PID, the throwaway PostgreSQL cluster stopped by data dir, CPU accounting from
// /proc, and small helpers to drive a Datong server child.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './load.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------------------------------------
// Child processes and the throwaway PostgreSQL: every one is stopped by PID (or data dir) at exit.

const children = new Set();
let pgDir = null;
let postmasterPid = null;
let cleanedUp = false;

function stopPostgres() {
  if (!pgDir) return;
  const dir = pgDir;
  pgDir = null;
  spawnSync('bash', [path.join(root, 'scripts/pg.sh'), 'stop', dir], { stdio: 'inherit' });
}

export async function cleanup() {
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

/**
 * Node flags of a Datong server, as `npm start` and the `datong` bin give them (scripts/start.mjs,
 * packages/cli/bin/datong.js; docs/decisions.md): a larger young generation.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];

/** Forks `file` with an IPC channel, waits for its first JSON line on stdout. Datong servers get SERVER_NODE_FLAGS. */
export async function startChild(name, file, childEnv, execArgv = file.endsWith('server-process.mjs') ? SERVER_NODE_FLAGS : []) {
  const proc = fork(file, [], { env: childEnv, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: root });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  // The server's own log lines (pino JSON on stdout after the first line): warnings and errors are
  // counted by their `event`, so a run that hid failures (e.g. failing maintenance) says so.
  const logSummary = { warn: 0, error: 0, events: {}, last: null };
  let logBuf = '';
  const onLogLine = (line) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof rec.level !== 'number' || rec.level < 40) return;
    if (rec.level >= 50) logSummary.error++;
    else logSummary.warn++;
    const key = `${rec.level >= 50 ? 'error' : 'warn'} ${rec.event ?? '(no event)'}: ${String(rec.err?.message ?? rec.msg ?? '').slice(0, 160)}`;
    logSummary.events[key] = (logSummary.events[key] ?? 0) + 1;
    logSummary.last = key;
  };
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
    logSummary: () => logSummary,
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
      if (logSummary.warn + logSummary.error > 0) log(`${name} logged ${logSummary.error} error(s), ${logSummary.warn} warning(s): ${JSON.stringify(logSummary.events)}`);
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
      let nl = out.indexOf('\n');
      // Log lines the server writes before its first line (pino records: numeric level and time) are logs.
      while (nl >= 0 && isLogRecord(out.slice(0, nl))) {
        onLogLine(out.slice(0, nl));
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
      }
      if (nl >= 0 && child.info === null) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (e) {
          reject(new Error(`${name} printed ${out.slice(0, 300)}: ${e}`));
        }
        logBuf = out.slice(nl + 1);
        proc.stdout.removeAllListeners('data');
        proc.stdout.on('data', (chunk) => {
          logBuf += chunk.toString();
          let i;
          while ((i = logBuf.indexOf('\n')) >= 0) {
            onLogLine(logBuf.slice(0, i));
            logBuf = logBuf.slice(i + 1);
          }
        });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting. stderr:\n${stderr.slice(-3000)}`));
    });
  });
  return child;
}

function isLogRecord(line) {
  try {
    const rec = JSON.parse(line);
    return typeof rec === 'object' && rec !== null && typeof rec.level === 'number' && 'time' in rec;
  } catch {
    return false;
  }
}

/** Installs (if needed) and starts a throwaway cluster on 127.0.0.1; returns its URL. */
export function startPostgres() {
  execFileSync('bash', [path.join(root, 'scripts/pg.sh'), 'ensure'], { stdio: 'inherit' });
  pgDir = mkdtempSync(path.join(os.tmpdir(), 'datong-bench-pg.'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = execFileSync('bash', [path.join(root, 'scripts/pg.sh'), 'start', pgDir, String(port)], { encoding: 'utf8' }).trim().split('\n').pop();
  postmasterPid = Number(readFileSync(path.join(pgDir, 'data/postmaster.pid'), 'utf8').split('\n')[0]);
  log(`PostgreSQL at ${url} (data ${pgDir}, postmaster pid ${postmasterPid})`);
  return url;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: where the machine's two cores went during a measurement.

const TICK = 100; // USER_HZ on Linux
/** utime + stime of a process; with `children`, also the CPU of its exited, reaped children. */
function procCpuMs(pid, children = false) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]);
    return ((children ? own + Number(f[13]) + Number(f[14]) : own) * 1000) / TICK;
  } catch {
    return 0;
  }
}
/** Our throwaway cluster only: the postmaster (with its reaped backends) and its live children. */
function postgresCpuMs() {
  if (postmasterPid === null) return 0;
  let ms = procCpuMs(postmasterPid, true);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === postmasterPid) ms += procCpuMs(Number(d));
    } catch {
      // gone
    }
  }
  return ms;
}
export function cpuSnapshot(serverPid) {
  const pg = postgresCpuMs();
  const me = process.cpuUsage();
  return { at: Date.now(), server: procCpuMs(serverPid), postgres: pg, loadgen: (me.user + me.system) / 1000 };
}
export function cpuDelta(a, b) {
  const wall = b.at - a.at;
  const pct = (x) => Math.round((x / wall) * 100);
  return { wallMs: wall, serverPct: pct(b.server - a.server), postgresPct: pct(Math.max(0, b.postgres - a.postgres)), loadgenPct: pct(b.loadgen - a.loadgen), serverMs: b.server - a.server, postgresMs: Math.max(0, b.postgres - a.postgres) };
}

// ---------------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the workers have finished `expected` more messages than `base` (in-process counter). */
export async function waitProcessed(server, base, expected, label) {
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

export async function createTagRule(server) {
  const r = await request(undefined, server.info.url, 'POST', '/v1/tag-rules', { authorization: `Bearer ${server.info.adminKey}` }, Buffer.from(
    JSON.stringify({ name: 'Spent 1,000 CNY', tag: 'vip', condition: { type: 'total_spend', currency: 'CNY', op: 'gte', value: '1000' } }),
  ));
  if (r.status !== 200 && r.status !== 201) throw new Error(`creating the tag rule: ${r.status} ${r.body}`);
}

export function basicAuth(writeKey) {
  return { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
}

export async function createDatabase(url, name) {
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

/** Environment for a Datong server child on a fresh database (PGlite folder or new PostgreSQL database). */
export async function serverEnv(db, pgUrl, dataDir) {
  const childEnv = {
    ...process.env,
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
  return childEnv;
}

/**
 * Which code was measured: a hash of every source file under packages/<name>/src (the tree is
 * edited while benchmarks run), and the newest modification time among them.
 */
export function sourceFingerprint(sub = 'src', ext = /\.(ts|sql|json)$/, base = root) {
  const hash = createHash('sha256');
  let newest = 0;
  let files = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (ext.test(e.name)) {
        hash.update(path.relative(base, p)).update('\0').update(readFileSync(p)).update('\0');
        newest = Math.max(newest, statSync(p).mtimeMs);
        files++;
      }
    }
  };
  for (const pkg of readdirSync(path.join(base, 'packages')).sort()) {
    const src = path.join(base, 'packages', pkg, sub);
    try {
      statSync(src);
    } catch {
      continue;
    }
    walk(src);
  }
  return { sha256: hash.digest('hex').slice(0, 16), files, newestChange: new Date(newest).toISOString() };
}

const SERVER_PACKAGES = ['core', 'contracts', 'connectors', 'server'];

/**
 * Copies the built server packages (package.json + dist) into `dir`, with node_modules/@datong
 * links, so a benchmark keeps running the code it built even if someone rebuilds the workspace
 * meanwhile. Third-party modules still resolve from the repository's node_modules (parent
 * folders). Returns the server entry file to import.
 */
export function snapshotBuild(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'node_modules/@datong'), { recursive: true });
  for (const pkg of SERVER_PACKAGES) {
    const from = path.join(root, 'packages', pkg);
    const to = path.join(dir, 'packages', pkg);
    mkdirSync(to, { recursive: true });
    cpSync(path.join(from, 'package.json'), path.join(to, 'package.json'));
    cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true });
    symlinkSync(path.join('..', '..', 'packages', pkg), path.join(dir, 'node_modules/@datong', pkg));
  }
  return path.join(dir, 'packages/server/dist/index.js');
}
