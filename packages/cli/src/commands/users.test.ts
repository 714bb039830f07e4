import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeTempDir, removeDir, testEnv } from '../test-support/cli-harness.js';

describe('datong users', () => {
  let dir = '';
  let env: Record<string, string> = {};
  let password = '';
  beforeAll(() => {
    dir = makeTempDir();
    env = testEnv(dir, { DATONG_LOG_LEVEL: 'warn' });
  });
  afterAll(() => removeDir(dir));

  it('creates the first administrator on a new database and prints a generated password once', async () => {
    const r = await cli(env, ['users', 'create', '--email', 'Admin@Example.com', '--name', '管理员', '--role', 'admin']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created user usr_\w+ admin@example\.com \(role admin\) for tenant ten_default\.\n/);
    const m = /Password \(shown once; change it after signing in\):\n\n {2}(\S+)\n/.exec(r.stdout);
    expect(m?.[1]).toMatch(/^[\w-]{20}$/);
    password = m?.[1] ?? '';
  });

  it('lets the administrator sign in to a server started on that database', async () => {
    const serve = await cli(env, ['serve', '--host', '127.0.0.1', '--port', '0']);
    try {
      const url = serve.running?.url ?? '';
      const res = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com', password }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { user: { name: string; role: { id: string } } };
      expect(body.user).toMatchObject({ name: '管理员', role: { id: 'admin' } });
      expect(res.headers.get('set-cookie')).toContain('datong_session=');
    } finally {
      await serve.running?.close();
    }
  });

  it('takes a password, refuses a short one or a taken email, and lists the users', async () => {
    const ok = await cli(env, ['users', 'create', '--email', 'ops@example.com', '--name', 'Ops', '--role', 'ops', '--password', 'long enough pw']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain('long enough pw');
    const short = await cli(env, ['users', 'create', '--email', 'x@example.com', '--name', 'X', '--role', 'ops', '--password', 'short']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('--password must be at least 10 characters');
    const dup = await cli(env, ['users', 'create', '--email', 'OPS@example.com', '--name', 'Again', '--role', 'ops']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('[USER_EMAIL_TAKEN]');
    const role = await cli(env, ['users', 'create', '--email', 'y@example.com', '--name', 'Y', '--role', 'boss']);
    expect(role.stderr).toContain('[ROLE_NOT_FOUND]');
    const list = await cli(env, ['users', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EMAIL\s+NAME\s+ROLE\s+2FA\s+STATUS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['admin@example.com', 'ops@example.com']);
  });
});
