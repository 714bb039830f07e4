import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdentityGraph, type IdentityRef } from './graph.js';
import { buildIdentityRules, compileRules } from './rules.js';
import type { IdentifierType } from './types.js';

const UNLIMITED = compileRules(buildIdentityRules({ limits: {} }));
const DEFAULT = compileRules(buildIdentityRules());

function idGen(): () => string {
  let n = 0;
  return () => `c${++n}`;
}

/** A partition as a canonical, id-free value: sorted groups of sorted keys. */
function canonical(g: IdentityGraph): string[][] {
  return [...g.partition().values()].map((keys) => [...keys].sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

function run(rules = UNLIMITED, messages: IdentityRef[][]): IdentityGraph {
  const g = new IdentityGraph(rules);
  const next = idGen();
  for (const m of messages) g.resolve(m, next);
  return g;
}

const TYPES: IdentifierType[] = ['user_id', 'phone', 'email', 'wechat_openid', 'wechat_unionid', 'anonymous_id'];
const ref = fc.record({ type: fc.constantFrom(...TYPES), n: fc.integer({ min: 0, max: 12 }) }).map(({ type, n }): IdentityRef => ({ type, key: `${type}:${n}` }));
const message = fc.array(ref, { minLength: 1, maxLength: 4 });
const messages = fc.array(message, { minLength: 1, maxLength: 25 });

/** Connected components of "appeared in one message" — what OneID must compute when no limit applies. */
function components(msgs: IdentityRef[][]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const r = find(p);
    parent.set(x, r);
    return r;
  };
  for (const m of msgs) {
    for (const r of m) if (!parent.has(r.key)) parent.set(r.key, r.key);
    for (const r of m.slice(1)) parent.set(find(r.key), find(m[0]?.key ?? r.key));
  }
  const groups = new Map<string, string[]>();
  for (const k of parent.keys()) {
    const root = find(k);
    groups.set(root, [...(groups.get(root) ?? []), k]);
  }
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

describe('IdentityGraph (properties)', () => {
  it('without limits, the customers are the connected components, whatever the arrival order', () => {
    fc.assert(
      fc.property(messages, fc.context(), (msgs, ctx) => {
        const g = run(UNLIMITED, msgs);
        ctx.log(JSON.stringify(canonical(g)));
        expect(canonical(g)).toEqual(components(msgs));
      }),
      { numRuns: 300 },
    );
  });

  it('without limits, any permutation of the messages gives the same customers', () => {
    fc.assert(
      fc.property(messages.chain((m) => fc.tuple(fc.constant(m), fc.shuffledSubarray(m, { minLength: m.length, maxLength: m.length }))), ([a, b]) => {
        expect(canonical(run(UNLIMITED, b))).toEqual(canonical(run(UNLIMITED, a)));
      }),
      { numRuns: 300 },
    );
  });

  it('with the default limits, no customer ever holds more than one phone, unionid or user id', () => {
    fc.assert(
      fc.property(messages, (msgs) => {
        const g = run(DEFAULT, msgs);
        for (const keys of g.partition().values()) {
          for (const t of ['phone', 'wechat_unionid', 'user_id']) expect(keys.filter((k) => k.startsWith(`${t}:`)).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('where limits allow, merges are transitive: a~b and b~c put a and c on one customer', () => {
    fc.assert(
      fc.property(fc.uniqueArray(ref, { minLength: 3, maxLength: 6, selector: (r) => r.key }), (ids) => {
        const [a, b, c] = ids as [IdentityRef, IdentityRef, IdentityRef];
        const g = run(UNLIMITED, [[a, b], [b, c]]);
        expect(g.rootOf(g.ownerOf(a.key) ?? '')).toBe(g.rootOf(g.ownerOf(c.key) ?? ''));
      }),
    );
  });

  it('every identifier seen in a message is kept: merges never lose one', () => {
    fc.assert(
      fc.property(messages, (msgs) => {
        const g = run(DEFAULT, msgs);
        const all = new Set(msgs.flat().map((r) => r.key));
        const kept = new Set([...g.partition().values()].flat());
        // Identifiers dropped by a limit were never linked; every other identifier is kept exactly once.
        for (const k of kept) expect(all.has(k)).toBe(true);
        expect([...g.partition().values()].flat().length).toBe(kept.size);
      }),
    );
  });

  it('unmerge after merge restores the customers as they were', () => {
    fc.assert(
      fc.property(messages, fc.nat(), fc.nat(), (msgs, i, j) => {
        const g = run(UNLIMITED, msgs);
        const before = canonical(g);
        const groups = [...g.partition().values()];
        if (groups.length < 2) return;
        const x = groups[i % groups.length] as string[];
        const y = groups[(i + 1 + (j % (groups.length - 1))) % groups.length] as string[];
        const bridge: IdentityRef[] = [x[0], y[0]].map((key) => ({ type: (key as string).split(':')[0] as IdentifierType, key: key as string }));
        const res = g.resolve(bridge, () => 'bridge');
        expect(res.merges).toHaveLength(1);
        expect(canonical(g).length).toBe(before.length - 1);
        const undone = g.unmerge(res.merges[0]?.from ?? '');
        expect(undone).toBeDefined();
        expect(canonical(g)).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});

describe('IdentityGraph (examples)', () => {
  const phone = (n: string): IdentityRef => ({ type: 'phone', key: `phone:${n}` });
  const email = (n: string): IdentityRef => ({ type: 'email', key: `email:${n}` });
  const openid = (n: string): IdentityRef => ({ type: 'wechat_openid', key: `openid:${n}` });

  it('does not join a message with phone B to the customer with phone A, even when they share a family email (merge protection)', () => {
    const g = new IdentityGraph(DEFAULT);
    const next = idGen();
    const a = g.resolve([phone('A'), email('family')], next);
    const b = g.resolve([phone('B'), email('family')], next);
    expect(b.rootId).not.toBe(a.rootId);
    expect(b.created).toBe(true);
    expect(b.conflicts).toEqual([{ customerId: a.rootId, type: 'phone', reason: 'limit_exceeded', identifier: email('family') }]);
    expect(g.ownerOf('email:family')).toBe(a.customerId);
  });

  it('merges two customers that a message links, keeping the one found by the higher-priority identifier', () => {
    const g = new IdentityGraph(DEFAULT);
    const next = idGen();
    const mall = g.resolve([openid('o1')], next);
    const order = g.resolve([phone('P')], next);
    const link = g.resolve([openid('o1'), phone('P')], next);
    expect(link.rootId).toBe(order.rootId);
    expect(link.merges).toEqual([{ from: mall.rootId, into: order.rootId, via: openid('o1') }]);
  });

  it('blocks a merge that would give a customer two phones, and records the conflict', () => {
    const g = new IdentityGraph(DEFAULT);
    const next = idGen();
    const x = g.resolve([phone('A'), openid('o1')], next);
    const y = g.resolve([phone('B'), email('e')], next);
    const m = g.resolve([openid('o1'), email('e')], next);
    expect(m.merges).toEqual([]);
    expect(m.rootId).toBe(y.rootId);
    expect(m.conflicts).toEqual([{ customerId: x.rootId, type: 'phone', reason: 'limit_exceeded', identifier: openid('o1') }]);
  });

  it('unmerge splits off everything that had been merged into the restored customer', () => {
    const g = new IdentityGraph(UNLIMITED);
    const next = idGen();
    const a = g.resolve([email('a')], next);
    const b = g.resolve([email('b')], next);
    const c = g.resolve([email('c')], next);
    g.resolve([email('b'), email('c')], next);
    const all = g.resolve([email('a'), email('b')], next);
    expect(new Set([a, b, c].map((r) => g.rootOf(r.customerId))).size).toBe(1);
    const undone = g.unmerge(all.merges[0]?.from ?? '');
    expect([...(undone?.movedMembers ?? [])].sort()).toEqual([b.customerId, c.customerId].sort());
    expect(g.rootOf(c.customerId)).toBe(g.rootOf(b.customerId));
    expect(g.rootOf(a.customerId)).not.toBe(g.rootOf(b.customerId));
  });
});
