import { describe, expect, it } from 'vitest';
import * as connectors from '../index.js';
import { miniprogram } from './index.js';

describe('miniprogram definition', () => {
  it('names the platform and exposes config, client and decryption', () => {
    expect(miniprogram.platform).toBe('wechat_miniprogram');
    expect(miniprogram.configSchema.properties).toHaveProperty('appSecret.secret', true);
    expect(miniprogram.parseConfig({ appId: 'wx1', appSecret: 's' }).apiBase).toBe('https://api.weixin.qq.com');
    expect(typeof miniprogram.createClient).toBe('function');
    expect(typeof miniprogram.decryptOpenData).toBe('function');
    expect(Object.isFrozen(miniprogram)).toBe(true);
  });

  it('is reachable from the package root together with the kit helpers', () => {
    expect(connectors.miniprogram).toBe(miniprogram);
    expect(typeof connectors.timingSafeEqualStr).toBe('function');
    expect(typeof connectors.requestJson).toBe('function');
    expect(typeof connectors.startFakeWechatServer).toBe('function');
  });
});
