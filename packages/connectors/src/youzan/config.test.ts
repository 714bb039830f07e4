import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { parseYouzanConfig, youzanConfigSchema } from './config.js';

const SECRET = 'd7d5a1c2b6f04e0f9a3c1e2b4d6f8a0c';

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

describe('parseYouzanConfig', () => {
  it('accepts clientId, clientSecret and kdtId and fills in the official API base', () => {
    const config = parseYouzanConfig({ clientId: 'c346b8b39599aaa677', clientSecret: SECRET, kdtId: '13027865' });
    expect(config).toStrictEqual({ clientId: 'c346b8b39599aaa677', clientSecret: SECRET, kdtId: '13027865', apiBase: 'https://open.youzanyun.com' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes a numeric kdtId as its decimal string, and a custom apiBase without trailing slash', () => {
    const config = parseYouzanConfig({ clientId: 'c1', clientSecret: SECRET, kdtId: 13027865, apiBase: 'http://127.0.0.1:8080/yz/' });
    expect(config.kdtId).toBe('13027865');
    expect(config.apiBase).toBe('http://127.0.0.1:8080/yz');
  });

  it('fails closed when clientSecret is missing or empty', () => {
    for (const clientSecret of [undefined, '']) {
      const error = thrown(() => parseYouzanConfig({ clientId: 'c1', kdtId: '1', ...(clientSecret === undefined ? {} : { clientSecret }) }));
      expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
      expect(pointers(error)).toEqual(['/clientSecret']);
    }
  });

  it('reports every problem at once and never echoes a value', () => {
    const error = thrown(() => parseYouzanConfig({ clientId: '', kdtId: 'shop-1', apiBase: 'ftp://x', secret: SECRET }));
    expect(pointers(error)).toEqual(['/apiBase', '/clientId', '/clientSecret', '/kdtId', '/secret']);
    expect(error.detail).toContain('/kdtId must be the numeric shop id (kdt_id)');
    expect(JSON.stringify({ m: error.message, d: error.detail, x: error.extensions })).not.toContain(SECRET);
  });

  it.each([null, undefined, 'c1', 42, []])('rejects %j as a whole', (raw) => {
    expect(thrown(() => parseYouzanConfig(raw)).code).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('youzanConfigSchema', () => {
  it('marks clientSecret, and only clientSecret, as a secret', () => {
    const secrets = Object.entries(youzanConfigSchema.properties)
      .filter(([, schema]) => (schema as { secret?: unknown }).secret === true)
      .map(([name]) => name);
    expect(secrets).toEqual(['clientSecret']);
  });
});
