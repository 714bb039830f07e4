import { randomBytes } from 'node:crypto';
import type { IdentifierType, IdentityGraph } from '@datong/core';

/** A customer of the identity graph as the cache keeps it, with its stored first/last seen times (ms). */
export interface CachedMember {
  readonly id: string;
  root: string;
  mergedInto: string | null;
  fs: number;
  ls: number;
}

/** An identity and the customer that owns it. */
export interface CachedIdentity {
  readonly key: string;
  readonly type: IdentifierType;
  readonly memberId: string;
}

/** A root with all its members and all their identities of limited types: what merge protection needs. */
interface RootEntry {
  readonly members: CachedMember[];
  readonly limited: CachedIdentity[];
}

/** One tenant's entries, valid while `token` is the last committed holder's of the tenant's identity lock. */
interface TenantCache {
  token: string | null;
  /** Whether every customer the last store changed is still here (no map emptied since): speculations need it. */
  speculable: boolean;
  configVersion: number;
  readonly owners: Map<string, CachedIdentity>;
  readonly absent: Set<string>;
  readonly members: Map<string, CachedMember>;
  readonly roots: Map<string, RootEntry>;
}

export interface IdentityCacheLimits {
  /** Customers kept per tenant (with their roots); beyond it the tenant's customers are forgotten and the cache refills. */
  readonly members: number;
  /** Identity → owner entries per tenant. */
  readonly owners: number;
  /** Identities known to be absent, per tenant. */
  readonly absent: number;
  /** Tenants kept. */
  readonly tenants: number;
}

/**
 * Limits for `customers` customers a tenant: identities twice as many, absent keys as many. A customer with two
 * identities takes about 1.1 KB (measured with 100,000), so 50,000 take ~60 MB, and at most 4 tenants are kept.
 */
export function identityCacheLimits(customers: number): IdentityCacheLimits {
  return { members: customers, owners: 2 * customers, absent: customers, tenants: 4 };
}

/** Found in the cache for a batch's keys; `missing`: the keys the database must be asked about. */
export interface CacheLookup {
  readonly members: CachedMember[];
  readonly identities: CachedIdentity[];
  readonly missing: string[];
}

/** What one transaction leaves behind, for `IdentityCacheView.store`. */
export interface GraphChanges {
  /** The batch's graph after resolution. */
  readonly graph: IdentityGraph;
  /** Customers whose root must be written again: loaded from the database, created, merged, or given an identity of a limited type. */
  readonly touched: Iterable<string>;
  /** Identities to remember: loaded from the database or linked by this transaction. */
  readonly identities: Iterable<CachedIdentity>;
  /** First/last seen times as stored now, for the customers loaded, created or updated. */
  readonly seen: ReadonlyMap<string, { fs: number; ls: number }>;
  /** The keys the database was asked about: absent unless they have an owner now. */
  readonly asked: readonly string[];
}

/**
 * The part of each tenant's identity graph this process saw last, so that identity resolution
 * under the tenant's lock asks the database only about what it does not know (issue 2: the graph
 * read was the costliest statement of a batch, and it runs under the lock).
 *
 * It is exact or not used. Every transaction that resolves identities or changes the graph holds
 * the tenant's identity lock, and taking it writes a fresh token and returns the previous one
 * (`lockTenantIdentities`). A process that stores what its transaction changed, under that
 * transaction's token, knows on its next turn whether anyone else held the lock since: if the
 * previous token is not its own (another process, an unmerge, a rolled-back transaction), it
 * forgets the tenant's entries and reads from the database again. So several processes resolving
 * for one tenant at once gain little from it; one server (the embedded database, or one ingest
 * process on PostgreSQL) gains the most.
 *
 * Plain maps, emptied when full rather than evicted one entry at a time: an LRU's bookkeeping on
 * every get and set cost more server CPU than the statement it saved (bench/diagnose.mjs).
 * Every lookup checks each link (identity → customer → root entry), so any map may be emptied
 * on its own.
 */
