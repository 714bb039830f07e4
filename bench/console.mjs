// `npm run bench -- console` (or `node bench/console.mjs`): the web console with 100,000
// customers and one customer with 10,000 timeline events (issue 3's quality bar), on PGlite
// and PostgreSQL. Data is loaded directly in SQL (bench/console-seed.mjs, like the lookup
// benchmark's load), then the server child answers:
//   API    sequential requests with the admin key, median and p90 over repeats: the customers
//          list (first page, a later page by cursor, search by phone, name and tag), the 360
//          view, the timeline (first page, page 50, channel filter) and the rule-tag preview;
//          baselines in the same run: /healthz and the console's index.html from the same server.
//   Browser Debian's Chromium through playwright-core (headless, fresh profile): time from
//          navigation to the first customers-table row, and to load 10 more timeline pages
//          by scrolling on the 10,000-event customer; baseline: an empty Ant Design page
//          (bench/console-baseline) served from this process.
// Options (environment):
//   BENCH_CONSOLE_CUSTOMERS=N   customers (default 100,000; quick 10,000)
//   BENCH_CONSOLE_EVENTS=N      timeline events on the heavy customer (default 10,000; quick 2,000)
//   BENCH_REPEATS=N             API requests per measurement (default 21; quick 5); browser runs are N/3 (at least 3)
//   BENCH_DBS=pglite,postgres   which databases (default both)
//   BENCH_PG_URL=postgres://…   use this PostgreSQL server (a new database in it) instead of a throwaway cluster
//   BENCH_QUICK=1               smoke run
//   BENCH_SKIP_BUILD=1          do not build the server and the console first
//   DATONG_CHROMIUM=path        the browser (default /usr/bin/chromium)
// Results: bench/results/console-<time>.json and a Markdown summary on stdout (docs/benchmarks.md).
/* global document, window, MutationObserver */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { cleanup, cpuDelta, cpuSnapshot, createDatabase, log, root, serverEnv, snapshotBuild, sourceFingerprint, startChild, startPostgres } from './harness.mjs';
import { makeAgent, request } from './load.mjs';
import { num, percentile, summary } from './stats.mjs';
import { COMMON_TAG, customerIdOf, phoneOf, RARE_TAG } from './console-seed.mjs';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const int = (v, d) => (v !== undefined && v !== '' ? Number.parseInt(v, 10) : d);
const cfg = {
  quick: QUICK,
  customers: int(env.BENCH_CONSOLE_CUSTOMERS, QUICK ? 10_000 : 100_000),
  heavyEvents: int(env.BENCH_CONSOLE_EVENTS, QUICK ? 2_000 : 10_000),
  repeats: int(env.BENCH_REPEATS, QUICK ? 5 : 21),
  warmup: 3,
  listPageSize: 20, // the console's customers page size
  timelinePageSize: 30, // the console's timeline page size
  laterListPage: 100,
  laterTimelinePage: 50,
  scrollPages: 10,
  dbs: (env.BENCH_DBS ?? 'pglite,postgres').split(',').map((s) => s.trim()).filter(Boolean),
  chromium: env.DATONG_CHROMIUM ?? '/usr/bin/chromium',
};
cfg.browserRepeats = Math.max(3, Math.round(cfg.repeats / 3));

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CONSOLE_USER = { email: 'bench-admin@example.com', name: '基准测试', roleId: 'admin', password: 'bench password 1234' };
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = path.join(root, 'bench/results');

const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
};

function stats(ms) {
  const s = summary(ms);
  return { median: s.median, p90: percentile(ms, 90), min: s.min, max: s.max, n: s.n };
}

// ---------------------------------------------------------------------------------------------
// Build: the server packages and the console, then a snapshot of both (the tree may be rebuilt meanwhile).

function build() {
  if (env.BENCH_SKIP_BUILD === '1') return;
  log('building the server (tsc -b packages/server) and the console (vite build)');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'scripts/copy-assets.mjs')], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], {
    cwd: path.join(root, 'packages/console'),
    stdio: 'inherit',
    env: { ...env, NODE_ENV: 'production' },
  });
}

