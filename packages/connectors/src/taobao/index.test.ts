import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { taobao } from './index.js';

describe('taobao connector definition', () => {
  it('is the taobao platform with secrets marked in its schema', () => {
    expect(taobao.platform).toBe('taobao');
    const properties = (taobao.configSchema as unknown as { properties: Record<string, { secret?: boolean }> }).properties;
    expect(properties['appSecret']?.secret).toBe(true);
    expect(properties['sessionKey']?.secret).toBe(true);
    expect(properties['appKey']?.secret).toBeUndefined();
  });

  it('fills in defaults and fails closed without its secrets', () => {
    expect(taobao.parseConfig({ appKey: '12345678', appSecret: 's', sessionKey: 'k' })).toStrictEqual({
      appKey: '12345678',
      appSecret: 's',
      sessionKey: 'k',
      apiBase: 'https://eco.taobao.com/router/rest',
      signMethod: 'hmac-sha256',
      fetchTradeDetails: true,
    });
    expect(() => taobao.parseConfig({ appKey: '12345678' })).toThrow(DatongError);
    expect(() => taobao.parseConfig({ appKey: '12345678', appSecret: 's', sessionKey: 'k', signMethod: 'sha1' })).toThrow(
      /signMethod must be one of md5, hmac, hmac-sha256/,
    );
  });

  it('answers a plain 200 "success" (TOP never reads it: TMC is pulled) and an error status otherwise', () => {
    expect(taobao.successReply).toStrictEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });
    expect(taobao.failureReply('CONNECTOR_SIGNATURE_INVALID')).toStrictEqual({
      status: 401,
      contentType: 'text/plain; charset=utf-8',
      body: 'CONNECTOR_SIGNATURE_INVALID',
    });
    expect(taobao.failureReply('MESSAGE_INVALID').status).toBe(400);
    expect(taobao.failureReply('SOMETHING_ELSE').status).toBe(500);
  });

  it('refuses every push', () => {
    const config = taobao.parseConfig({ appKey: '12345678', appSecret: 's', sessionKey: 'k' });
    expect(() =>
      taobao.verify(
        { method: 'POST', url: '/v1/hooks/taobao/con_1', headers: {}, rawBody: Buffer.from('{}') },
        config,
        { now: new Date(), publicUrl: 'https://datong.example.com/v1/hooks/taobao/con_1' },
      ),
    ).toThrow(/CONNECTOR_SIGNATURE_INVALID/);
  });
});
