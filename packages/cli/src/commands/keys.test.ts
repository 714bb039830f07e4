import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeTempDir, removeDir, TEST_ADMIN_KEY, testEnv } from '../test-support/cli-harness.js';

describe('datong keys', () => {
  let dir = '';
  let env: Record<string, string> = {};
  let keyId = '';
  beforeAll(() => {
    dir = makeTempDir();
    env = testEnv(dir);
  });
  afterAll(() => removeDir(dir));

  it('creates a key on a new database and prints it once', async () => {
    const r = await cli(env, ['keys', 'create', '--name', 'ci', '--scopes', 'read, write']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = /Created API key (key_\w+) "ci" \(scopes: read, write\) for tenant ten_default:\n\n {2}(dtk_\S+)\n/.exec(r.stdout);
    expect(m).not.toBeNull();
    keyId = m?.[1] ?? '';
    expect(r.stdout).toContain('Store it now, it will not be shown again.');
    // DATONG_ADMIN_KEY is set, so the bootstrap created no key to print.
    expect(r.stdout).not.toContain('bootstrap admin key');
  });

  it('revokes the key by id, and says so when it is revoked a second time', async () => {
    const r = await cli(env, ['keys', 'revoke', keyId]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Revoked API key ${keyId} "ci" of tenant ten_default.`);
    const again = await cli(env, ['keys', 'revoke', keyId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`\\[API_KEY_NOT_FOUND\\]\\n {2}API key ${keyId} was already revoked on \\d{4}-`));
  });

  it('lists the keys with their status and never the keys themselves', async () => {
    const r = await cli(env, ['keys', 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TENANT\s+NAME\s+PREFIX\s+SCOPES\s+CREATED\s+LAST USED\s+STATUS$/);
    const ours = lines.find((l) => l.startsWith(keyId));
    expect(ours).toMatch(/ten_default\s+ci\s+dtk_\S{4}…\s+read,write\s+.*revoked \d{4}-\d\d-\d\d \d\d:\d\dZ$/);
    const admin = lines.find((l) => l.includes('Bootstrap admin (DATONG_ADMIN_KEY)'));
    expect(admin).toMatch(/\sadmin\s.*active$/);
    expect(r.stdout).not.toContain(TEST_ADMIN_KEY);
  });

  it('rejects unknown scopes before touching the database', async () => {
    const r = await cli(env, ['keys', 'create', '--name', 'x', '--scopes', 'read,superuser']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[VALIDATION_FAILED]');
    expect(r.stderr).toContain('--scopes must be a comma-separated list of read, write, admin (unknown: superuser)');
  });
});
