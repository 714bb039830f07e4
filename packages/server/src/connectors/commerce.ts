import type { CommerceClient } from '@datong/connectors';
import { DatongError } from '@datong/core';
import type { Queryable } from '../db/client.js';
import type { ServerDeps } from '../usecases/context.js';
import { createCommerceRegistry, type CommerceRegistry, type RegisteredConnector } from './registry.js';
import { effectiveSettings, storedSettings, type EffectiveSettings } from './settings.js';
import { SharedRateLimiter } from './shared-rate-limit.js';

/** An e-commerce connector row with its definition, decrypted and parsed config and settings. */
export interface LoadedConnector {
  readonly tenantId: string;
  readonly id: string;
  readonly platform: string;
  readonly name: string;
  readonly sourceId: string;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly def: RegisteredConnector;
  /** What the definition's `parseConfig` returned (credentials included: never log or return it). */
  readonly config: unknown;
  readonly settings: EffectiveSettings;
}

export interface ClientHandle {
  readonly client: CommerceClient;
  /** The platform throttled us: no process calls the API last asked for during `ms`. */
  throttled(ms: number): Promise<void>;
}

interface ConnectorRow {
  tenant_id: string;
  id: string;
  platform: string;
  name: string;
  config_enc: string;
  source_id: string;
  enabled: boolean;
  created_at: Date | string;
  settings: unknown;
}

/** Connector rows are re-read after this long, so a change made by another process is seen soon. */
const CACHE_MS = 10_000;

/**
 * The e-commerce connectors at run time: the registry, a short cache of connector rows with
 * their config decrypted (the webhook path reads one per request), and one outbound client per
 * connector with its token buckets (one per API), which live as long as the process.
 */
export class CommerceConnectors {
  readonly registry: CommerceRegistry;
  readonly #deps: Pick<ServerDeps, 'config' | 'keyring' | 'db'>;
  readonly #cache = new Map<string, { value: LoadedConnector | null; expires: number }>();
  readonly #clients = new Map<string, { handle: ClientHandle; limiter: SharedRateLimiter }>();

  constructor(deps: Pick<ServerDeps, 'config' | 'keyring' | 'db'>, registry: CommerceRegistry = createCommerceRegistry()) {
    this.#deps = deps;
    this.registry = registry;
  }

  /** Datong's public URL of a connector's webhook (`DATONG_PUBLIC_URL`, default http://HOST:PORT). */
  webhookUrl(platform: string, connectorId: string): string {
    const { http } = this.#deps.config;
    const base = (http.publicUrl ?? `http://${http.host}:${http.port}`).replace(/\/+$/, '');
    return `${base}/v1/hooks/${encodeURIComponent(platform)}/${encodeURIComponent(connectorId)}`;
  }

  /**
   * The e-commerce connector `id` (of `tenantId`, or of any tenant when null: the webhook path,
   * where the id is the only key), or null when there is none or it is of another kind.
   * Throws CONNECTOR_CONFIG_INVALID when the stored config no longer parses.
   */
  async load(q: Queryable, tenantId: string | null, id: string): Promise<LoadedConnector | null> {
    const now = Date.now();
    const hit = this.#cache.get(id);
    let value: LoadedConnector | null;
    if (hit && hit.expires > now) value = hit.value;
    else {
      const r = await q.query<ConnectorRow>('SELECT tenant_id, id, platform, name, config_enc, source_id, enabled, created_at, settings FROM connectors WHERE id = $1', [id]);
      value = r.rows.length === 1 && r.rows[0] ? this.#parse(r.rows[0]) : null;
      this.#cache.set(id, { value, expires: now + CACHE_MS });
    }
    if (value && tenantId !== null && value.tenantId !== tenantId) return null;
    return value;
  }

  /** Like `load`, scoped to the tenant, and CONNECTOR_NOT_FOUND when absent. */
  async require(q: Queryable, tenantId: string, id: string): Promise<LoadedConnector> {
    const c = await this.load(q, tenantId, id);
    if (c) return c;
    const other = await q.query<{ platform: string }>('SELECT platform FROM connectors WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    const platform = other.rows[0]?.platform;
    if (platform === undefined) throw new DatongError('CONNECTOR_NOT_FOUND', `No connector ${id}`);
    throw new DatongError('CONNECTOR_OPERATION_UNSUPPORTED', `${platform} connectors have no message log, channels or reconciliation`);
  }

  #parse(row: ConnectorRow): LoadedConnector | null {
    const def = this.registry.get(row.platform);
    if (!def) return null;
    const raw = JSON.parse(this.#deps.keyring.decrypt(row.config_enc)) as unknown;
    return {
      tenantId: row.tenant_id,
      id: row.id,
      platform: row.platform,
      name: row.name,
      sourceId: row.source_id,
      enabled: row.enabled,
      createdAt: new Date(row.created_at),
      def,
      config: def.parseConfig(raw),
      settings: effectiveSettings(storedSettings(row.settings), this.#deps.config),
    };
  }

  /** Forgets a connector's cached row and client (after it was changed or disabled). */
  invalidate(id: string): void {
    this.#cache.delete(id);
    this.#clients.delete(id);
  }

  /**
   * The connector's outbound client. Every API call first takes a token of the connector's
   * bucket for that API (`ClientDeps.rateLimit`); buckets refill in real time and are shared by
   * every process on this database (`SharedRateLimiter`).
   */
  client(c: LoadedConnector): ClientHandle {
    const hit = this.#clients.get(c.id);
    if (hit) return hit.handle;
    const { perSecond, burst } = c.settings.rateLimit;
    const limiter = new SharedRateLimiter(this.#deps.db, c.tenantId, c.id, { capacity: burst, refillPerSecond: perSecond });
    let lastApi = '';
    const client = c.def.createClient(c.config, {
      ...(c.settings.apiBaseUrl ? { baseUrl: c.settings.apiBaseUrl } : {}),
      rateLimit: async (api) => {
        lastApi = api;
        await limiter.take(api);
      },
    });
    const handle: ClientHandle = {
      client,
      throttled: async (ms) => {
        if (lastApi) await limiter.block(lastApi, ms);
      },
    };
    this.#clients.set(c.id, { handle, limiter });
    return handle;
  }
}
