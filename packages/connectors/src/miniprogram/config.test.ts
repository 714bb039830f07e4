import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { miniprogramConfigSchema, parseMiniprogramConfig } from './config.js';

const SECRET = 'f3c1b7e9a0d24c5b8e6f1a2b3c4d5e6f';

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

function pointers(error: DatongError): string[] {
  const errors = error.extensions?.['errors'];
  return Array.isArray(errors) ? errors.map((e: { pointer: string }) => e.pointer).sort() : [];
}

describe('parseMiniprogramConfig', () => {
  it('accepts appId and appSecret and fills in the official API base', () => {
    const config = parseMiniprogramConfig({ appId: 'wx4f4bc4dec97d474b', appSecret: SECRET });
    expect(config).toStrictEqual({ appId: 'wx4f4bc4dec97d474b', appSecret: SECRET, apiBase: 'https://api.weixin.qq.com' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps a custom apiBase without its trailing slash', () => {
    const config = parseMiniprogramConfig({ appId: 'wx1', appSecret: SECRET, apiBase: 'http://127.0.0.1:8080/wechat/' });
    expect(config.apiBase).toBe('http://127.0.0.1:8080/wechat');
  });

  it('fails closed when appSecret is missing', () => {
    // The opposite of skipping verification when a secret is absent (STYLE §C.2).
    const error = thrown(() => parseMiniprogramConfig({ appId: 'wx1' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(pointers(error)).toEqual(['/appSecret']);
  });

  it('fails closed when appSecret is empty', () => {
    expect(pointers(thrown(() => parseMiniprogramConfig({ appId: 'wx1', appSecret: '' })))).toEqual(['/appSecret']);
  });

  it('reports every problem at once', () => {
    const error = thrown(() => parseMiniprogramConfig({ appId: '', apiBase: 'ftp://example.com', secret: SECRET }));
    expect(pointers(error)).toEqual(['/apiBase', '/appId', '/appSecret', '/secret']);
    expect(error.detail).toContain('/appSecret');
    expect(error.detail).toContain('/apiBase must use http or https');
  });

  it('never echoes a value, so a secret in the wrong field does not leak', () => {
    const error = thrown(() => parseMiniprogramConfig({ appId: 'wx1', secret: SECRET }));
    expect(JSON.stringify({ m: error.message, d: error.detail, x: error.extensions, meta: error.meta })).not.toContain(SECRET);
  });

  it.each([
    ['not a url', 'must be an absolute URL'],
    ['https://api.weixin.qq.com?x=1', 'must not have a query string or a fragment'],
    ['https://user:pass@api.weixin.qq.com', 'must not contain credentials'],
  ])('rejects apiBase %s', (apiBase, message) => {
    const error = thrown(() => parseMiniprogramConfig({ appId: 'wx1', appSecret: SECRET, apiBase }));
    expect(error.detail).toContain(`/apiBase ${message}`);
  });

  it.each([null, undefined, 'wx1', 42, []])('rejects %j as a whole', (raw) => {
    expect(thrown(() => parseMiniprogramConfig(raw)).code).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('miniprogramConfigSchema', () => {
  it('marks appSecret, and only appSecret, as a secret', () => {
    const secrets = Object.entries(miniprogramConfigSchema.properties)
      .filter(([, schema]) => (schema as { secret?: unknown }).secret === true)
      .map(([name]) => name);
    expect(secrets).toEqual(['appSecret']);
  });
});
