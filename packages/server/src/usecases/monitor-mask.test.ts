import { describe, expect, it } from 'vitest';
import { keyKind, maskedExcerpt, maskFreeText, maskPayload } from './monitor-mask.js';

describe('maskFreeText', () => {
  it('masks phone numbers and emails inside text and keeps the rest', () => {
    expect(maskFreeText('请致电 13812345678 或发邮件到 zhang.san@example.com')).toBe('请致电 138****5678 或发邮件到 z***@example.com');
    expect(maskFreeText('+86 138-1234-5678')).toBe('138****5678');
    expect(maskFreeText('call (021) 6123 4567')).toBe('call (021****4567');
  });

  it('keeps dates, times, addresses of machines and ids glued to letters', () => {
    // These look like digit runs but are nobody's personal data; masking them would only hide the error.
    for (const s of ['2024-01-01T12:00:00.000Z', '2024-01-01 12:00', 'connect ECONNREFUSED 127.0.0.1:3000', 'order E2024010112345678', 'HTTP 503', 'total 198.00']) {
      expect(maskFreeText(s)).toBe(s);
    }
  });
});

describe('keyKind', () => {
  it('knows core keys and keys that contain a personal word', () => {
    expect(keyKind('phone')).toBe('phone');
    expect(keyKind('buyer_phone')).toBe('phone');
    expect(keyKind('receiverMobile')).toBe('phone');
    expect(keyKind('contactEmail')).toBe('email');
    expect(keyKind('receiver_name')).toBe('name');
    expect(keyKind('delivery_address')).toBe('text');
    expect(keyKind('sku')).toBeNull();
    expect(keyKind('hotel')).toBeNull();
  });
});

describe('maskPayload', () => {
  it('masks by key, by identifier type, by the field of a quarantined value, and inside any string', () => {
    const input = {
      type: 'identify',
      userId: 'zhang@example.com',
      traits: { name: '欧阳娜娜', phone: 13812345678, address: { city: '杭州', street: '文三路 1 号' }, age: 30 },
      context: { externalIds: [{ id: '+8613912345678', type: 'phone', collection: 'users' }, { id: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M', type: 'wechat_openid', collection: 'wx1' }] },
      quarantined: { field: 'traits.email', value: 'not-an-email@', reason: 'email is not a valid email address' },
    };
    expect(maskPayload(input)).toEqual({
      type: 'identify',
      userId: 'z***@example.com',
      traits: { name: '欧***', phone: '138****5678', address: '***', age: 30 },
      context: { externalIds: [{ id: '139****5678', type: 'phone', collection: 'users' }, { id: 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M', type: 'wechat_openid', collection: 'wx1' }] },
      quarantined: { field: 'traits.email', value: 'n***@', reason: 'email is not a valid email address' },
    });
  });

  it('does not change its input and keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"phone": "13812345678"}, "a": [1, "x"]}') as Record<string, unknown>;
    const copy = structuredClone(input);
    const out = maskPayload(input) as Record<string, unknown>;
    expect(input).toEqual(copy);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"phone":"138****5678"},"a":[1,"x"]}');
  });
});

describe('maskedExcerpt', () => {
  it('cuts long payloads after masking them', () => {
    const text = maskedExcerpt({ phone: '13812345678', note: '长'.repeat(5000) }, 100);
    expect(Array.from(text)).toHaveLength(100);
    expect(text.startsWith('{"phone":"138****5678","note":"长长')).toBe(true);
    expect(text.endsWith('…')).toBe(true);
  });
});
