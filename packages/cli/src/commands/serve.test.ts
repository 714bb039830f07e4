import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../io.js';
import { cli, makeTempDir, removeDir, TEST_ADMIN_KEY, testEnv, type CliRun } from '../test-support/cli-harness.js';

describe('datong serve', () => {
  let dir = '';
  let run: CliRun;
  let running: Running | null = null;

  beforeAll(async () => {
    dir = makeTempDir();
    run = await cli(testEnv(dir, { DATONG_LOG_LEVEL: 'warn' }), ['serve', '--host', '127.0.0.1', '--port', '0']);
    running = run.running;
  });
  afterAll(async () => {
    await running?.close();
    removeDir(dir);
  });

  it('listens on the given host and a free port, and answers /healthz', async () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(running?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${running?.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('prints where the console, the API docs and the health check are, how to create the first user, and which database it uses', () => {
    const url = running?.url ?? '';
    expect(run.stdout).toContain(`Console     ${url}/\n`);
    // A new database has no console user yet: the banner says how to create the first one.
    expect(run.stdout).toContain('npx datong users create --email admin@example.com --name Admin --role admin');
    expect(run.stdout).toContain(`API docs    ${url}/docs\n`);
    expect(run.stdout).toContain(`OpenAPI     ${url}/openapi.json\n`);
    expect(run.stdout).toContain(`Health      ${url}/healthz\n`);
    expect(run.stdout).toContain(`Database    embedded PGlite at ${dir}\n`);
    expect(run.stdout).toContain('survives a process crash but not a power loss; in production set DATABASE_URL');
    expect(run.stdout).toContain('Admin key   the one set by DATONG_ADMIN_KEY');
    expect(run.stdout).not.toContain(TEST_ADMIN_KEY);
  });
});

describe('datong worker', () => {
  it('refuses to run on the embedded database, before opening it', async () => {
    const dir = makeTempDir();
    try {
      const r = await cli(testEnv(dir), ['worker']);
      expect(r.code).toBe(1);
      expect(r.running).toBeNull();
      expect(r.stderr).toContain('[CONFIG_INVALID]');
      expect(r.stderr).toContain('`datong worker` needs a PostgreSQL server (set DATABASE_URL)');
      expect(existsSync(path.join(dir, 'pgdata'))).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});
