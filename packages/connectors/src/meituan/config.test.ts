import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { meituanConfigSchema, parseMeituanConfig } from './config.js';

const SECRET = 'fake0secret0for0tests0a1b2c3d4e5';

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

describe('parseMeituanConfig', () => {
  it('accepts appId and appSecret and fills in the official API base', () => {
    const config = parseMeituanConfig({ appId: '143183', appSecret: SECRET });
    expect(config).toStrictEqual({ appId: '143183', appSecret: SECRET, apiBase: 'https://waimaiopen.meituan.com/api/v1' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps the store code and a custom apiBase without its trailing slash', () => {
    const config = parseMeituanConfig({ appId: '1', appSecret: SECRET, apiBase: 'http://127.0.0.1:8080/api/v1/', appPoiCode: 't_1' });
    expect(config.apiBase).toBe('http://127.0.0.1:8080/api/v1');
    expect(config.appPoiCode).toBe('t_1');
  });

  it('fails closed when appSecret is missing or empty', () => {
    expect(pointers(thrown(() => parseMeituanConfig({ appId: '1' })))).toEqual(['/appSecret']);
    const error = thrown(() => parseMeituanConfig({ appId: '1', appSecret: '' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(pointers(error)).toEqual(['/appSecret']);
  });

  it('reports every problem at once and never echoes a value', () => {
    const error = thrown(() => parseMeituanConfig({ appId: '', apiBase: 'ftp://x', secret: SECRET, appPoiCode: '' }));
    expect(pointers(error)).toEqual(['/apiBase', '/appId', '/appPoiCode', '/appSecret', '/secret']);
    expect(JSON.stringify({ m: error.message, d: error.detail, x: error.extensions })).not.toContain(SECRET);
  });

  it.each([
    ['not a url', 'must be an absolute URL'],
    ['https://waimaiopen.meituan.com/api/v1?x=1', 'must not have a query string or a fragment'],
    ['https://u:p@waimaiopen.meituan.com/api/v1', 'must not contain credentials'],
  ])('rejects apiBase %s', (apiBase, message) => {
    expect(thrown(() => parseMeituanConfig({ appId: '1', appSecret: SECRET, apiBase })).detail).toContain(message);
  });

  it('marks appSecret as the secret in the schema', () => {
    const properties = meituanConfigSchema.properties as Record<string, { secret?: boolean }>;
    expect(Object.entries(properties).filter(([, p]) => p.secret === true).map(([k]) => k)).toEqual(['appSecret']);
  });
});
