import { buildIdentityRules, compileRules, type CompiledRules, type IdentityRulesInput } from '@datong/core';
import type { Db, Queryable } from '../db/client.js';
import { loadSegments, type StoredSegment } from './segments.js';
import { loadEnabledRules, type StoredRule } from './tag-rules.js';

/** What the inbox worker needs to know about a tenant for every batch. */
export interface TenantConfig {
  readonly version: number;
  readonly identityRules: CompiledRules;
  /** source id → source type (the channel of an event without a campaign source). */
  readonly sources: ReadonlyMap<string, string>;
  /** Event types some enabled webhook subscription wants. */
  readonly subscribed: ReadonlySet<string>;
  readonly tagRules: readonly StoredRule[];
  readonly segments: readonly StoredSegment[];
}

// Per database handle (tests run many in one process), per tenant.
const caches = new WeakMap<object, Map<string, TenantConfig>>();

/**
 * The tenant's worker configuration, read from the database only when `tenants.config_version`
 * has moved (triggers bump it on every change of settings, sources, webhook subscriptions, tag
 * rules and segments). One small read per batch instead of four, and identity rules compiled once.
 */
export async function tenantConfig(db: Db, q: Queryable, tenantId: string): Promise<TenantConfig> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const v = await q.query<{ config_version: number; rules: IdentityRulesInput | null }>(
    "SELECT config_version, settings->'identityRules' AS rules FROM tenants WHERE id = $1",
    [tenantId],
  );
  const row = v.rows[0];
  const version = Number(row?.config_version ?? -1);
  const hit = cache.get(tenantId);
  if (hit && hit.version === version) return hit;
  // One after another: a transaction's connection runs one statement at a time.
  const sources = await q.query<{ id: string; type: string }>('SELECT id, type FROM sources WHERE tenant_id = $1', [tenantId]);
  const subscribed = await q.query<{ t: string }>('SELECT DISTINCT unnest(event_types) AS t FROM webhook_subscriptions WHERE tenant_id = $1 AND enabled', [tenantId]);
  const tagRules = await loadEnabledRules(q, tenantId);
  const segments = await loadSegments(q, tenantId);
  const config: TenantConfig = {
    version,
    identityRules: compileRules(buildIdentityRules(row?.rules ?? {})),
    sources: new Map(sources.rows.map((s) => [s.id, s.type])),
    subscribed: new Set(subscribed.rows.map((x) => x.t)),
    tagRules,
    segments,
  };
  cache.set(tenantId, config);
  return config;
}
