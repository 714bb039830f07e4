import type { CompiledRules } from './rules.js';
import type { IdentifierType } from './types.js';

/**
 * An identifier as the graph sees it: its type and an opaque key unique per
 * (type, collection, value). The server uses the keyed blind index; tests may use the value.
 */
export interface IdentityRef {
  readonly type: IdentifierType;
  readonly key: string;
}

/** A customer record. Merged customers keep their row: `root` is the customer they now belong to. */
export interface Member {
  readonly id: string;
  root: string;
  /** The customer this one was merged into (an edge of the merge tree), null for a root. */
  mergedInto: string | null;
}

export interface MergeRecord {
  /** The root that stopped being a root. */
  readonly from: string;
  readonly into: string;
  /** The identifier of the message that linked the two. */
  readonly via: IdentityRef;
}

export interface ConflictRecord {
  /** The existing customer that the message was not joined with (or the customer it joined, for a dropped identifier). */
  readonly customerId: string;
  readonly type: IdentifierType;
  readonly reason: 'limit_exceeded';
  /** The identifier of the message involved. */
  readonly identifier: IdentityRef;
}

export interface Resolution {
  /** The customer (member) the message is attributed to: events and new identifiers go here. */
  readonly customerId: string;
  readonly rootId: string;
  readonly created: boolean;
  readonly linked: readonly IdentityRef[];
  readonly merges: readonly MergeRecord[];
  readonly conflicts: readonly ConflictRecord[];
}

export interface UnmergeResult {
  /** The customer split off (root again), and every customer that went with it. */
  readonly restoredRoot: string;
  readonly movedMembers: readonly string[];
  readonly from: string;
}

/**
 * The identity graph (C1), pure and in memory. The server loads the part a batch touches,
 * resolves each message in turn, and persists what changed; tests drive it directly.
 *
 * Resolution is deterministic: candidates are taken in the order of the rules' priority
 * (then the message's own order); where no limit is hit the outcome is the connected
 * components of "appeared in one message", so it does not depend on arrival order.
 */
export class IdentityGraph {
  readonly #rules: CompiledRules;
  readonly #members = new Map<string, Member>();
  readonly #owner = new Map<string, { memberId: string; type: IdentifierType }>();
  /** Per root: the identifiers of limited types, for merge protection. */
  readonly #limited = new Map<string, Map<IdentifierType, Set<string>>>();

  constructor(rules: CompiledRules) {
    this.#rules = rules;
  }

  /** Adds a customer loaded from storage. */
  addMember(id: string, root: string, mergedInto: string | null): void {
    this.#members.set(id, { id, root, mergedInto });
  }

