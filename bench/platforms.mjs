// `npm run bench:platforms`: e-commerce platform messages per second — verified, normalized,
// resolved (OneID) and stored on the buyers' timelines — per platform, on a throwaway
// PostgreSQL, with an in-run baseline: the same orders as plain Segment events through /v1/batch.
// Method and results: docs/benchmarks.md, "Platform connectors". Options (environment):
//   BENCH_PLATFORM_MESSAGES=N   push/TMC messages per platform run (default 2,500)
//   BENCH_DOUDIAN_MESSAGES=N    Douyin shop messages per run (default 750: their details come from the order API, 20 a second)
//   BENCH_REPEATS=N             repeats (default 3); the median is reported
//   BENCH_PLATFORMS=youzan,doudian,meituan,taobao
//   BENCH_SKIP_BUILD=1          do not run `npm run build` first
//   BENCH_PROFILE_DIR=/tmp/x    a CPU profile of the server child per platform run (bench/profile-summary.mjs reads it)
// Every run gets a fresh database and a fresh server child (bench/server-process.mjs, from a
// snapshot of the build); the fake platform servers run in this process.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  buildDoudianPush,
  buildMeituanPush,
  buildYouzanPush,
  fakeYouzanTradeDetail,
  formatTopTime,
  meituanOrderParams,
  startFakeDoudianServer,
  startFakeMeituanServer,
  startFakeTopServer,
} from '@datong/connectors';
import { basicAuth, cleanup, cpuDelta, cpuSnapshot, log, root, serverEnv, snapshotBuild, sleep, sourceFingerprint, startChild, startPostgres } from './harness.mjs';
import { makeAgent, request } from './load.mjs';
import { num, spread, summary } from './stats.mjs';

const env = process.env;
const int = (v, d) => (v !== undefined && v !== '' ? Number.parseInt(v, 10) : d);
const cfg = {
  messages: int(env.BENCH_PLATFORM_MESSAGES, 2_500),
  doudianMessages: int(env.BENCH_DOUDIAN_MESSAGES, 750),
  repeats: int(env.BENCH_REPEATS, 3),
  concurrency: 20,
  batchSize: 100,
  ordersPerBuyer: 2,
  platforms: (env.BENCH_PLATFORMS ?? 'youzan,doudian,meituan,taobao').split(',').map((s) => s.trim()).filter(Boolean),
};
const PUBLIC_URL = 'http://datong.bench.invalid';
// The platforms' own API limits are not what is measured here: the connectors get the largest bucket settings allow.
const SETTINGS = { rateLimit: { perSecond: 1000, burst: 10_000 } };
const SEC = () => Math.floor(Date.now() / 1000);
const pad = (i, w) => String(i).padStart(w, '0');

// ---------------------------------------------------------------------------------------------
// One platform: a fake, a connector, N signed messages prepared before the clock starts.

