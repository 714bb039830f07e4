import type { Metrics } from '../observability/metrics.js';
import type { ServerDeps } from '../usecases/context.js';
import { recomputeTimeDependentRules } from '../usecases/recompute.js';
import { recomputeTimeDependentSegments } from '../usecases/segments.js';
import type { CommerceConnectors } from '../connectors/commerce.js';
import { DETAILS_PER_STEP, fetchMissingOrderDetails } from './commerce-details.js';
import { commercePollStep } from './commerce-poll.js';
import { processConnectorMessages } from './process-connector-messages.js';
import { processInboxBatch } from './process-inbox.js';
import { runNextReconciliation } from '../usecases/reconciliation-jobs.js';
import { deliverDueWebhooks, dispatchOutbox, type DeliveryOptions } from './webhooks.js';

/** How often the maintenance step looks at its counters (it runs a statement only when one is due). */
const MAINTENANCE_CHECK_MS = 1_000;
/** The statistics target of a quick ANALYZE in the maintenance step (PostgreSQL's default is 100). */
const QUICK_STATISTICS_TARGET = 10;
/** PGlite: VACUUM of the churning queue tables at most this often. */
const VACUUM_EVERY_MS = 10_000;
/** The first ANALYZE after this many processed messages, then after twice as many… up to every 100k. */
const FIRST_ANALYZE_AT = 500;
const ANALYZE_EVERY_MESSAGES = 100_000;
/**
 * On PGlite, after a partial batch the inbox loop waits this long before claiming again. HTTP
 * accepts and the worker share one thread and one connection there, so claiming at every kick
 * took ~100 messages a batch and paid each batch's fixed statements five times as often; waiting
 * 25 ms lets a full batch gather (measured: 570–690 → 1,500–2,000 events/s, docs/benchmarks.md).
 */
const PGLITE_GATHER_MS = 25;
/** How often the e-commerce channel step (fallback polling, pulls, daily reconciliation) runs. */
const COMMERCE_CHANNEL_STEP_MS = 1_000;

export interface RunnerOptions {
  readonly batchSize: number;
  readonly pollMs: number;
  readonly delivery: DeliveryOptions;
  readonly metrics?: Metrics;
  readonly webhookConcurrency: number;
  readonly tagRecomputeMs: number;
  readonly inboxRetentionDays: number;
  /** E-commerce connectors: their message log is processed and their fallback/pull/reconcile channels run. */
  readonly commerce?: CommerceConnectors;
}

/**
 * The background workers of one process: the inbox, the outbox dispatcher and webhook
 * delivery each run as their own loop, so a slow webhook receiver never holds up ingestion.
 * Loops sleep `pollMs` when idle and wake at once on `kick()` (same-process work).
 */
export class Runner {
  readonly #deps: ServerDeps;
  readonly #opts: RunnerOptions;
  #running = false;
  #wakers = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #timers: NodeJS.Timeout[] = [];
  #singles = 0;

  constructor(deps: ServerDeps, opts: RunnerOptions) {
    this.#deps = deps;
    this.#opts = opts;
  }