/** The empty Ant Design page, built with Vite like the console. */
async function buildBaseline(outDir) {
  const require = createRequire(path.join(root, 'packages/console/package.json'));
  const vite = await import(require.resolve('vite'));
  const prev = env.NODE_ENV;
  env.NODE_ENV = 'production';
  try {
    await vite.build({
      root: path.join(root, 'bench/console-baseline'),
      configFile: false,
      logLevel: 'error',
      esbuild: { jsx: 'automatic' },
      build: { outDir, emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 5000, rollupOptions: { onwarn: (w, warn) => (w.code === 'MODULE_LEVEL_DIRECTIVE' ? undefined : warn(w)) } },
    });
  } finally {
    if (prev === undefined) delete env.NODE_ENV;
    else env.NODE_ENV = prev;
  }
}

/** Serves a folder (index.html + hashed assets) on 127.0.0.1, assets cached like the console's. */
async function staticServer(dir) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, rel);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', types[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('cache-control', rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

// ---------------------------------------------------------------------------------------------
// API

async function apiRuns(server, seed) {
  const agent = makeAgent(1);
  const base = server.info.url;
  const auth = { authorization: `Bearer ${server.info.adminKey}` };
  const call = async (method, p, body) => {
    const r = await request(agent, base, method, p, p.startsWith('/v1') ? auth : {}, body ? Buffer.from(JSON.stringify(body)) : undefined);
    if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.body.slice(0, 300)}`);
    return r.body;
  };
  const json = async (p) => JSON.parse(await call('GET', p));
  /** Times `n` sequential requests (after a warm-up); `pathFor(i)` may vary the request. */
  const time = async (label, pathFor, { method = 'GET', body, check } = {}) => {
    const ms = [];
    for (let i = 0; i < cfg.warmup + cfg.repeats; i++) {
      const p = pathFor(i);
      const t = performance.now();
      const text = await call(method, p, typeof body === 'function' ? body(i) : body);
      const d = performance.now() - t;
      if (i === 0 && check) check(JSON.parse(text));
      if (i >= cfg.warmup) ms.push(d);
    }
    const s = stats(ms);
    log(`  ${label}: median ${num(s.median)} ms, p90 ${num(s.p90)} ms`);
    return { label, ...s };
  };
  const n = cfg.customers;
  const q = (v) => encodeURIComponent(v);
  const listPath = `/v1/customers?limit=${cfg.listPageSize}`;
  // Cursors of later pages, found once by walking (not timed).
  let cursor = null;
  for (let page = 1; page < cfg.laterListPage; page++) cursor = (await json(`${listPath}${cursor ? `&cursor=${q(cursor)}` : ''}`)).nextCursor;
  const laterList = `${listPath}&cursor=${q(cursor)}`;
  const tl = `/v1/customers/${seed.heavyId}/timeline?limit=${cfg.timelinePageSize}`;
  let tcursor = null;
  for (let page = 1; page < cfg.laterTimelinePage; page++) tcursor = (await json(`${tl}${tcursor ? `&cursor=${q(tcursor)}` : ''}`)).nextCursor;
  const laterTimeline = `${tl}&cursor=${q(tcursor)}`;
  const some = (i) => (i * 7919) % n; // spread over the customers, a different one each request
  const expectRows = (k) => (b) => {
    if (!Array.isArray(b.data) || b.data.length < k) throw new Error(`expected ≥ ${k} rows, got ${JSON.stringify(b).slice(0, 200)}`);
  };
  const out = [];
  out.push(await time('Baseline: GET /healthz', () => '/healthz'));
  out.push(await time("Baseline: GET / (the console's index.html, same server)", () => '/'));
  out.push(await time(`Customers list, first page (${cfg.listPageSize})`, () => listPath, { check: expectRows(cfg.listPageSize) }));
  out.push(await time(`Customers list, page ${cfg.laterListPage} by cursor`, () => laterList, { check: expectRows(cfg.listPageSize) }));
  out.push(await time('Search by phone (any format → E.164 → blind index)', (i) => `${listPath}&q=${q(phoneOf(some(i)))}`, { check: expectRows(1) }));
  out.push(await time('Search by name prefix', (i) => `${listPath}&q=${q(`顾客${some(i)}`)}`, { check: expectRows(1) }));
  out.push(await time(`Search by tag on 10% of customers (${COMMON_TAG})`, () => `${listPath}&tag=${q(COMMON_TAG)}`, { check: expectRows(cfg.listPageSize) }));
  out.push(await time(`Search by tag on 0.1% of customers (${RARE_TAG})`, () => `${listPath}&tag=${q(RARE_TAG)}`, { check: expectRows(1) }));
  out.push(await time(`Customer 360, the ${num(cfg.heavyEvents, 0)}-event customer`, () => `/v1/customers/${seed.heavyId}`));
  out.push(await time('Customer 360, a customer with one order', (i) => `/v1/customers/${customerIdOf((some(i) / 5 | 0) * 5)}`));
  out.push(await time(`Timeline, first page (${cfg.timelinePageSize})`, () => tl, { check: expectRows(cfg.timelinePageSize) }));
  out.push(await time(`Timeline, page ${cfg.laterTimelinePage} by cursor`, () => laterTimeline, { check: expectRows(cfg.timelinePageSize) }));
  out.push(await time('Timeline, first page, channel=doudian', () => `${tl}&channel=doudian`, { check: expectRows(cfg.timelinePageSize) }));
  out.push(await time('Timeline, first page, channel=web&type=page', () => `${tl}&channel=web&type=page`, { check: expectRows(1) }));
  out.push(await time('Timeline, channel=meituan (none of its events: reads the whole timeline)', () => `${tl}&channel=meituan`));
  const preview = (condition, label) =>
    time(label, () => '/v1/tag-rules/preview', {
      method: 'POST',
      body: { condition },
      check: (b) => {
        if (typeof b.count !== 'number') throw new Error(`preview: ${JSON.stringify(b).slice(0, 200)}`);
        log(`    (${b.count} of ${b.total} match)`);
      },
    });
  out.push(await preview({ type: 'total_spend', op: 'gte', value: '500.00' }, 'Rule preview: total spend ≥ 500 (one leaf)'));
  out.push(await preview({ any: [{ type: 'order_count', withinDays: 30, op: 'gte', value: 1 }, { type: 'first_channel', in: ['doudian'] }] }, 'Rule preview: order in 30 days or first channel doudian'));
  out.push(await preview({ type: 'order_count', op: 'eq', value: 0 }, 'Rule preview: never ordered (most customers match)'));
  agent.destroy();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Browser

/** Records when a selector first appears (performance.now(), i.e. ms since navigation start). */
function installMarks() {
  const marks = {};
  window.__benchMarks = marks;
  const sel = { customerRow: '[data-testid="customer-link"]', timelineItem: '[data-testid="timeline-item"]', table: '.ant-table-tbody' };
  const check = () => {
    for (const [k, s] of Object.entries(sel)) if (marks[k] === undefined && document.querySelector(s)) marks[k] = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
}

/** Scrolls the timeline's sentinel into view until `pages` more pages have rendered; ms in the page. */
function scrollTimeline({ pages, per }) {
  const count = () => document.querySelectorAll('[data-testid="timeline-item"]').length;
  const start = count();
  const t0 = performance.now();
  const step = (k) =>
    new Promise((resolve, reject) => {
      const target = start + k * per;
      document.querySelector('.timeline-sentinel')?.scrollIntoView({ block: 'end' });
      if (count() >= target) return resolve();
      const timer = setTimeout(() => {
        mo.disconnect();
        reject(new Error(`timeline stuck at ${count()} items (wanted ${target})`));
      }, 60_000);
      const mo = new MutationObserver(() => {
        if (count() >= target) {
          clearTimeout(timer);
          mo.disconnect();
          resolve();
        }
      });
      mo.observe(document.body, { childList: true, subtree: true });
    });
  return (async () => {
    const steps = [];
    for (let k = 1; k <= pages; k++) {
      const t = performance.now();
      await step(k);
      steps.push(Math.round(performance.now() - t));
    }
    return { ms: performance.now() - t0, items: count(), steps };
  })();
}

async function browserRuns(server, seed, baselineUrl) {
  const require = createRequire(path.join(root, 'packages/console/package.json'));
  const pw = await import(pathToFileURL(require.resolve('playwright-core')).href);
  const chromium = pw.chromium ?? pw.default.chromium;
  if (!existsSync(cfg.chromium)) throw new Error(`Chromium is missing at ${cfg.chromium} (apt-get install chromium fonts-noto-cjk)`);
  // Playwright gives the launch a fresh temporary profile (user-data-dir).
  const browser = await chromium.launch({ executablePath: cfg.chromium, args: CHROMIUM_ARGS });
  const out = {};
  try {
    const contextOpts = { viewport: { width: 1440, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 };
    // Sign in once; cold runs reuse the session cookie in new contexts (empty HTTP cache).
    const warm = await browser.newContext({ ...contextOpts, baseURL: server.info.url });
    await warm.addInitScript(installMarks);
    const login = await warm.newPage();
    await login.goto('/login');
    await login.locator('#email').fill(CONSOLE_USER.email);
    await login.locator('#password').fill(CONSOLE_USER.password);
    await login.locator('button[type=submit]').click();
    await login.waitForURL(/\/customers/);
    await login.locator('[data-testid="customer-link"]').first().waitFor({ timeout: 120_000 });
    const storageState = await warm.storageState();
    await login.close();

    const markAfter = async (context, url, mark, selector) => {
      const page = await context.newPage();
      try {
        await page.goto(url);
        await page.locator(selector).first().waitFor({ timeout: 120_000 });
        return await page.evaluate((k) => window.__benchMarks[k], mark);
      } finally {
        await page.close();
      }
    };
    const series = async (label, f) => {
      const ms = [];
      for (let i = 0; i < cfg.browserRepeats; i++) ms.push(await f(i));
      const s = stats(ms);
      log(`  ${label}: median ${num(s.median)} ms (${ms.map((x) => num(x, 0)).join(', ')})`);
      return { label, ...s, values: ms };
    };
    const cold = async (baseURL, f) => {
      const context = await browser.newContext({ ...contextOpts, baseURL, storageState });
      await context.addInitScript(installMarks);
      try {
        return await f(context);
      } finally {
        await context.close();
      }
    };
    const baselineCtx = await browser.newContext({ ...contextOpts, baseURL: baselineUrl });
    await baselineCtx.addInitScript(installMarks);
    await markAfter(baselineCtx, '/', 'table', '.ant-table-tbody'); // fills the HTTP cache

    out.baselineWarm = await series('Baseline: empty antd page, first table render (HTTP cache warm)', () => markAfter(baselineCtx, '/', 'table', '.ant-table-tbody'));
    out.baselineCold = await series('Baseline: empty antd page, first table render (empty cache)', () => cold(baselineUrl, (c) => markAfter(c, '/', 'table', '.ant-table-tbody')));
    out.customersWarm = await series('Customers page: first row rendered (HTTP cache warm)', () => markAfter(warm, '/customers', 'customerRow', '[data-testid="customer-link"]'));
    // Where the customers page's time goes: one warm navigation with its requests and paint marks.
    {
      const page = await warm.newPage();
      const requests = [];
      page.on('requestfinished', (req) => {
        const t = req.timing();
        requests.push({ url: req.url().replace(server.info.url, ''), startMs: Math.round(t.startTime - nav), endMs: Math.round(t.startTime - nav + t.responseEnd) });
      });
      const nav = Date.now();
      await page.goto('/customers');
      await page.locator('[data-testid="customer-link"]').first().waitFor({ timeout: 120_000 });
      const marks = await page.evaluate(() => ({
        ...window.__benchMarks,
        domContentLoaded: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd,
        firstContentfulPaint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
      }));
      await page.close();
      out.customersTrace = { marks, requests: requests.sort((x, y) => x.startMs - y.startMs) };
      log(`    customers page trace: ${JSON.stringify(out.customersTrace)}`);
    }
    out.customersCold = await series('Customers page: first row rendered (empty cache)', () =>
      cold(server.info.url, (c) => markAfter(c, '/customers', 'customerRow', '[data-testid="customer-link"]')),
    );
    out.c360Warm = await series(`Customer 360 of the ${num(cfg.heavyEvents, 0)}-event customer: first timeline item (cache warm)`, () =>
      markAfter(warm, `/customers/${seed.heavyId}`, 'timelineItem', '[data-testid="timeline-item"]'),
    );
    out.scroll = await series(`Timeline: ${cfg.scrollPages} more pages of ${cfg.timelinePageSize} by scrolling`, async () => {
      const page = await warm.newPage();
      let timelineRequests = 0;
      page.on('request', (req) => {
        if (req.url().includes('/timeline')) timelineRequests++;
      });
      try {
        await page.goto(`/customers/${seed.heavyId}`);
        await page.locator('[data-testid="timeline-item"]').nth(cfg.timelinePageSize - 1).waitFor({ timeout: 120_000 });
        const r = await page.evaluate(scrollTimeline, { pages: cfg.scrollPages, per: cfg.timelinePageSize });
        if (r.items < (cfg.scrollPages + 1) * cfg.timelinePageSize) throw new Error(`only ${r.items} timeline items`);
        log(`    ms per page: ${r.steps.join(', ')}; ${timelineRequests} timeline requests`);
        return r.ms;
      } finally {
        await page.close();
      }
    });
    await baselineCtx.close();
    await warm.close();
  } finally {
    await browser.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function runDatabase(db, pgUrl, serverEntry, baselineUrl) {
  const dataDir = path.join(os.tmpdir(), `datong-bench-console-${db}-${stamp}`);
  mkdirSync(dataDir, { recursive: true });
  let childEnv;
  if (db === 'postgres' && env.BENCH_PG_URL) {
    const name = `datong_bench_console_${Date.now()}`;
    await createDatabase(pgUrl, name);
    childEnv = { ...(await serverEnv('pglite', null, dataDir)), DATABASE_URL: pgUrl.replace(/\/[^/]*$/, `/${name}`) };
  } else {
    childEnv = await serverEnv(db, pgUrl, dataDir);
  }
  childEnv.BENCH_SERVER_ENTRY = serverEntry;
  const result = { db };
  log(`${db}: starting the Datong server child`);
  const server = await startChild(`datong-console-${db}`, path.join(root, 'bench/server-process.mjs'), childEnv);
  try {
    result.info = await server.rpc('info');
    log(`${db}: ${result.info.version.split(',')[0]} on ${server.info.url}; loading ${num(cfg.customers, 0)} customers and ${num(cfg.heavyEvents, 0)} timeline events`);
    const cpu0 = cpuSnapshot(server.pid);
    const seed = await server.rpc('seedConsole', { n: cfg.customers, heavyEvents: cfg.heavyEvents, sourceId: server.info.sourceId }, 3_600_000);
    result.seed = { ...seed, cpu: cpuDelta(cpu0, cpuSnapshot(server.pid)) };
    log(`${db}: loaded in ${num(seed.loadMs / 1000)} s + ${num(seed.vacuumAnalyzeMs / 1000)} s VACUUM ANALYZE (${seed.orders} orders, ${seed.tagRows} tags)`);
    const r = await request(undefined, server.info.url, 'POST', '/v1/users', { authorization: `Bearer ${server.info.adminKey}` }, Buffer.from(JSON.stringify(CONSOLE_USER)));
    if (r.status !== 201) throw new Error(`creating the console user: ${r.status} ${r.body}`);
    log(`${db}: API`);
    result.loadAverageBeforeApi = os.loadavg();
    result.api = await apiRuns(server, seed);
    log(`${db}: browser`);
    result.browser = await browserRuns(server, seed, baselineUrl);
    result.infoAfter = await server.rpc('info');
  } finally {
    await server.stop();
    result.serverLog = server.logSummary();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}

function report(out) {
  const dbs = out.databases.map((d) => d.db);
  const head = `| measurement | ${dbs.map((d) => (d === 'pglite' ? 'PGlite' : 'PostgreSQL')).join(' | ')} |`;
  const sep = `|---|${dbs.map(() => '---:').join('|')}|`;
  const cell = (s) => (s && s.median !== null ? `${num(s.median)} (p90 ${num(s.p90)})` : '—');
  const lines = ['API, ms per request (median, p90 in brackets):', '', head, sep];
  const labels = out.databases[0]?.api.map((x) => x.label) ?? [];
  for (const label of labels) lines.push(`| ${label} | ${out.databases.map((d) => cell(d.api.find((x) => x.label === label))).join(' | ')} |`);
  lines.push('', 'Browser, ms (median, p90 in brackets):', '', head, sep);
  const keys = Object.keys(out.databases[0]?.browser ?? {});
  for (const k of keys) lines.push(`| ${out.databases[0].browser[k].label} | ${out.databases.map((d) => cell(d.browser[k])).join(' | ')} |`);
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const out = { startedAt: new Date(started).toISOString(), config: cfg, uptimeAtStart: uptime(), loadAverageAtStart: os.loadavg() };
  log(`config: ${JSON.stringify(cfg)}`);
  log(`machine load: ${out.uptimeAtStart}`);
  build();
  const snapshotDir = path.join(resultsDir, `.build-console-${stamp}`);
  const serverEntry = snapshotBuild(snapshotDir);
  cpSync(path.join(root, 'packages/console/dist'), path.join(snapshotDir, 'packages/console/dist'), { recursive: true });
  const baselineDir = path.join(snapshotDir, 'baseline');
  await buildBaseline(baselineDir);
  const baseline = await staticServer(baselineDir);
  out.machine = {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model,
    ramGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    chromium: (() => {
      try {
        return execFileSync(cfg.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return null;
      }
    })(),
  };
  out.source = sourceFingerprint();
  out.databases = [];
  try {
    let pgUrl = env.BENCH_PG_URL ?? null;
    if (cfg.dbs.includes('postgres') && !pgUrl) pgUrl = startPostgres();
    for (const db of cfg.dbs) out.databases.push(await runDatabase(db, pgUrl, serverEntry, baseline.url));
  } finally {
    await baseline.close();
    rmSync(snapshotDir, { recursive: true, force: true });
  }
  out.uptimeAtEnd = uptime();
  out.loadAverageAtEnd = os.loadavg();
  out.durationSeconds = (Date.now() - started) / 1000;
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `console-${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\n## Console benchmark — ${out.startedAt} (${cfg.quick ? 'QUICK smoke run' : 'full run'}; ${num(cfg.customers, 0)} customers, ${num(cfg.heavyEvents, 0)} events on one; ${cfg.repeats} API repeats, ${cfg.browserRepeats} browser runs)\n`);
  console.log(`Machine: ${out.machine.nproc} cores (${out.machine.cpu}), ${out.machine.ramGiB} GiB, Node ${out.machine.node}, ${out.machine.chromium ?? 'Chromium ?'}`);
  for (const d of out.databases) console.log(`${d.db}: ${d.info.version.split(',')[0]}; load ${num(d.seed.loadMs / 1000)} s + ${num(d.seed.vacuumAnalyzeMs / 1000)} s VACUUM ANALYZE`);
  console.log(`Load: start "${out.uptimeAtStart}"; end "${out.uptimeAtEnd}"\n`);
  console.log(report(out));
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
