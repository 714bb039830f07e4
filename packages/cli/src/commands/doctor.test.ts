import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, makeTempDir, removeDir, TEST_ADMIN_KEY, TEST_MASTER_KEY, testEnv } from '../test-support/cli-harness.js';

describe('datong doctor', () => {
  let dir = '';
  afterEach(() => removeDir(dir));

  it('prints every setting with its source and masks the secrets', async () => {
    dir = makeTempDir();
    const r = await cli(testEnv(dir, { PORT: '4123' }), ['doctor']);
    expect(r.code).toBe(0);
    const row = (key: string) => r.stdout.split('\n').find((l) => l.startsWith(`${key} `))?.split(/\s{2,}/);
    expect(row('security.adminKey')).toEqual(['security.adminKey', 'DATONG_ADMIN_KEY', '********', 'env']);
    expect(row('security.masterKey')).toEqual(['security.masterKey', 'DATONG_MASTER_KEY', '********', 'env']);
    expect(row('db.dataDir')).toEqual(['db.dataDir', 'DATONG_DATA_DIR', dir, 'env']);
    expect(row('http.port')).toEqual(['http.port', 'PORT', '4123', 'env']);
    expect(row('http.host')).toEqual(['http.host', 'HOST', '127.0.0.1', 'default']);
    expect(row('db.url')).toEqual(['db.url', 'DATABASE_URL', '(unset)', 'default']);
    // The whole point of masking: the secret values appear nowhere in the output.
    expect(r.stdout + r.stderr).not.toContain(TEST_ADMIN_KEY);
    expect(r.stdout + r.stderr).not.toContain(TEST_MASTER_KEY);
    expect(r.stdout).toMatch(/^Node\.js\s+v\d+\.\d+\.\d+ \(ok/m);
    expect(r.stdout).toContain(`embedded PGlite at ${dir}: not created yet`);
  });

  it('does not create the embedded database it checks', async () => {
    // A diagnosis must not change what it diagnoses: opening PGlite would initialise pgdata/.
    dir = makeTempDir();
    await cli(testEnv(dir), ['doctor']);
    expect(existsSync(path.join(dir, 'pgdata'))).toBe(false);
  });

  it('lists every configuration problem at once and exits 1', async () => {
    dir = makeTempDir();
    const r = await cli(testEnv(dir, { DATONG_ADMIN_KEY: 'tooShort9', PORT: 'eighty', DATONG_MASTER_KEY: 'bm90LTMyLWJ5dGVz' }), ['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Configuration is INVALID (3 problems)');
    expect(r.stdout).toContain('PORT (http.port): "eighty" is not an integer');
    expect(r.stdout).toContain('DATONG_ADMIN_KEY (security.adminKey): must be at least 16 characters');
    expect(r.stdout).toContain('DATONG_MASTER_KEY (security.masterKey): must be 32 bytes');
    // Problems name the variable, never echo a (possibly secret) value.
    expect(r.stdout).not.toContain('tooShort9');
  });
});
