// `node bench/import.mjs`: CSV and XLSX import of customers with the CLI (`datong import`) into
// a running Datong, measuring the CLI's rows/s and peak RSS (and the server's peak RSS).
// Files are generated as streams (a million-row CSV is never held in memory, nor its XLSX).
// Method and results: docs/benchmarks.md ("CSV and XLSX import"). Options (environment):
//   IMPORT_CSV_ROWS=N      rows of the CSV (default 1,000,000; 0 skips the CSV)
//   IMPORT_XLSX_ROWS=N     rows of the XLSX (default 200,000; 0 skips the XLSX)
//   IMPORT_DB=pglite|postgres   the server's database (default pglite)
//   IMPORT_CONCURRENCY=N   batches in flight (the CLI's --concurrency, default 4)
//   DATONG_WORKERS=false   the server only stores (no inbox processing competing with the import)
//   IMPORT_DRY_RUN_ONLY=1  only the CLI's dry run (reader, mapping, validation), no server
//   BENCH_SKIP_BUILD=1     do not build the server and CLI first
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { cleanup, log, root, serverEnv, sourceFingerprint, startChild, startPostgres } from './harness.mjs';

const env = process.env;
const int = (v, d) => (v !== undefined && v !== '' ? Number.parseInt(v, 10) : d);
const cfg = {
  csvRows: int(env.IMPORT_CSV_ROWS, 1_000_000),
  xlsxRows: int(env.IMPORT_XLSX_ROWS, 200_000),
  db: env.IMPORT_DB ?? 'pglite',
  concurrency: int(env.IMPORT_CONCURRENCY, 4),
  dryRunOnly: env.IMPORT_DRY_RUN_ONLY === '1',
};

const CITIES = ['上海', '北京', '广州', '深圳', '杭州', '成都', '南京', '武汉'];
const LEVELS = ['普通会员', '银卡', '金卡', '钻石卡'];
const HEADER = ['手机号', '姓名', '会员等级', '城市', '注册时间', '积分'];

/** Row i of the member export: one row in a thousand has a phone that is not one (quarantined). */
function member(i) {
  const phone = i % 1000 === 999 ? `12${i}` : `13${String(i).padStart(9, '0')}`;
  const day = String((i % 28) + 1).padStart(2, '0');
  return [phone, `会员${i}`, LEVELS[i % 4], CITIES[i % 8], `2025/${String((i % 12) + 1).padStart(2, '0')}/${day} 10:${String(i % 60).padStart(2, '0')}`, i % 5000];
}

async function writeCsv(file, rows) {
  const out = createWriteStream(file);
  out.write(`\uFEFF${HEADER.join(',')}\n`);
  for (let i = 0; i < rows; i++) if (!out.write(`${member(i).join(',')}\n`)) await once(out, 'drain');
  out.end();
  await finished(out);
}

async function writeXlsx(file, rows) {
  const require = createRequire(path.join(root, 'packages/server/package.json'));
  const ExcelJS = require('exceljs');
  // Shared strings, as Excel writes them: the reader must cache that table (see the results).
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true, useStyles: false });
  const ws = wb.addWorksheet('会员');
  ws.addRow(HEADER).commit();
  for (let i = 0; i < rows; i++) {
    ws.addRow(member(i)).commit();
    if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
  }
  ws.commit();
  await wb.commit();
}

/** VmHWM (peak resident set) of a live process, in bytes. */
function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function runCli(args) {
  // Returns the last JSON line of stdout (the report of --json).
  const child = spawn(process.execPath, [path.join(root, 'packages/cli/dist/main.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
    const s = String(d).trim();
    if (s) log(`  ${s.split('\n').pop()}`);
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`datong import exited with ${code}: ${stderr.slice(-3000)}`);
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('building the server and CLI');
    execFileSync('npx', ['tsc', '-b', 'packages/cli', 'packages/connectors'], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { cwd: root, stdio: 'inherit' });
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'datong-bench-import-'));
  const files = [];
  if (cfg.csvRows > 0) {
    const f = path.join(work, `members-${cfg.csvRows}.csv`);
    log(`generating ${f}`);
    await writeCsv(f, cfg.csvRows);
    files.push({ format: 'csv', file: f, rows: cfg.csvRows });
  }
  if (cfg.xlsxRows > 0) {
    const f = path.join(work, `members-${cfg.xlsxRows}.xlsx`);
    log(`generating ${f}`);
    await writeXlsx(f, cfg.xlsxRows);
    files.push({ format: 'xlsx', file: f, rows: cfg.xlsxRows });
  }
  const pgUrl = cfg.db === 'postgres' && !cfg.dryRunOnly ? startPostgres() : null;
  const results = [];
  try {
    for (const f of files) {
      // The CLI alone first (read, map, validate; nothing sent): what the client side costs.
      log(`${f.format}: dry run of ${f.rows} rows`);
      const dry = await runCli(['import', f.file, '--type', 'customers', '--dry-run', '--json']);
      if (cfg.dryRunOnly) {
        const r = { format: f.format, rows: f.rows, fileMB: Math.round((statSync(f.file).size / 1048576) * 10) / 10, dryRunSeconds: dry.seconds, dryRunRowsPerSecond: dry.rowsPerSecond, dryRunPeakRssMB: Math.round(dry.peakRssBytes / 1048576) };
        log(JSON.stringify(r));
        results.push(r);
        continue;
      }
      // A fresh server and database for each file, so the second import does not pay for the first's rows.
      const dataDir = path.join(work, `data-${f.format}`);
      mkdirSync(dataDir, { recursive: true });
      const server = await startChild(`server-${f.format}`, path.join(root, 'bench/server-process.mjs'), await serverEnv(cfg.db, pgUrl, dataDir));
      try {
        const bytes = statSync(f.file).size;
        log(`${f.format}: importing ${f.rows} rows (${(bytes / 1048576).toFixed(1)} MB) into ${server.info.url} (${server.info.db})`);
        const report = await runCli(['import', f.file, '--type', 'customers', '--url', server.info.url, '--write-key', server.info.writeKey, '--concurrency', String(cfg.concurrency), '--json']);
        const expectedInvalid = Math.floor(f.rows / 1000);
        if (report.valid !== f.rows - expectedInvalid || report.invalid !== expectedInvalid || report.accepted !== report.valid) {
          throw new Error(`${f.format}: unexpected counts ${JSON.stringify(report)}`);
        }
        const r = {
          format: f.format,
          rows: f.rows,
          fileMB: Math.round((bytes / 1048576) * 10) / 10,
          seconds: report.seconds,
          rowsPerSecond: report.rowsPerSecond,
          cliPeakRssMB: Math.round(report.peakRssBytes / 1048576),
          serverPeakRssMB: Math.round((peakRss(server.pid) ?? 0) / 1048576),
          maxInFlightRows: report.maxInFlightRows,
          dryRunRowsPerSecond: dry.rowsPerSecond,
          dryRunPeakRssMB: Math.round(dry.peakRssBytes / 1048576),
          accepted: report.accepted,
          quarantined: report.quarantined,
        };
        log(JSON.stringify(r));
        results.push(r);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  const out = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    config: cfg,
    code: sourceFingerprint(),
    results,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `import-${out.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  log(`results in ${path.relative(root, file)}`);
  console.table(results);
}

await main().catch(async (e) => {
  console.error(e);
  await cleanup();
  process.exit(1);
});