export class IdentityCache {
  readonly #limits: IdentityCacheLimits;
  readonly #tenants = new Map<string, TenantCache>();
  readonly #planning = new Map<string, Promise<void>>();

  constructor(limits: IdentityCacheLimits = identityCacheLimits(50_000)) {
    this.#limits = limits;
  }

  /**
   * The cache for one transaction holding the tenant's identity lock. `prevToken`: the token the
   * lock returned (the last committed holder's); entries are used only if that holder was this
   * cache's last writer, with the same configuration (it decides which types are limited).
   */
  open(tenantId: string, prevToken: string | null, configVersion: number): IdentityCacheView {
    let t = this.#tenants.get(tenantId);
    if (!t || prevToken === null || t.token !== prevToken || t.configVersion !== configVersion) {
      if (!t && this.#tenants.size >= this.#limits.tenants) this.#tenants.clear();
      t = { token: null, speculable: false, configVersion, owners: new Map(), absent: new Set(), members: new Map(), roots: new Map() };
      this.#tenants.set(tenantId, t);
    }
    return new IdentityCacheView(t, this.#limits);
  }

  /**
   * The token of this cache's last store for the tenant (with this configuration), or null: what
   * a speculation builds on (`applyMessagesOptimistically`). It may belong to a transaction that
   * has not committed yet, or never will; the lock tells afterwards.
   */
  head(tenantId: string, configVersion: number): string | null {
    const t = this.#tenants.get(tenantId);
    return t && t.configVersion === configVersion && t.speculable ? t.token : null;
  }

  /**
   * The tenant's planning turn: waits until the previous holder released it (its speculation
   * confirmed, redone, or failed), then returns this holder's release.
   */
  async planning(tenantId: string): Promise<() => void> {
    const before = this.#planning.get(tenantId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = before.then(() => mine);
    this.#planning.set(tenantId, chained);
    void chained.then(() => {
      if (this.#planning.get(tenantId) === chained) this.#planning.delete(tenantId);
    });
    await before;
    return release;
  }
}

/** The identity cache as one transaction sees it: under the tenant's identity lock, or speculating on the head token. */
export class IdentityCacheView {
  readonly #t: TenantCache;
  readonly #limits: IdentityCacheLimits;
  /** The token the entries had when this view was opened. */
  readonly #base: string | null;

  constructor(t: TenantCache, limits: IdentityCacheLimits) {
    this.#t = t;
    this.#limits = limits;
    this.#base = t.token;
  }

  /** What the cache knows about these keys: owners, their roots' members and limited identities; the rest is missing. */
  lookup(keys: readonly string[]): CacheLookup {
    const t = this.#t;
    if (this.#limits.members === 0) return { members: [], identities: [], missing: [...keys] };
    const out: CacheLookup = { members: [], identities: [], missing: [] };
    const roots = new Set<string>();
    for (const key of keys) {
      const owner = t.owners.get(key);
      if (!owner) {
        if (!t.absent.has(key)) out.missing.push(key);
        continue;
      }
      const root = t.members.get(owner.memberId)?.root;
      const entry = root === undefined ? undefined : t.roots.get(root);
      if (root === undefined || !entry) {
        out.missing.push(key);
        continue;
      }
      out.identities.push(owner);
      if (roots.has(root)) continue;
      roots.add(root);
      for (const m of entry.members) out.members.push(m);
      for (const i of entry.limited) out.identities.push(i);
    }
    return out;
  }

  /**
   * The cache's root entries (members and limited identities) of these customers, where it has
   * them. A speculation reads the database before the previous batch has committed; every customer
   * that batch changed is here as it left them, so these entries win over what the database said.
   */
  overlay(memberIds: Iterable<string>): { members: CachedMember[]; identities: CachedIdentity[] } {
    const t = this.#t;
    const out = { members: [] as CachedMember[], identities: [] as CachedIdentity[] };
    const roots = new Set<string>();
    for (const id of memberIds) {
      const root = t.members.get(id)?.root;
      if (root === undefined || roots.has(root)) continue;
      const entry = t.roots.get(root);
      if (!entry) continue;
      roots.add(root);
      out.members.push(...entry.members);
      out.identities.push(...entry.limited);
    }
    return out;
  }

  /**
   * Records the graph as this transaction leaves it, before its commit (`token`: the token its
   * lock wrote). If the commit fails the database keeps the previous token, and the next holder
   * finds that it is not this one: the entries are then dropped.
   */
  store(token: string, c: GraphChanges): void {
    const t = this.#t;
    if (this.#limits.members === 0) return;
    if (t.token !== this.#base) {
      // Another transaction stored since this one opened (a speculation, applyMessagesOptimistically
      // in jobs/process-inbox.ts): the entries now hold changes this one did not build on. Start again.
      t.owners.clear();
      t.absent.clear();
      t.members.clear();
      t.roots.clear();
      t.token = null;
      t.speculable = false;
      return;
    }
    try {
      const { graph } = c;
      // Roots rebuilt whole from the graph (which holds every member and limited identity of each).
      const rebuilt = new Map<string, RootEntry>();
      for (const id of c.touched) {
        const root = graph.rootOf(id);
        if (!rebuilt.has(root)) rebuilt.set(root, { members: [], limited: [] });
      }
      if (rebuilt.size > 0) {
        for (const id of graph.memberIds()) {
          const m = graph.member(id);
          if (!m) continue;
          const entry = rebuilt.get(m.root);
          if (!entry) continue;
          let rec = t.members.get(id);
          if (!rec) {
            const s = c.seen.get(id);
            if (!s) throw new Error(`no first/last seen times for customer ${id}`);
            rec = { id, root: m.root, mergedInto: m.mergedInto, fs: s.fs, ls: s.ls };
            t.members.set(id, rec);
          }
          rec.root = m.root;
          rec.mergedInto = m.mergedInto;
          entry.members.push(rec);
          // A customer merged into another is no root any more.
          if (m.root !== id) t.roots.delete(id);
        }
        for (const i of graph.identities()) {
          if (!graph.isLimited(i.type)) continue;
          const entry = rebuilt.get(graph.rootOf(i.memberId));
          if (entry) entry.limited.push(i);
        }
        for (const [root, entry] of rebuilt) t.roots.set(root, entry);
      }
      for (const [id, s] of c.seen) {
        const rec = t.members.get(id);
        if (rec) {
          rec.fs = s.fs;
          rec.ls = s.ls;
        }
      }
      for (const i of c.identities) {
        t.owners.set(i.key, i);
        t.absent.delete(i.key);
      }
      for (const key of c.asked) if (graph.ownerOf(key) === undefined) t.absent.add(key);
      // Full: start again (each lookup checks every link, so the maps may be emptied separately).
      // A speculation builds on this token only while the entries are whole (see `overlay`).
      let whole = true;
      if (t.members.size > this.#limits.members) {
        t.members.clear();
        t.roots.clear();
        whole = false;
      }
      if (t.owners.size > this.#limits.owners) {
        t.owners.clear();
        whole = false;
      }
      if (t.absent.size > this.#limits.absent) t.absent.clear();
      t.token = token;
      t.speculable = whole;
    } catch {
      // Never a reason to fail the batch: the next one reads from the database.
      t.token = null;
      t.speculable = false;
    }
  }
}

const caches = new WeakMap<object, IdentityCache>();

/** The identity cache of a database handle (tests run several in one process), holding up to `customers` customers a tenant. */
export function identityCacheFor(db: object, customers: number): IdentityCache {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new IdentityCache(identityCacheLimits(customers))));
  return c;
}

const processTag = randomBytes(6).toString('hex');
let lockCounter = 0;

/** A token no other transaction writes: this process's random tag and a counter. */
export function nextLockToken(): string {
  lockCounter++;
  return `${processTag}.${lockCounter}`;
}
