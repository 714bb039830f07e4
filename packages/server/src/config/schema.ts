/**
 * Every setting of the server, one area a block. Each has a description, an env var, an
 * example, a default where one is safe, and `secret` where it holds one. `load.ts` reads
 * defaults, then the env, validates everything at once and freezes the result.
 */
export type SettingKind = 'string' | 'int' | 'bool' | 'list';

export interface SettingSpec {
  readonly env: string;
  readonly kind: SettingKind;
  readonly description: string;
  readonly example: string;
  readonly default?: string | number | boolean | readonly string[];
  readonly secret?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export const SETTINGS = {
  http: {
    host: { env: 'HOST', kind: 'string', default: '127.0.0.1', description: 'Address to listen on.', example: 'HOST=0.0.0.0' },
    port: { env: 'PORT', kind: 'int', default: 3000, min: 0, max: 65535, description: 'Port to listen on.', example: 'PORT=3000' },
    publicUrl: {
      env: 'DATONG_PUBLIC_URL',
      kind: 'string',
      description: "Datong's public base URL, used in links and in platform webhook URLs. Defaults to http://HOST:PORT.",
      example: 'DATONG_PUBLIC_URL=https://crm.example.com',
    },
    trustProxy: { env: 'DATONG_TRUST_PROXY', kind: 'bool', default: false, description: 'Trust X-Forwarded-* headers from a reverse proxy.', example: 'DATONG_TRUST_PROXY=true' },
  },
  db: {
    url: {
      env: 'DATABASE_URL',
      kind: 'string',
      secret: true,
      description: 'PostgreSQL server to use. Unset: the embedded PGlite database in the data folder.',
      example: 'DATABASE_URL=postgres://datong:pw@127.0.0.1:5432/datong',
    },
    dataDir: { env: 'DATONG_DATA_DIR', kind: 'string', default: '.datong', description: 'Data folder: embedded database, generated keys, lock file.', example: 'DATONG_DATA_DIR=/var/lib/datong' },
    poolSize: { env: 'DATONG_DB_POOL_SIZE', kind: 'int', default: 10, min: 1, max: 200, description: 'PostgreSQL connections per process.', example: 'DATONG_DB_POOL_SIZE=20' },
  },
  log: {
    level: { env: 'DATONG_LOG_LEVEL', kind: 'string', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent.', example: 'DATONG_LOG_LEVEL=debug' },
  },
  queue: {
    workers: { env: 'DATONG_WORKERS', kind: 'bool', default: true, description: 'Run the background workers (inbox, outbox, webhooks) in this process.', example: 'DATONG_WORKERS=false' },
    inline: {
      env: 'DATONG_INGEST_INLINE',
      kind: 'bool',
      default: true,
      description:
        'Process Segment messages in the request that accepts them (messages of concurrent requests share one transaction), so the answer means resolved and on the timeline. false: only store them and leave them to the inbox workers.',
      example: 'DATONG_INGEST_INLINE=false',
    },
    batchSize: { env: 'DATONG_INBOX_BATCH_SIZE', kind: 'int', default: 500, min: 1, max: 5000, description: 'Inbox messages a worker claims per transaction.', example: 'DATONG_INBOX_BATCH_SIZE=1000' },
    pollMs: { env: 'DATONG_POLL_MS', kind: 'int', default: 100, min: 5, max: 60000, description: 'How often idle workers look for new work, in ms.', example: 'DATONG_POLL_MS=250' },
    inboxRetentionDays: {
      env: 'DATONG_INBOX_RETENTION_DAYS',
      kind: 'int',
      default: 30,
      min: 1,
      max: 3650,
      description: 'Processed raw messages are kept this long; duplicate messageIds are recognised within this window.',
      example: 'DATONG_INBOX_RETENTION_DAYS=30',
    },
    identityCacheCustomers: {
      env: 'DATONG_IDENTITY_CACHE_CUSTOMERS',
      kind: 'int',
      default: 50000,
      min: 0,
      max: 10000000,
      description:
        'Customers of each tenant whose identity graph a process keeps in memory, so identity resolution reads only what it has not seen (about 1.1 KB a customer; at most 4 tenants; 0 turns it off).',
      example: 'DATONG_IDENTITY_CACHE_CUSTOMERS=200000',
    },
    tagRecomputeMinutes: {
      env: 'DATONG_TAG_RECOMPUTE_MINUTES',
      kind: 'int',
      default: 60,
      min: 1,
      max: 10080,
      description: 'How often time-dependent tag rules (windows, days since last order) are recomputed.',
      example: 'DATONG_TAG_RECOMPUTE_MINUTES=15',
    },
  },
  webhooks: {
    retrySchedule: {
      env: 'DATONG_WEBHOOK_RETRY_SCHEDULE',
      kind: 'string',
      default: '5s,5m,30m,2h,5h,10h',
      description: 'Delays between delivery attempts (±20% jitter); after the last one a delivery is dead-lettered.',
      example: 'DATONG_WEBHOOK_RETRY_SCHEDULE=5s,5m,30m,2h,5h,10h',
    },
    timeoutMs: { env: 'DATONG_WEBHOOK_TIMEOUT_MS', kind: 'int', default: 15000, min: 100, max: 120000, description: 'Timeout of one delivery attempt.', example: 'DATONG_WEBHOOK_TIMEOUT_MS=10000' },
    allowPrivateNetwork: {
      env: 'DATONG_ALLOW_PRIVATE_NETWORK',
      kind: 'bool',
      default: false,
      description: 'Allow outbound calls to private, loopback and link-local addresses (tests and local demos only).',
      example: 'DATONG_ALLOW_PRIVATE_NETWORK=1',
    },
    concurrency: { env: 'DATONG_WEBHOOK_CONCURRENCY', kind: 'int', default: 16, min: 1, max: 256, description: 'Deliveries in flight per process.', example: 'DATONG_WEBHOOK_CONCURRENCY=32' },
  },
  connectors: {
    fallbackAfterMs: {
      env: 'DATONG_CONNECTOR_FALLBACK_AFTER_MS',
      kind: 'int',
      default: 300_000,
      min: 10_000,
      max: 86_400_000,
      description: "An e-commerce connector with no valid push for this long (or whose pushes keep failing verification) polls the platform's order API until pushes return. Per connector: settings.fallbackAfterMs.",
      example: 'DATONG_CONNECTOR_FALLBACK_AFTER_MS=300000',
    },
    pollIntervalMs: {
      env: 'DATONG_CONNECTOR_POLL_MS',
      kind: 'int',
      default: 60_000,
      min: 1_000,
      max: 3_600_000,
      description: "How often a connector on the polling channel queries the platform's order API, and a pull channel (Taobao TMC) is pulled when idle.",
      example: 'DATONG_CONNECTOR_POLL_MS=60000',
    },
    hookBodyLimitBytes: {
      env: 'DATONG_HOOK_BODY_LIMIT_BYTES',
      kind: 'int',
      default: 1_048_576,
      min: 1_024,
      max: 16_777_216,
      description: 'Largest platform push accepted at /v1/hooks/{platform}/{connectorId}, in bytes.',
      example: 'DATONG_HOOK_BODY_LIMIT_BYTES=1048576',
    },
    rateLimitPerSecond: {
      env: 'DATONG_PLATFORM_RATE_PER_SECOND',
      kind: 'int',
      default: 5,
      min: 1,
      max: 1_000,
      description: 'Platform API calls per second per connector and API (token bucket). Per connector: settings.rateLimit.perSecond.',
      example: 'DATONG_PLATFORM_RATE_PER_SECOND=5',
    },
    rateLimitBurst: {
      env: 'DATONG_PLATFORM_RATE_BURST',
      kind: 'int',
      default: 10,
      min: 1,
      max: 10_000,
      description: 'Platform API calls a connector may make at once before the per-second rate applies (bucket capacity).',
      example: 'DATONG_PLATFORM_RATE_BURST=10',
    },
    maxAttempts: {
      env: 'DATONG_CONNECTOR_MAX_ATTEMPTS',
      kind: 'int',
      default: 5,
      min: 1,
      max: 50,
      description: 'A platform message whose processing fails this many times (with backoff between tries) is quarantined.',
      example: 'DATONG_CONNECTOR_MAX_ATTEMPTS=5',
    },
    timezone: {
      env: 'DATONG_CONNECTOR_TIMEZONE',
      kind: 'string',
      default: 'Asia/Shanghai',
      description: 'Time zone of the connectors\' daily reconciliation times (settings.reconcileDaily, "03:00"), unless a connector sets its own.',
      example: 'DATONG_CONNECTOR_TIMEZONE=Asia/Shanghai',
    },
  },
  security: {
    adminKey: {
      env: 'DATONG_ADMIN_KEY',
      kind: 'string',
      secret: true,
      description: 'Bootstrap admin API key, set on first start (at least 16 characters). Unset: one is generated and printed once.',
      example: 'DATONG_ADMIN_KEY=change-me-to-a-long-random-string',
    },
    masterKey: {
      env: 'DATONG_MASTER_KEY',
      kind: 'string',
      secret: true,
      description: 'Base64 32-byte key from which the PII encryption, blind-index and token keys are derived. Unset: generated into the data folder.',
      example: 'DATONG_MASTER_KEY=$(openssl rand -base64 32)',
    },
    customerTokenTtlSeconds: {
      env: 'DATONG_CUSTOMER_TOKEN_TTL_SECONDS',
      kind: 'int',
      default: 7200,
      min: 60,
      max: 2592000,
      description: 'Lifetime of the customer token the mini-program login returns.',
      example: 'DATONG_CUSTOMER_TOKEN_TTL_SECONDS=7200',
    },
    sessionIdleMinutes: {
      env: 'DATONG_SESSION_IDLE_MINUTES',
      kind: 'int',
      default: 30,
      min: 1,
      max: 10080,
      description: 'A console session ends after this many minutes without a request.',
      example: 'DATONG_SESSION_IDLE_MINUTES=30',
    },
    sessionMaxHours: {
      env: 'DATONG_SESSION_MAX_HOURS',
      kind: 'int',
      default: 12,
      min: 1,
      max: 720,
      description: 'A console session ends this many hours after sign-in, active or not.',
      example: 'DATONG_SESSION_MAX_HOURS=12',
    },
    loginMaxFailures: {
      env: 'DATONG_LOGIN_MAX_FAILURES',
      kind: 'int',
      default: 5,
      min: 1,
      max: 100,
      description: 'Failed sign-ins to one account before it is locked (the lock doubles with each further failure).',
      example: 'DATONG_LOGIN_MAX_FAILURES=5',
    },
    loginIpMaxFailures: {
      env: 'DATONG_LOGIN_IP_MAX_FAILURES',
      kind: 'int',
      default: 20,
      min: 1,
      max: 10000,
      description: 'Failed sign-ins from one IP address (any account, 15-minute window) before that address is locked out.',
      example: 'DATONG_LOGIN_IP_MAX_FAILURES=20',
    },
    loginLockSeconds: {
      env: 'DATONG_LOGIN_LOCK_SECONDS',
      kind: 'int',
      default: 60,
      min: 1,
      max: 86400,
      description: 'First lockout after too many failed sign-ins; each further failure doubles it, up to one hour.',
      example: 'DATONG_LOGIN_LOCK_SECONDS=60',
    },
    production: {
      env: 'DATONG_PRODUCTION',
      kind: 'bool',
      default: false,
      description: 'Refuse to start without DATONG_MASTER_KEY and DATABASE_URL (no generated keys, no embedded database).',
      example: 'DATONG_PRODUCTION=true',
    },
  },
} as const satisfies Record<string, Record<string, SettingSpec>>;

type ValueOf<S extends { kind: SettingKind }> = S['kind'] extends 'int'
  ? number
  : S['kind'] extends 'bool'
    ? boolean
    : S['kind'] extends 'list'
      ? readonly string[]
      : string;

type Section<T extends Record<string, SettingSpec>> = {
  readonly [K in keyof T]: T[K] extends { default: unknown } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

export type Config = { readonly [A in keyof typeof SETTINGS]: Section<(typeof SETTINGS)[A]> };