async function api(server, method, p, body) {
  const r = await request(undefined, server.info.url, method, p, { authorization: `Bearer ${server.info.adminKey}` }, body ? Buffer.from(JSON.stringify(body)) : undefined);
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.body.slice(0, 500)}`);
  return JSON.parse(r.body);
}

async function createConnector(server, platform, config) {
  const c = await api(server, 'POST', '/v1/connectors', { platform, name: `bench ${platform}`, config, settings: SETTINGS });
  const d = await api(server, 'GET', `/v1/connectors/${c.id}`);
  return { id: c.id, sourceId: c.sourceId, webhookUrl: d.commerce.webhookUrl, hookPath: `/v1/hooks/${platform}/${c.id}` };
}

/** Each platform: { start(server, run, n) → { connector, requests: [{path, headers, body, ok}], pulled?, close } }. */
const PLATFORMS = {
  async youzan(server, run, n) {
    const creds = { clientId: `bench${run}yz`, clientSecret: 'yz-bench-secret-0123456789', kdtId: '91234567' };
    const connector = await createConnector(server, 'youzan', { ...creds, apiBase: 'http://127.0.0.1:9' });
    const at = new Date(Date.now() - 3_600_000);
    const t = formatTopTime(at);
    const requests = [];
    for (let i = 0; i < n; i++) {
      const tid = `E2026${pad(run, 3)}${pad(i, 16)}`;
      const detail = fakeYouzanTradeDetail({
        tid,
        status: 'WAIT_SELLER_SEND_GOODS',
        created: t,
        updateTime: t,
        payTime: t,
        yzOpenId: `yzbench${run}_${pad(Math.floor(i / cfg.ordersPerBuyer), 7)}`,
        nickname: '买家',
        lines: [{ oid: `${pad(run, 3)}${pad(i, 16)}`, itemId: 3001, skuId: 4001, title: '大同红茶 礼盒', num: 1, price: '128.00' }],
      });
      const push = buildYouzanPush({ ...creds, type: 'trade_TradeBuyerPay', status: 'WAIT_SELLER_SEND_GOODS', id: tid, msg: detail, msgId: `bench-${run}-${i}` });
      requests.push({ path: connector.hookPath, headers: push.headers, body: Buffer.from(push.body), ok: (b) => /"code"\s*:\s*0/.test(b) });
    }
    return { connector, requests, close: async () => {} };
  },

  async doudian(server, run, n) {
    const creds = { appKey: `71${pad(run, 3)}00000000000001`, appSecret: 'dd-bench-secret-0123456789', shopId: '4463798' };
    const fake = await startFakeDoudianServer(creds);
    const connector = await createConnector(server, 'doudian', { ...creds, apiBase: fake.url });
    const paid = SEC() - 600;
    const requests = [];
    for (let i = 0; i < n; i++) {
      const orderId = `69${pad(run, 3)}${pad(i, 14)}`;
      fake.addOrder({
        order_id: orderId,
        shop_id: 4463798,
        order_status: 2,
        create_time: paid - 60,
        pay_time: paid,
        update_time: paid,
        pay_amount: 12800,
        post_amount: 0,
        doudian_open_id: `1@#ddbench${run}_${pad(Math.floor(i / cfg.ordersPerBuyer), 7)}`,
        sku_order_list: [{ order_id: orderId, parent_order_id: orderId, product_id: 3654123987456321987n, product_name: '大同红茶 礼盒', sku_id: 1765432109876543210n, item_num: 1, origin_amount: 12800, pay_amount: 12800 }],
      });
      const push = buildDoudianPush(creds, [{ tag: 101, data: { biz: 2, order_type: 0, p_id: BigInt(orderId), s_ids: [BigInt(orderId)], shop_id: 4463798, order_status: 2, pay_amount: 12800, pay_time: paid } }]);
      requests.push({ path: connector.hookPath, headers: push.headers, body: push.body, ok: (b) => /"code"\s*:\s*0/.test(b) });
    }
    return { connector, requests, close: () => fake.close() };
  },

  async meituan(server, run, n) {
    const creds = { appId: `14${pad(run, 4)}`, appSecret: 'mt-bench-secret-0123456789', appPoiCode: 't_bench_01' };
    const fake = await startFakeMeituanServer({ appId: creds.appId, appSecret: creds.appSecret, poiCodes: [creds.appPoiCode] });
    const connector = await createConnector(server, 'meituan', { ...creds, apiBase: fake.apiBase });
    const utime = SEC() - 600;
    const requests = [];
    for (let i = 0; i < n; i++) {
      const params = meituanOrderParams({
        orderId: `27${pad(run, 3)}${pad(i, 12)}`,
        appPoiCode: creds.appPoiCode,
        status: 2,
        ctime: utime - 300,
        utime,
        items: [{ appFoodCode: 'tea-01', name: '大同奶茶', quantity: 2, price: '18.5' }],
        shippingFee: '3',
        userId: `3${pad(run, 3)}${pad(Math.floor(i / cfg.ordersPerBuyer), 7)}`,
      });
      // Signed over the push URL Datong reports (DATONG_PUBLIC_URL + the hook path), sent to the server itself.
      const push = buildMeituanPush({ pushUrl: connector.webhookUrl, appId: creds.appId, appSecret: creds.appSecret, params });
      requests.push({ path: connector.hookPath, headers: push.headers, body: Buffer.from(push.body), ok: (b) => /"data"\s*:\s*"ok"/.test(b) });
    }
    return { connector, requests, close: () => fake.close() };
  },

  /** TMC is pulled by Datong: the queue is filled first, then the connector is created (the clock starts there). */
  async taobao(server, run, n) {
    const creds = { appKey: `2${pad(run, 7)}`, appSecret: 'tb-bench-secret-0123456789', sessionKey: `6100bench${run}` };
    const fake = await startFakeTopServer({ ...creds, redeliverAfterMs: 120_000 });
    const at = new Date(Date.now() - 600_000);
    const t = formatTopTime(at);
    for (let i = 0; i < n; i++) {
      const tid = `4${pad(run, 3)}${pad(i, 15)}`;
      fake.putTrade({
        tid,
        tid_str: tid,
        status: 'WAIT_SELLER_SEND_GOODS',
        type: 'fixed',
        created: t,
        modified: t,
        pay_time: t,
        payment: '88.00',
        total_fee: '88.00',
        post_fee: '0.00',
        discount_fee: '0.00',
        adjust_fee: '0.00',
        buyer_nick: 't**1',
        buyer_open_uid: `AAEbench${run}_${pad(Math.floor(i / cfg.ordersPerBuyer), 7)}`,
        seller_nick: 'datong旗舰店',
        orders: { order: [{ oid: `${tid}1`, oid_str: `${tid}1`, num_iid: '600000000001', title: '西湖龙井 250g', price: '88.00', num: 1, total_fee: '88.00', payment: '88.00', status: 'WAIT_SELLER_SEND_GOODS', seller_type: 'B' }] },
      });
      fake.emitTradeMessage('taobao_trade_TradeBuyerPay', tid);
    }
    return {
      startConnector: () => createConnector(server, 'taobao', { ...creds, apiBase: fake.apiBase }),
      requests: [],
      queue: () => fake.queueState(),
      calls: (m) => fake.callCount(m),
      close: () => fake.close(),
    };
  },
};

