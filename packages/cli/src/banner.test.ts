import { describe, expect, it } from 'vitest';
import { CREATE_ADMIN_COMMAND, formatBanner, listenUrl } from './banner.js';
import { postgresLocation } from './config.js';

describe('formatBanner', () => {
  it('shows the console first, then the API docs, OpenAPI and health, and how to create the first console user', () => {
    const text = formatBanner({
      url: 'http://127.0.0.1:3000',
      publicUrl: undefined,
      database: { kind: 'pglite', dataDir: '/var/lib/datong' },
      adminKey: { kind: 'existing' },
      workers: true,
      consoleUsers: false,
    });
    const lines = text.split('\n');
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines[2]).toBe('  Console     http://127.0.0.1:3000/');
    expect([at('  API docs    http://127.0.0.1:3000/docs'), at('  OpenAPI     http://127.0.0.1:3000/openapi.json'), at('  Health      http://127.0.0.1:3000/healthz')]).toEqual([3, 4, 5]);
    expect(lines[6]).toMatch(/^ {2}First user {2}/);
    expect(text).toContain(`              ${CREATE_ADMIN_COMMAND}\n`);
    // The command must be one the CLI accepts: every required option of `datong users create`.
    expect(CREATE_ADMIN_COMMAND).toMatch(/^npx datong users create --email \S+@\S+ --name \S+ --role admin$/);
    // On the embedded database the CLI cannot open it while this server runs.
    expect(text).toContain('stop the server (Ctrl+C) first, or now use POST /v1/users with the admin key');
  });

  it('leaves out the first-user help once a console user exists, and tells PostgreSQL users they can run it now', () => {
    const base = { url: 'http://127.0.0.1:3000', publicUrl: undefined, adminKey: { kind: 'existing' }, workers: true } as const;
    expect(formatBanner({ ...base, database: { kind: 'pglite', dataDir: '/d' }, consoleUsers: true })).not.toContain('users create');
    const pg = formatBanner({ ...base, database: { kind: 'postgres', location: 'db:5432/datong' }, consoleUsers: null });
    expect(pg).toContain(CREATE_ADMIN_COMMAND);
    expect(pg).toContain('Or use POST /v1/users with the admin key.');
    expect(pg).not.toContain('Ctrl+C) first');
  });

  it('shows a generated admin key with the warning that it is shown only once', () => {
    const text = formatBanner({
      url: 'http://127.0.0.1:3000',
      publicUrl: undefined,
      database: { kind: 'pglite', dataDir: '/var/lib/datong' },
      adminKey: { kind: 'generated', key: 'dtk_abc123' },
      workers: true,
    });
    expect(text).toContain('Admin key   dtk_abc123\n');
    expect(text).toContain('Store it now, it will not be shown again.');
  });

  it('names PostgreSQL without the password, and says where a worker has no HTTP API', () => {
    const text = formatBanner({
      url: null,
      publicUrl: undefined,
      database: { kind: 'postgres', location: postgresLocation('postgres://datong:s3cret@db.internal:5432/datong') },
      adminKey: { kind: 'existing' },
      workers: true,
    });
    expect(text).toContain('Datong worker is running (no HTTP API in this process).');
    expect(text).toContain('Database    PostgreSQL at db.internal:5432/datong as datong\n');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('/docs');
    expect(text).toContain('the one printed on the first start');
  });
});

describe('listenUrl', () => {
  it('shows wildcard addresses as localhost and brackets IPv6 literals', () => {
    expect(listenUrl('0.0.0.0', 3000)).toBe('http://localhost:3000');
    expect(listenUrl('::1', 8080)).toBe('http://[::1]:8080');
    expect(listenUrl('127.0.0.1', 0)).toBe('http://127.0.0.1:0');
  });
});
