import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeTempDir, removeDir, testEnv } from '../test-support/cli-harness.js';

describe('datong migrate', () => {
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  it('applies the pending migrations to the embedded database and prints their versions', async () => {
    const r = await cli(testEnv(dir), ['migrate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Database: embedded PGlite at ${dir}`);
    expect(r.stdout).toMatch(/Applied \d+ migration\(s\):\n {2}0001_create_core_loop\n/);
  });

  it('leaves doctor finding the database reachable with nothing pending', async () => {
    const r = await cli(testEnv(dir), ['doctor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Database\\s+embedded PGlite at ${dir}: reachable \\(PostgreSQL \\d+`, 'm'));
    expect(r.stdout).toMatch(/^Migrations\s+\d+ applied \(latest \d{4}_[a-z0-9_]+\), 0 pending$/m);
  });

  it('exits 1 with the DATA_DIR_LOCKED detail, and no stack, while another server holds the folder', async () => {
    // A live process other than this one (the test runner's parent) stands in for a running server.
    const lockFile = path.join(dir, 'datong.lock');
    writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: new Date().toISOString() }));
    try {
      const r = await cli(testEnv(dir), ['migrate']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[DATA_DIR_LOCKED]');
      expect(r.stderr).toContain(`Another Datong server (pid ${process.ppid}) is already using the data folder ${dir}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      removeDir(lockFile);
    }
  });
});
