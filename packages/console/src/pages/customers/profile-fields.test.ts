import { describe, expect, it } from 'vitest';
import { rowsToTraits, traitsToRows } from './profile-fields';

describe('the custom-field form', () => {
  it('keeps value types, and sends null for a removed field (the API merges traits)', () => {
    const before = { name: '李雷', city: '上海', points: 120, vip: true, legacy: 'x' };
    const rows = traitsToRows(before).filter((r) => r.key !== 'legacy');
    expect(rows.map((r) => r.kind)).toEqual(['text', 'number', 'boolean']);
    expect(rowsToTraits([...rows, { key: 'level', kind: 'text', value: '金卡' }], before)).toEqual({ city: '上海', points: 120, vip: true, legacy: null, level: '金卡' });
  });
});