  kick = (): void => {
    for (const w of this.#wakers) w();
  };

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = [
      // On PostgreSQL two inbox loops overlap one batch's parsing with another's database work;
      // the embedded database has a single connection, where a second loop gains nothing.
      ...Array.from({ length: this.#deps.db.kind === 'postgres' ? 2 : 1 }, () => this.#loop('inbox', () => this.#inboxStep())),
      this.#loop('outbox', async () => (await dispatchOutbox(this.#deps)) > 0),
      this.#loop('webhooks', async () => (await deliverDueWebhooks(this.#deps, { ...this.#opts.delivery, ...(this.#opts.metrics ? { metrics: this.#opts.metrics } : {}) }, this.#opts.webhookConcurrency)) > 0),
      ...this.#commerceLoops(),
    ];
    const every = (ms: number, name: string, f: () => Promise<unknown>): void => {
      const t = setInterval(() => {
        f().catch((err: unknown) => this.#deps.logger.error({ err, event: `maintenance.${name}_failed` }, `${name} failed`));
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#opts.tagRecomputeMs, 'tag_recompute', () => recomputeTimeDependentRules(this.#deps));
    every(this.#opts.tagRecomputeMs, 'segment_recompute', () => recomputeTimeDependentSegments(this.#deps));
    every(3_600_000, 'retention', () => this.retention());
    // Statistics: PGlite runs no autovacuum/autoanalyze at all, and PostgreSQL's autoanalyze lags
    // behind a fast-growing table by minutes. Until a table is analyzed the planner takes
    // `tenant_id = $1` for 0.5% of the rows, and per-batch statements scan whole tables, so
    // ingestion slows down as data grows (docs/benchmarks.md).
    // The first ANALYZE matters most: until then a fresh database takes `tenant_id = $1` for 0.5%
    // of the rows, and an ingest burst processes thousands of messages a second, so the counters
    // are looked at every second.
    every(MAINTENANCE_CHECK_MS, 'maintenance', () => this.maintain());
  }

  #processedSinceVacuum = 0;
  #processedSinceAnalyze = 0;
  #analyzeAt = FIRST_ANALYZE_AT;
  #lastVacuum = 0;
  #maintaining = false;

  /**
   * On PGlite, VACUUM the churning queue tables after activity (at most every 10 s); on both
   * databases, ANALYZE the growing tables after 500, 1k, 2k, 4k… processed messages, then every
   * 100k. Returns what it ran (for tests and logs).
   */
  async maintain(): Promise<string[]> {
    // A slow ANALYZE must not overlap the next check.
    if (this.#maintaining) return [];
    this.#maintaining = true;
    try {
      return await this.#maintain();
    } finally {
      this.#maintaining = false;
    }
  }

  async #maintain(): Promise<string[]> {
    const ran: string[] = [];
    if (this.#deps.db.kind === 'pglite' && this.#processedSinceVacuum > 0 && Date.now() - this.#lastVacuum >= VACUUM_EVERY_MS) {
      this.#processedSinceVacuum = 0;
      this.#lastVacuum = Date.now();
      ran.push('VACUUM (ANALYZE) inbox, outbox, webhook_deliveries');
    }
    let young = false;
    if (this.#processedSinceAnalyze >= this.#analyzeAt) {
      young = this.#analyzeAt < ANALYZE_EVERY_MESSAGES;
      this.#processedSinceAnalyze = 0;
      this.#analyzeAt = Math.min(this.#analyzeAt * 2, ANALYZE_EVERY_MESSAGES);
      ran.push(
        this.#deps.db.kind === 'pglite'
          ? 'VACUUM (ANALYZE) customers, customer_identities, customer_tags, customer_merges'
          : 'ANALYZE customers, customer_identities, customer_tags, customer_merges',
        'ANALYZE events',
      );
    }
    if (ran.length === 0) return ran;
    // Sample 3,000 rows a table instead of 30,000 (ANALYZE events: ~470 → ~40 ms at 120k events on
    // PGlite) where a full sample costs most: on PGlite, where every statement waits for these (one
    // connection), and on PostgreSQL while the tables are young and grow fast (the doubling
    // thresholds), when the planner needs to learn their sizes more than their distributions; the
    // hot statements are steered to index probes anyway. Later PostgreSQL runs (every 100k
    // messages) use the configured target, as autovacuum does.
    const db = this.#deps.db;
    const quick = `default_statistics_target = ${QUICK_STATISTICS_TARGET}`;
    // One statement per call: VACUUM refuses to run inside the implicit transaction of a multi-statement string.
    if (db.kind === 'pglite') {
      // One connection: the setting holds for these statements, and is reset at once.
      await db.exec(`SET ${quick}`);
      try {
        for (const sql of ran) await db.exec(sql);
      } finally {
        await db.exec('RESET default_statistics_target');
      }
    } else if (young) {
      // Pooled connections: the setting must stay on the one that analyzes (ANALYZE runs in a transaction; VACUUM is PGlite's only).
      await db.tx(async (q) => {
        await q.exec(`SET LOCAL ${quick}`);
        for (const sql of ran) await q.exec(sql);
      });
    } else {
      for (const sql of ran) await db.exec(sql);
    }
    return ran;
  }

  /** Counts processed messages as the inbox loop does (tests drive the maintenance step with it). */
  noteProcessed(n: number): void {
    this.#processedSinceVacuum += n;
    this.#processedSinceAnalyze += n;
  }

  async #inboxStep(): Promise<boolean> {
    // After a failed batch, take its messages one at a time so a poison message is isolated
    // (and quarantined after MAX_INBOX_ATTEMPTS) instead of blocking the whole queue.
    const limit = this.#singles > 0 ? 1 : this.#opts.batchSize;
    const r = await processInboxBatch(this.#deps, limit);
    this.noteProcessed(r.claimed);
    if (r.failed && limit > 1) this.#singles = r.claimed;
    else if (this.#singles > 0 && r.claimed > 0 && !r.failed) this.#singles--;
    if (r.processed > 0) this.#opts.metrics?.inboxProcessed.inc({ outcome: 'processed' }, r.processed);
    const done = Date.now();
    for (const t of r.receivedAt) this.#opts.metrics?.processingLag.observe((done - t.getTime()) / 1000);
    if (r.quarantined > 0) this.#opts.metrics?.inboxProcessed.inc({ outcome: 'quarantined' }, r.quarantined);
    if (r.failed || r.claimed >= limit) return true;
    if (this.#deps.db.kind === 'pglite' && r.claimed > 0) {
      await new Promise((resolve) => setTimeout(resolve, PGLITE_GATHER_MS));
      return true;
    }
    return false;
  }

  /** Deletes processed inbox rows, their raw batches and platform messages past the dedupe window, and stale idempotency keys. */
  async retention(): Promise<void> {
    const now = this.#deps.clock().getTime();
    const inboxCutoff = new Date(now - this.#opts.inboxRetentionDays * 86_400_000).toISOString();
    await this.#deps.db.query('DELETE FROM inbox WHERE status <> 0 AND processed_at < $1', [inboxCutoff]);
    // Raw batches hold only processed or quarantined messages (inline ingest): they go with them.
    await this.#deps.db.query('DELETE FROM inbox_batches WHERE received_at < $1', [inboxCutoff]);
    // Platform messages: the message log and its dedupe window last as long as the inbox's.
    await this.#deps.db.query("DELETE FROM connector_messages WHERE status IN ('processed', 'ignored') AND processed_at < $1", [inboxCutoff]);
    await this.#deps.db.query('DELETE FROM idempotency_keys WHERE created_at < $1', [new Date(now - 86_400_000).toISOString()]);
    await this.#deps.db.query('DELETE FROM outbox WHERE dispatched_at < $1', [new Date(now - 7 * 86_400_000).toISOString()]);
  }

  #commerceLoops(): Promise<void>[] {
    const commerce = this.#opts.commerce;
    if (!commerce) return [];
    let lastChannelStep = 0;
    return [
      // Applying a platform message is a dozen small statements one after another; on PostgreSQL
      // two loops overlap them (claims are SKIP LOCKED and touched orders are locked in one
      // global order, so they never apply the same message twice or deadlock).
      ...Array.from({ length: this.#deps.db.kind === 'postgres' ? 2 : 1 }, () =>
        this.#loop('connector-messages', async () => (await processConnectorMessages(this.#deps, commerce)).claimed > 0),
      ),
      // Fallback polling, pull channels and daily reconciliation decide per connector what is due; one look a second.
      this.#loop('commerce-channels', async () => {
        if (Date.now() - lastChannelStep < COMMERCE_CHANNEL_STEP_MS) return false;
        lastChannelStep = Date.now();
        await commercePollStep(this.#deps, commerce);
        return false;
      }),
      // Details of orders known only from status-only messages, fetched from the platform's order API.
      this.#loop('order-details', async () => (await fetchMissingOrderDetails(this.#deps, commerce)).claimed >= DETAILS_PER_STEP),
      // Reconciliations asked for with `Prefer: respond-async`, one at a time per process.
      this.#loop('reconciliations', () => runNextReconciliation(this.#deps, commerce)),
    ];
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.kick();
    await Promise.allSettled(this.#loops);
  }

  async #loop(name: string, step: () => Promise<boolean>): Promise<void> {
    let failures = 0;
    while (this.#running) {
      let more = false;
      try {
        more = await step();
        failures = 0;
      } catch (err) {
        failures++;
        this.#deps.logger.warn({ err, event: `worker.${name}_failed`, attempt: failures }, `${name} worker step failed`);
      }
      if (!this.#running) break;
      if (more) continue;
      // Back off on repeated failures (database down), up to 5 s.
      const wait = failures > 0 ? Math.min(5_000, this.#opts.pollMs * 2 ** failures) : this.#opts.pollMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        const wakers = this.#wakers;
        function done(): void {
          clearTimeout(timer);
          wakers.delete(done);
          resolve();
        }
        if (failures === 0) wakers.add(done);
      });
    }
  }
}
