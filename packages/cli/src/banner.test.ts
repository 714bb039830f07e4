import { describe, expect, it } from 'vitest';
import { formatBanner, listenUrl } from './banner.js';
import { postgresLocation } from './config.js';

describe('formatBanner', () => {
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
