import { Type } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { baseUrlProblem, checkConfig, withoutTrailingSlashes } from './config.js';

const schema = Type.Object(
  {
    appId: Type.String({ minLength: 1 }),
    appSecret: Type.String({ minLength: 1, secret: true }),
    shopId: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
    apiBase: Type.Optional(Type.String({ format: 'uri' })),
  },
  { additionalProperties: false },
);

const SECRET = 'fake0secret0for0kit0tests0a1b2c3';

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

describe('checkConfig', () => {
  it('returns a valid config as given, typed', () => {
    const raw = { appId: 'a1', appSecret: SECRET, apiBase: 'https://api.example.com/' };
    const input = checkConfig(schema, raw, { name: 'Demo' });
    expect(input).toBe(raw);
    expect(input.apiBase).toBe('https://api.example.com/');
  });

  it('names a missing field, once, with the platform in the message', () => {
    const error = thrown(() => checkConfig(schema, { appId: 'a1' }, { name: 'Demo' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.detail).toBe('Demo config is invalid: /appSecret Expected required property');
    expect(error.extensions).toStrictEqual({ errors: [{ pointer: '/appSecret', message: 'Expected required property' }] });
  });

  it("reports every problem at once, in TypeBox's order", () => {
    const error = thrown(() => checkConfig(schema, { appId: '', shopId: 'x', extra: 1 }, { name: 'Demo' }));
    expect(error.extensions?.['errors']).toStrictEqual([
      { pointer: '/appSecret', message: 'Expected required property' },
      { pointer: '/extra', message: 'Unexpected property' },
      { pointer: '/appId', message: 'Expected string length greater or equal to 1' },
      { pointer: '/shopId', message: "Expected string to match '^[0-9]+$'" },
    ]);
  });

  it('points at the config itself when it is not an object', () => {
    for (const raw of ['x', null, 5]) {
      const error = thrown(() => checkConfig(schema, raw, { name: 'Demo' }));
      expect(error.detail).toBe('Demo config is invalid: / Expected object');
    }
  });

  it("uses the platform's own message where it gives one, TypeBox's elsewhere", () => {
    const error = thrown(() =>
      checkConfig(schema, { appId: '', appSecret: SECRET, shopId: 'x' }, {
        name: 'Demo',
        describe: (e) => (e.type === ValueErrorType.StringPattern ? 'must be the numeric shop id' : undefined),
      }),
    );
    expect(error.detail).toBe('Demo config is invalid: /appId Expected string length greater or equal to 1; /shopId must be the numeric shop id');
  });

  it('checks `format: uri` fields as base URLs, after the schema problems', () => {
    const error = thrown(() => checkConfig(schema, { appSecret: SECRET, apiBase: 'ftp://files.example.com' }, { name: 'Demo' }));
    expect(error.detail).toBe('Demo config is invalid: /appId Expected required property; /apiBase must use http or https');
  });

  it('never echoes a value, a secret pasted into the wrong field included', () => {
    const error = thrown(() => checkConfig(schema, { appId: SECRET, appSecret: '', apiBase: `https://u:${SECRET}@x.example` }, { name: 'Demo' }));
    expect(JSON.stringify({ m: error.message, d: error.detail, x: error.extensions, meta: error.meta })).not.toContain(SECRET);
    expect(error.extensions?.['errors']).toStrictEqual([
      { pointer: '/appSecret', message: 'Expected string length greater or equal to 1' },
      { pointer: '/apiBase', message: 'must not contain credentials' },
    ]);
  });
});

describe('baseUrlProblem', () => {
  it('accepts absolute http(s) URLs with a path', () => {
    expect(baseUrlProblem('https://waimaiopen.meituan.com/api/v1/')).toBeUndefined();
    expect(baseUrlProblem('http://127.0.0.1:8080')).toBeUndefined();
  });

  it('says what is wrong with anything else', () => {
    expect(baseUrlProblem('api.weixin.qq.com')).toBe('must be an absolute URL');
    expect(baseUrlProblem('ftp://example.com')).toBe('must use http or https');
    expect(baseUrlProblem('https://example.com/?a=1')).toBe('must not have a query string or a fragment');
    expect(baseUrlProblem('https://example.com/#top')).toBe('must not have a query string or a fragment');
    expect(baseUrlProblem('https://user:pass@example.com')).toBe('must not contain credentials');
  });
});

describe('withoutTrailingSlashes', () => {
  it('drops every trailing slash and nothing else', () => {
    expect(withoutTrailingSlashes('https://eco.taobao.com/router/rest//')).toBe('https://eco.taobao.com/router/rest');
    expect(withoutTrailingSlashes('https://open.youzanyun.com')).toBe('https://open.youzanyun.com');
  });
});