  /** Adds an identity loaded from storage (its member must be added too). */
  addIdentity(ref: IdentityRef, memberId: string): void {
    this.#owner.set(ref.key, { memberId, type: ref.type });
    const m = this.#members.get(memberId);
    if (m && Number.isFinite(this.#rules.limitOf(ref.type))) this.#limitedSet(m.root, ref.type).add(ref.key);
  }

  hasMember(id: string): boolean {
    return this.#members.has(id);
  }

  member(id: string): Readonly<Member> | undefined {
    return this.#members.get(id);
  }

  ownerOf(key: string): string | undefined {
    return this.#owner.get(key)?.memberId;
  }

  rootOf(memberId: string): string {
    return this.#members.get(memberId)?.root ?? memberId;
  }

  /** Every member id, for tests and snapshots. */
  memberIds(): string[] {
    return [...this.#members.keys()];
  }

  /** Every identity the graph holds, with its owner (the server's cache of the graph). */
  identities(): { key: string; type: IdentifierType; memberId: string }[] {
    return [...this.#owner].map(([key, o]) => ({ key, type: o.type, memberId: o.memberId }));
  }

  /** Whether identifiers of this type are limited per customer (and so matter for merge protection). */
  isLimited(type: IdentifierType): boolean {
    return Number.isFinite(this.#rules.limitOf(type));
  }

  /** Identifier keys grouped by root: the partition a user sees. */
  partition(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, o] of this.#owner) {
      const root = this.rootOf(o.memberId);
      const list = out.get(root) ?? [];
      list.push(key);
      out.set(root, list);
    }
    return out;
  }

  /**
   * Resolves one message's identifiers (normalized, unblocked) to a customer, creating or
   * merging customers as the rules allow.
   */
  resolve(ids: readonly IdentityRef[], newId: () => string): Resolution {
    const rank = this.#rules.rank;
    const unique = dedupe(ids);
    const sorted = unique
      .map((r, i) => ({ r, i }))
      .sort((a, b) => (rank.get(a.r.type) ?? 0) - (rank.get(b.r.type) ?? 0) || a.i - b.i)
      .map((x) => x.r);

    const candidates: { root: string; via: IdentityRef }[] = [];
    const free: IdentityRef[] = [];
    for (const r of sorted) {
      const o = this.#owner.get(r.key);
      if (!o) free.push(r);
      else {
        const root = this.rootOf(o.memberId);
        if (!candidates.some((c) => c.root === root)) candidates.push({ root, via: r });
      }
    }

    const conflicts: ConflictRecord[] = [];
    // A message may itself carry more values of a limited type than allowed: keep the first ones.
    const keptFree: IdentityRef[] = [];
    const counts = new Map<IdentifierType, number>();
    const dropped: IdentityRef[] = [];
    for (const r of free) {
      const n = counts.get(r.type) ?? 0;
      if (n >= this.#rules.limitOf(r.type)) dropped.push(r);
      else {
        counts.set(r.type, n + 1);
        keptFree.push(r);
      }
    }

    let target: string | null = null;
    const merges: MergeRecord[] = [];
    for (const c of candidates) {
      if (target === null) {
        if (this.#fits([c.root], keptFree)) target = c.root;
        else conflicts.push(this.#conflict(c.root, c.via, keptFree, [c.root]));
      } else if (this.#fits([target, c.root], keptFree)) {
        this.#merge(c.root, target);
        merges.push({ from: c.root, into: target, via: c.via });
      } else {
        conflicts.push(this.#conflict(c.root, c.via, keptFree, [target, c.root]));
      }
    }

    let created = false;
    let memberId: string;
    if (target === null) {
      memberId = newId();
      target = memberId;
      created = true;
      this.#members.set(memberId, { id: memberId, root: memberId, mergedInto: null });
    } else {
      // Attribute the message to the member that owns its highest-priority identifier in the target.
      const first = sorted.find((r) => {
        const o = this.#owner.get(r.key);
        return o !== undefined && this.rootOf(o.memberId) === target;
      });
      memberId = first ? (this.#owner.get(first.key)?.memberId ?? target) : target;
    }

    const linked: IdentityRef[] = [];
    for (const r of keptFree) {
      if (this.#fits([target], [r])) {
        this.addIdentity(r, memberId);
        linked.push(r);
      } else dropped.push(r);
    }
    for (const r of dropped) conflicts.push({ customerId: target, type: r.type, reason: 'limit_exceeded', identifier: r });

    return { customerId: memberId, rootId: target, created, linked, merges, conflicts };
  }

  /**
   * Splits `customerId` (a customer merged into its root, directly or not) off its root,
   * together with everything that had been merged into it. Reverses one merge edge.
   */
  unmerge(customerId: string): UnmergeResult | undefined {
    const m = this.#members.get(customerId);
    if (!m || m.mergedInto === null) return undefined;
    const oldRoot = m.root;
    const subtree = this.#subtree(customerId);
    m.mergedInto = null;
    for (const id of subtree) {
      const s = this.#members.get(id);
      if (s) s.root = customerId;
    }
    this.#rebuildLimited(oldRoot);
    this.#rebuildLimited(customerId);
    return { restoredRoot: customerId, movedMembers: subtree, from: oldRoot };
  }

  #subtree(top: string): string[] {
    const children = new Map<string, string[]>();
    for (const m of this.#members.values()) {
      if (m.mergedInto !== null) {
        const list = children.get(m.mergedInto) ?? [];
        list.push(m.id);
        children.set(m.mergedInto, list);
      }
    }
    const out: string[] = [];
    const stack = [top];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      out.push(id);
      stack.push(...(children.get(id) ?? []));
    }
    return out;
  }

  #rebuildLimited(root: string): void {
    this.#limited.delete(root);
    for (const [key, o] of this.#owner) {
      if (this.rootOf(o.memberId) === root && Number.isFinite(this.#rules.limitOf(o.type))) {
        this.#limitedSet(root, o.type).add(key);
      }
    }
  }

  #merge(from: string, into: string): void {
    for (const m of this.#members.values()) if (m.root === from) m.root = into;
    const fromMember = this.#members.get(from);
    if (fromMember) fromMember.mergedInto = into;
    const src = this.#limited.get(from);
    if (src) {
      for (const [type, keys] of src) for (const k of keys) this.#limitedSet(into, type).add(k);
      this.#limited.delete(from);
    }
  }

  #limitedSet(root: string, type: IdentifierType): Set<string> {
    let byType = this.#limited.get(root);
    if (!byType) {
      byType = new Map();
      this.#limited.set(root, byType);
    }
    let set = byType.get(type);
    if (!set) {
      set = new Set();
      byType.set(type, set);
    }
    return set;
  }

  /** Would the union of these roots' identifiers and `extra` stay within every limit? */
  #fits(roots: readonly string[], extra: readonly IdentityRef[]): boolean {
    return this.#firstBrokenLimit(roots, extra) === undefined;
  }

  #firstBrokenLimit(roots: readonly string[], extra: readonly IdentityRef[]): IdentifierType | undefined {
    const union = new Map<IdentifierType, Set<string>>();
    const add = (type: IdentifierType, key: string): void => {
      if (!Number.isFinite(this.#rules.limitOf(type))) return;
      let s = union.get(type);
      if (!s) union.set(type, (s = new Set()));
      s.add(key);
    };
    for (const root of roots) for (const [type, keys] of this.#limited.get(root) ?? []) for (const k of keys) add(type, k);
    for (const r of extra) add(r.type, r.key);
    for (const [type, s] of union) if (s.size > this.#rules.limitOf(type)) return type;
    return undefined;
  }

  #conflict(root: string, via: IdentityRef, extra: readonly IdentityRef[], roots: readonly string[]): ConflictRecord {
    const type = this.#firstBrokenLimit(roots, extra) ?? via.type;
    return { customerId: root, type, reason: 'limit_exceeded', identifier: via };
  }
}

function dedupe(ids: readonly IdentityRef[]): IdentityRef[] {
  const seen = new Set<string>();
  const out: IdentityRef[] = [];
  for (const r of ids) {
    if (!seen.has(r.key)) {
      seen.add(r.key);
      out.push(r);
    }
  }
  return out;
}
