import { describe, expect, it } from 'vitest';
import { normalizePhone } from '@datong/core';
import { SIM_PLATFORMS, type SimPlatform } from './model.js';
import { createPopulation, maskPhone } from './population.js';

const ALL: readonly SimPlatform[] = SIM_PLATFORMS;

describe('createPopulation', () => {
  it('is the same for the same seed and different for another', () => {
    const a = createPopulation({ seed: '7', shoppers: 200, platforms: ALL });
    expect(createPopulation({ seed: '7', shoppers: 200, platforms: ALL })).toEqual(a);
    expect(createPopulation({ seed: '8', shoppers: 200, platforms: ALL })).not.toEqual(a);
  });

  it('gives everyone a valid, distinct Chinese mobile number and at least one account', () => {
    const people = createPopulation({ seed: '1', shoppers: 1000, platforms: ALL });
    const phones = new Set<string>();
    for (const s of people) {
      expect(normalizePhone(s.phone)).toBe(s.phone);
      expect(s.phone).toMatch(/^\+861\d{10}$/);
      phones.add(s.phone);
      if (s.mall) expect(normalizePhone(s.mall.typedPhone)).toBe(s.phone);
      for (const account of [s.youzan, s.taobao]) if (account) expect(normalizePhone(account.phone)).toBe(account.phone);
      expect([s.mall, s.youzan, s.taobao, s.doudian, s.meituan].some((a) => a !== undefined)).toBe(true);
    }
    expect(phones.size).toBe(1000);
  });

  it('shares the main phone in clear on about the requested share of Youzan and Taobao accounts', () => {
    const people = createPopulation({ seed: '1', shoppers: 3000, platforms: ALL, sharedPhoneRate: 0.6 });
    const accounts = people.flatMap((s) => [s.youzan, s.taobao].filter((a) => a !== undefined).map((a) => ({ a, main: s.phone })));
    const shared = accounts.filter(({ a, main }) => a.phoneInClear && a.phone === main).length / accounts.length;
    expect(accounts.length).toBeGreaterThan(1500);
    expect(shared).toBeGreaterThan(0.55);
    expect(shared).toBeLessThan(0.65);
    // Some accounts hide the number, some use another one: those shoppers stay apart by phone.
    expect(accounts.some(({ a }) => !a.phoneInClear)).toBe(true);
    expect(accounts.some(({ a, main }) => a.phoneInClear && a.phone !== main)).toBe(true);
    // And most people with two or more linkable accounts are linked by their number.
    const linkable = people.filter((s) => s.mall?.givesPhone === true && (s.youzan?.phoneInClear === true || s.taobao?.phoneInClear === true));
    expect(linkable.length).toBeGreaterThan(300);
  });

  it('makes accounts only on the platforms in use, and the same person whatever the platforms', () => {
    const all = createPopulation({ seed: '3', shoppers: 100, platforms: ALL });
    const two = createPopulation({ seed: '3', shoppers: 100, platforms: ['mall', 'youzan'] });
    for (const [i, s] of two.entries()) {
      expect(s.taobao ?? s.doudian ?? s.meituan).toBeUndefined();
      expect(s.phone).toBe(all[i]?.phone);
      if (s.youzan && all[i]?.youzan) expect(s.youzan).toEqual(all[i]?.youzan);
    }
  });

  it('gives unionids only to mall users, and the member centre only to those with a unionid', () => {
    const people = createPopulation({ seed: '1', shoppers: 1000, platforms: ALL });
    expect(people.filter((s) => s.unionid !== undefined && s.mall === undefined)).toEqual([]);
    expect(people.filter((s) => s.mall?.memberCentreOpenid !== undefined && s.unionid === undefined)).toEqual([]);
    expect(people.filter((s) => s.mall?.memberCentreOpenid !== undefined).length).toBeGreaterThan(50);
  });
});

describe('maskPhone', () => {
  it('masks as the platforms do', () => {
    expect(maskPhone('+8613812345678')).toBe('138****5678');
  });
});
