import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from './load.js';

describe('loadConfig', () => {
  it('uses safe defaults without any environment', () => {
    const { config, sources } = loadConfig({});
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.db).toMatchObject({ dataDir: '.datong', url: undefined });
    expect(config.webhooks.allowPrivateNetwork).toBe(false);
    expect(sources['http.port']).toBe('default');
  });

  it('reads env vars with coercion, and overrides win over env', () => {
    const { config, sources } = loadConfig(
      { PORT: '8080', DATONG_ALLOW_PRIVATE_NETWORK: '1', DATONG_WORKERS: 'false', DATONG_DATA_DIR: '/tmp/x' },
      { 'http.port': 9090 },
    );
    expect(config.http.port).toBe(9090);
    expect(sources['http.port']).toBe('override');
    expect(config.webhooks.allowPrivateNetwork).toBe(true);
    expect(config.queue.workers).toBe(false);
    expect(sources['db.dataDir']).toBe('env');
  });

  it('reports every problem at once', () => {
    expect(() =>
      loadConfig({ PORT: 'eighty', DATONG_WORKERS: 'maybe', DATONG_ADMIN_KEY: 'short', DATONG_MASTER_KEY: 'abc', DATABASE_URL: 'mysql://x', DATONG_LOG_LEVEL: 'loud' }),
    ).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        extensions: {
          problems: [
            'PORT (http.port): "eighty" is not an integer',
            'DATONG_WORKERS (queue.workers): "maybe" is not a boolean (use true/false or 1/0)',
            'DATONG_ADMIN_KEY (security.adminKey): must be at least 16 characters',
            'DATONG_MASTER_KEY (security.masterKey): must be 32 bytes, base64-encoded',
            'DATONG_LOG_LEVEL (log.level): "loud" is not a log level',
            'DATABASE_URL (db.url): must start with postgres:// or postgresql://',
          ],
        },
      }),
    );
  });

  it('refuses production without a master key and a PostgreSQL server', () => {
    expect(() => loadConfig({ DATONG_PRODUCTION: 'true' })).toThrow(/DATONG_MASTER_KEY is required[\s\S]*DATABASE_URL is required/);
  });

  it('returns a frozen config', () => {
    const { config } = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('never shows secrets when describing the config', () => {
    const loaded = loadConfig({ DATONG_ADMIN_KEY: 'super-secret-admin-key', DATABASE_URL: 'postgres://u:pw-123@db/x' });
    const text = JSON.stringify(describeConfig(loaded));
    expect(text).not.toContain('super-secret-admin-key');
    expect(text).not.toContain('pw-123');
    expect(describeConfig(loaded).find((r) => r.env === 'DATONG_ADMIN_KEY')).toEqual({ key: 'security.adminKey', env: 'DATONG_ADMIN_KEY', value: '********', source: 'env' });
  });
});
