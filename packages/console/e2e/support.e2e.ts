// Browser-test support: a real Datong server (a child process on 127.0.0.1, ephemeral port,
// its own data folder), Debian's Chromium through playwright-core (never a downloaded
// browser), the console built when its sources are newer than its build, TOTP codes, and
// screenshots in test-artifacts/screenshots/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CONSOLE = path.join(ROOT, 'packages/console');
const SERVE = path.join(ROOT, 'packages/server/src/test-support/serve-process.ts');
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts/screenshots');
/** Debian's Chromium (apt-get install chromium); DATONG_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['DATONG_CHROMIUM'] ?? '/usr/bin/chromium';
export const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the console when dist/ is missing or older than its sources (npm test builds it first). */
export function ensureConsoleBuilt(): void {
  const index = path.join(CONSOLE, 'dist/index.html');
  const sources = Math.max(newest(path.join(CONSOLE, 'src')), statSync(path.join(CONSOLE, 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // NODE_ENV is "test" under Vitest: the build must still be React's and antd's production one.
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], {
    cwd: CONSOLE,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (r.status !== 0) throw new Error('the console build failed');
}

export interface Server {
  readonly url: string;
  readonly adminKey: string;
  /** Fetches the API with the admin key; throws on an error status. */
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'datong-e2e-'));
  const adminKey = `dtk_e2e_${randomBytes(12).toString('hex')}`;
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    DATONG_DATA_DIR: dataDir,
    DATONG_ADMIN_KEY: adminKey,
    DATONG_MASTER_KEY: MASTER_KEY,
    DATONG_POLL_MS: '20',
    DATONG_ALLOW_PRIVATE_NETWORK: '1',
    DATONG_LOG_LEVEL: 'warn',
    // The workspace packages from their sources (tsconfig paths), as the other tests use them, not from dist/.
    TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.test.json'),
    ...env,
  };
  delete childEnv['DATABASE_URL'];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVE], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
  });
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    url,
    adminKey,
    api,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sends Segment messages with a source's write key (HTTP Basic, as Segment's libraries do). */
export async function sendBatch(server: Server, writeKey: string, batch: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  if (!res.ok) throw new Error(`batch: ${res.status} ${await res.text()}`);
}

/** Polls until `check` returns a value (bounded: 200 tries, 100 ms apart). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  let last: unknown = null;
  for (let i = 0; i < 200; i++) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium fonts-noto-cjk (scripts/test.sh does it as root)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // Playwright gives every launch a fresh temporary profile (user-data-dir).
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records console errors and CSP violations (the tests assert there are none). */
export async function newPage(browser: Browser, server: Server, locale = 'zh-CN'): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 }, locale, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy/i.test(text) || (m.type() === 'error' && !/status of (401|403|404|409|422)/.test(text))) problems.push(`${m.type()}: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, problems };
}

/**
 * Opens an Ant Design select and clicks one of its options. The dropdown slides in (a click too
 * early lands on what is behind it), and a re-render of the page behind can close it again (seen
 * once in a full run): so the select is opened again, up to four times, until the option is clicked.
 */
export async function pickOption(page: Page, select: Locator, text: string): Promise<void> {
  const option = page.locator('.ant-select-item-option').filter({ hasText: text, visible: true });
  for (let attempt = 1; ; attempt++) {
    if ((await option.count()) === 0) await select.click();
    try {
      await option.first().click({ timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top, once charts and transitions have settled.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function base32Decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) continue;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 (HMAC-SHA1, 6 digits, 30 s), as an authenticator app computes it. */
export function totp(secretBase32: string, atMs = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)));
  const h = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const o = (h[h.length - 1] ?? 0) & 15;
  const n = (h.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}