// ---------------------------------------------------------------------------------------------

/** POST with the request's own headers (load.mjs's request sets a JSON content type; Meituan pushes are forms). */
function post(agent, base, q) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: u.hostname, port: u.port, method: 'POST', path: q.path, headers: { ...q.headers, 'content-length': q.body.length } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(q.body);
  });
}

async function sendRequests(base, requests, concurrency) {
  const agent = makeAgent(concurrency);
  let next = 0;
  const statuses = {};
  const errors = [];
  const client = async () => {
    while (next < requests.length) {
      const q = requests[next++];
      try {
        const r = await post(agent, base, q);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status !== 200 || !q.ok(r.body)) errors.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (e) {
        errors.push(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  return { statuses, errorCount: errors.length, errors: errors.slice(0, 5) };
}

/** Polls (every 250 ms) until every platform message is done and every derived Segment message is processed. */
async function waitResolved(server, connectorId, sourceId, expectedMessages, expectedInbox, label) {
  let last = '';
  let lastChange = Date.now();
  for (;;) {
    const [m] = await server.rpc('sql', {
      text: `SELECT count(*)::int AS total, count(*) FILTER (WHERE status IN ('pending', 'failed'))::int AS open,
                    count(*) FILTER (WHERE status = 'quarantined')::int AS quarantined,
                    (extract(epoch FROM max(processed_at)) * 1000)::float8 AS last_ms
             FROM connector_messages WHERE connector_id = $1`,
      params: [connectorId],
    });
    const [i] = await server.rpc('sql', {
      text: `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 0)::int AS open, (extract(epoch FROM max(processed_at)) * 1000)::float8 AS last_ms
             FROM inbox WHERE source_id = $1`,
      params: [sourceId],
    });
    const state = `${m.total}/${m.open}/${i.total}/${i.open}`;
    if (m.total >= expectedMessages && m.open === 0 && i.total >= expectedInbox && i.open === 0) return { messages: m, inbox: i };
    if (state !== last) {
      last = state;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 120_000) {
      throw new Error(`${label}: stalled at messages ${m.total} (open ${m.open}), inbox ${i.total} (open ${i.open}) for 120 s`);
    }
    await sleep(250);
  }
}

async function startServer(pgUrl, serverEntry, label) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'datong-bench-platforms.'));
  const childEnv = { ...(await serverEnv('postgres', pgUrl, dataDir)), BENCH_SERVER_ENTRY: serverEntry, DATONG_PUBLIC_URL: PUBLIC_URL };
  // With a profile, every SQL statement is timed too (printed after each run).
  if (process.env.BENCH_PROFILE_DIR) childEnv.BENCH_SQL_TIMING = '1';
  const server = await startChild(label, path.join(root, 'bench/server-process.mjs'), childEnv);
  return {
    server,
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function platformRun(pgUrl, serverEntry, platform, run) {
  const n = platform === 'doudian' ? cfg.doudianMessages : cfg.messages;
  const { server, stop } = await startServer(pgUrl, serverEntry, `datong-${platform}-${run}`);
  let prepared;
  try {
    prepared = await PLATFORMS[platform](server, run, n);
    const cpu0 = cpuSnapshot(server.pid);
    if (process.env.BENCH_PROFILE_DIR) await server.rpc('profileStart');
    const t0 = performance.timeOrigin + performance.now();
    let send = null;
    let connector = prepared.connector;
    if (prepared.startConnector) connector = await prepared.startConnector();
    else send = await sendRequests(server.info.url, prepared.requests, cfg.concurrency);
    const acceptedAt = performance.timeOrigin + performance.now();
    // Each paid order: identify + Order Completed on the connector's source.
    const done = await waitResolved(server, connector.id, connector.sourceId, n, 2 * n, `${platform} run ${run}`);
    const cpu1 = cpuSnapshot(server.pid);
    if (process.env.BENCH_PROFILE_DIR) {
      await server.rpc('profileStop', { file: path.join(process.env.BENCH_PROFILE_DIR, `${platform}-${run}.cpuprofile`) });
      for (const x of (await server.rpc('sqlTiming', { reset: true })).slice(0, 16)) {
        console.log(`  ${(x.ms / 1000).toFixed(2).padStart(7)} s ${String(x.calls).padStart(6)} calls  avg ${(x.ms / x.calls).toFixed(2).padStart(6)} ms  ${x.sql.slice(0, 110)}`);
      }
    }
    const endMs = Math.max(done.inbox.last_ms, done.messages.last_ms);
    const [check] = await server.rpc('sql', {
      text: `SELECT (SELECT count(*)::int FROM orders WHERE connector_id = $1) AS orders,
                    (SELECT count(*)::int FROM orders WHERE connector_id = $1 AND completed_event) AS completed,
                    (SELECT count(*)::int FROM events WHERE source_id = $2 AND event = 'Order Completed') AS completed_events,
                    (SELECT count(DISTINCT c.root_id)::int FROM events e JOIN customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id WHERE e.source_id = $2) AS buyers,
                    (SELECT count(*)::int FROM quarantine WHERE source_id = $2) AS quarantined`,
      params: [connector.id, connector.sourceId],
    });
    const seconds = (endMs - t0) / 1000;
    const out = {
      platform,
      run,
      messages: n,
      seconds,
      rate: n / seconds,
      acceptSeconds: (acceptedAt - t0) / 1000,
      send,
      check,
      connectorMessages: done.messages,
      inbox: done.inbox,
      cpu: cpuDelta(cpu0, cpu1),
      ...(prepared.queue ? { tmc: prepared.queue(), fullinfoCalls: prepared.calls('taobao.trade.fullinfo.get'), consumeCalls: prepared.calls('taobao.tmc.messages.consume') } : {}),
      serverLog: server.logSummary(),
    };
    log(`${platform} run ${run}: ${n} messages in ${num(seconds, 2)} s = ${num(out.rate)} msg/s; orders ${check.orders}, Order Completed ${check.completed_events}, buyers ${check.buyers}; CPU server ${out.cpu.serverPct}% postgres ${out.cpu.postgresPct}%`);
    return out;
  } finally {
    await prepared?.close();
    await stop();
  }
}

/** The same orders as Segment events (identify + Order Completed per order) through /v1/batch, 100 a batch. */
async function baselineRun(pgUrl, serverEntry, run) {
  const n = cfg.messages;
  const { server, stop } = await startServer(pgUrl, serverEntry, `datong-batch-${run}`);
  try {
    await PLATFORMS.youzan(server, 900 + run, 0); // the same tag rules as a server with a connector (channel tags)
    const src = await server.rpc('newSource', { name: `bench batch ${run}` });
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const events = [];
    for (let i = 0; i < n; i++) {
      const buyer = [{ type: 'youzan_open_id', id: `yzbase${run}_${pad(Math.floor(i / cfg.ordersPerBuyer), 7)}`, encoding: 'none' }];
      const orderId = `E2026B${pad(run, 3)}${pad(i, 16)}`;
      events.push({ type: 'identify', messageId: `b-${run}-${i}-i`, timestamp: at, traits: {}, context: { externalIds: buyer } });
      events.push({
        type: 'track',
        event: 'Order Completed',
        messageId: `b-${run}-${i}-c`,
        timestamp: at,
        properties: { order_id: orderId, total: '128.00', currency: 'CNY', products: [{ product_id: '3001', sku: '4001', name: '大同红茶 礼盒', price: '128.00', quantity: 1 }], platform: 'youzan', shop_id: '91234567' },
        context: { externalIds: buyer },
      });
    }
    const requests = [];
    for (let i = 0; i < events.length; i += cfg.batchSize) {
      requests.push({ path: '/v1/batch', headers: { ...basicAuth(src.writeKey), 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ batch: events.slice(i, i + cfg.batchSize) })), ok: () => true });
    }
    const cpu0 = cpuSnapshot(server.pid);
    const t0 = performance.timeOrigin + performance.now();
    const send = await sendRequests(server.info.url, requests, cfg.concurrency);
    const acceptedAt = performance.timeOrigin + performance.now();
    let stats;
    for (;;) {
      stats = await server.rpc('runStats', { sourceId: src.sourceId });
      if (stats.total >= events.length && stats.pending === 0) break;
      await sleep(250);
    }
    const cpu1 = cpuSnapshot(server.pid);
    const seconds = (stats.last_processed_ms - t0) / 1000;
    const out = { run, orders: n, events: events.length, batches: requests.length, seconds, rate: n / seconds, eventRate: events.length / seconds, acceptSeconds: (acceptedAt - t0) / 1000, send, stats, cpu: cpuDelta(cpu0, cpu1), serverLog: server.logSummary() };
    log(`/v1/batch run ${run}: ${n} orders (${events.length} events) in ${num(seconds, 2)} s = ${num(out.rate)} orders/s (${num(out.eventRate)} events/s); CPU server ${out.cpu.serverPct}% postgres ${out.cpu.postgresPct}%`);
    return out;
  } finally {
    await stop();
  }
}

// ---------------------------------------------------------------------------------------------

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
let serverEntry = null;

function uptime() {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return os.loadavg().map((x) => x.toFixed(2)).join(' ');
  }
}

