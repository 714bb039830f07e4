import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { startDatong } from './runtime.js';
import { TEST_MASTER_KEY } from './test-support/harness.js';

const SERVE = fileURLToPath(new URL('./test-support/serve-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN = 'runtime-test-admin-key-0123456789';
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'datong-runtime-'));
  dirs.push(d);
  return d;
}

function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const env: Record<string, string | undefined> = { ...process.env, DATONG_DATA_DIR: dataDir, DATONG_ADMIN_KEY: ADMIN, DATONG_MASTER_KEY: TEST_MASTER_KEY, DATONG_POLL_MS: '20' };
  delete env['DATABASE_URL'];
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

describe('the embedded database', () => {
  it('refuses a second server on the same data folder with a clear message', async () => {
    const dataDir = tempDir();
    const { config } = loadConfig({ DATONG_DATA_DIR: dataDir, DATONG_ADMIN_KEY: ADMIN, DATONG_MASTER_KEY: TEST_MASTER_KEY });
    const first = await startDatong({ config, logger: createLogger('silent'), workers: false });
    try {
      await expect(startDatong({ config, logger: createLogger('silent'), workers: false })).rejects.toMatchObject({
        code: 'DATA_DIR_LOCKED',
        detail: expect.stringContaining(`Another Datong server (pid ${process.pid}) is already using the data folder`),
      });
    } finally {
      await first.close();
    }
    expect(existsSync(path.join(dataDir, 'datong.lock'))).toBe(false);
  });

  it('loses no acknowledged message when the server is killed (kill -9) right after answering', async () => {
    const dataDir = tempDir();
    const a = await serve(dataDir);
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const src = (await (await fetch(`${a.url}/v1/sources`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'crash', type: 'web' }) })).json()) as {
      writeKey: string;
    };
    const batch = Array.from({ length: 200 }, (_, i) => ({ type: 'identify', messageId: `crash-${i}`, userId: `crash-user-${i}` }));
    const res = await fetch(`${a.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${src.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));

    // The lock of the killed process is stale: the next server takes it over and finishes the work.
    const b = await serve(dataDir);
    let found = 0;
    for (let i = 0; i < 200 && found < 200; i++) {
      const r = await fetch(`${b.url}/v1/customers?limit=200`, { headers: auth });
      found = ((await r.json()) as { data: unknown[] }).data.length;
      if (found < 200) await new Promise((r2) => setTimeout(r2, 100));
    }
    expect(found).toBe(200);
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
  });
});