async function main() {
  const started = Date.now();
  const uptimeBefore = uptime();
  log(`config: ${JSON.stringify(cfg)}; ${uptimeBefore}`);
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('npm run build');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  }
  const snapshotDir = path.join(root, 'bench/results', `.build-platforms-${stamp}`);
  serverEntry = snapshotBuild(snapshotDir);
  const out = {
    startedAt: new Date(started).toISOString(),
    config: cfg,
    uptimeBefore,
    machine: { nproc: os.availableParallelism?.() ?? os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    source: sourceFingerprint(),
    dist: sourceFingerprint('dist', /\.(js|sql)$/, snapshotDir),
    runs: [],
    baseline: [],
  };
  const pgUrl = startPostgres();
  for (let r = 1; r <= cfg.repeats; r++) {
    out.baseline.push(await baselineRun(pgUrl, serverEntry, r));
    for (const p of cfg.platforms) out.runs.push(await platformRun(pgUrl, serverEntry, p, r));
  }
  const [pgVersion] = await (async () => [execFileSync('bash', ['-c', 'pg_config --version 2>/dev/null || true'], { encoding: 'utf8' }).trim()])();
  out.machine.postgres = pgVersion;
  out.uptimeAfter = uptime();
  out.finishedAt = new Date().toISOString();
  out.durationSeconds = (Date.now() - started) / 1000;

  const base = summary(out.baseline.map((b) => b.rate));
  const baseEvents = summary(out.baseline.map((b) => b.eventRate));
  const rows = [];
  rows.push('| ingest | messages a run | processed messages/s, median (min–max) | ratio to /v1/batch (orders/s) | server CPU | PostgreSQL CPU | load generator + fakes CPU |');
  rows.push('|---|---|---|---|---|---|---|');
  const cpuCell = (xs, k) => spread(summary(xs.map((x) => x.cpu[k])), 0) + '%';
  rows.push(
    `| /v1/batch baseline (identify + Order Completed per order, batches of ${cfg.batchSize}) | ${num(cfg.messages, 0)} orders = ${num(2 * cfg.messages, 0)} events | ${spread(base, 0)} orders/s = ${spread(baseEvents, 0)} events/s | 1 | ${cpuCell(out.baseline, 'serverPct')} | ${cpuCell(out.baseline, 'postgresPct')} | ${cpuCell(out.baseline, 'loadgenPct')} |`,
  );
  out.summary = { baseline: base, baselineEvents: baseEvents, platforms: {} };
  for (const p of cfg.platforms) {
    const runs = out.runs.filter((x) => x.platform === p);
    const s = summary(runs.map((x) => x.rate));
    const ratio = base.median ? s.median / base.median : null;
    out.summary.platforms[p] = { rate: s, ratio };
    rows.push(`| ${p} | ${num(runs[0]?.messages ?? 0, 0)} | ${spread(s, 0)} | ${num(ratio, 2)} | ${cpuCell(runs, 'serverPct')} | ${cpuCell(runs, 'postgresPct')} | ${cpuCell(runs, 'loadgenPct')} |`);
  }
  const resultsDir = path.join(root, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `platforms-${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\n## Platform connectors — ${out.startedAt}, ${cfg.repeats} repeat(s), PostgreSQL\n`);
  console.log(`Source fingerprint ${out.source.sha256}, build ${out.dist.sha256}; uptime before: ${out.uptimeBefore}; after: ${out.uptimeAfter}\n`);
  console.log(rows.join('\n'));
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
