import { newId } from '../ids.js';
import type { ServerDeps } from '../usecases/context.js';
import type { Metrics } from '../observability/metrics.js';
import { deliverWebhook, nextRetryDelay, webhookHeaders, type ResolveHost } from '../webhooks/index.js';

interface OutboxRow {
  id: number;
  tenant_id: string;
  type: string;
  payload: Record<string, unknown>;
  created_at: Date | string;
}

/**
 * Fans domain events out to the matching webhook subscriptions: one delivery per event and
 * subscription, with its body fixed now so that every retry sends the same bytes under the
 * same webhook-id. Claimed with SKIP LOCKED; commits with the outbox rows marked.
 */
export async function dispatchOutbox(deps: ServerDeps, limit = 500): Promise<number> {
  return deps.db.tx(async (q) => {
    const r = await q.query<OutboxRow>(
      'SELECT id, tenant_id, type, payload, created_at FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
      [limit],
    );
    if (r.rows.length === 0) return 0;
    const now = deps.clock();
    const tenants = [...new Set(r.rows.map((x) => x.tenant_id))];
    const subs = await q.query<{ tenant_id: string; id: string; event_types: string[] }>(
      'SELECT tenant_id, id, event_types FROM webhook_subscriptions WHERE tenant_id = ANY($1::text[]) AND enabled',
      [tenants],
    );
    const deliveries: Record<string, unknown>[] = [];
    for (const ev of r.rows) {
      for (const s of subs.rows) {
        if (s.tenant_id !== ev.tenant_id || !s.event_types.includes(ev.type)) continue;
        const id = newId('msg', now.getTime());
        // The Standard Webhooks payload shape: {type, timestamp, data}.
        const body = JSON.stringify({ type: ev.type, timestamp: new Date(ev.created_at).toISOString(), data: ev.payload });
        deliveries.push({ tenant_id: ev.tenant_id, id, subscription_id: s.id, event_type: ev.type, body });
      }
    }
    if (deliveries.length > 0) {
      await q.query(
        `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_type, body, status, next_attempt_at, created_at, updated_at)
         SELECT x.tenant_id, x.id, x.subscription_id, x.event_type, x.body, 'pending', $1, $1, $1
         FROM jsonb_to_recordset($2::jsonb) AS x(tenant_id text, id text, subscription_id text, event_type text, body text)`,
        [now.toISOString(), JSON.stringify(deliveries)],
      );
    }
    await q.query('UPDATE outbox SET dispatched_at = $2 WHERE id = ANY($1::bigint[])', [r.rows.map((x) => Number(x.id)), now.toISOString()]);
    if (deliveries.length > 0) deps.kick();
    return r.rows.length;
  });
}

interface DueRow {
  tenant_id: string;
  id: string;
  subscription_id: string;
  body: string;
  attempts: number;
  replay_base: number;
  url: string;
  secret_enc: string;
}

export interface DeliveryOptions {
  readonly schedule: readonly number[];
  readonly metrics?: Metrics;
  readonly random?: () => number;
  readonly lookup?: ResolveHost;
  readonly leaseMs?: number;
}

/**
 * Sends due deliveries. A claim takes a lease (so a crashed worker's deliveries are retried
 * by another after the lease, under the same webhook-id), the HTTP call runs outside any
 * transaction, and the result is recorded: success, a retry at the next step of the
 * schedule (with jitter), or dead-letter when the schedule is spent. Deliveries of a disabled
 * subscription wait, untouched, until it is enabled again.
 */
export async function deliverDueWebhooks(deps: ServerDeps, opts: DeliveryOptions, limit: number): Promise<number> {
  const now = deps.clock();
  const leaseMs = opts.leaseMs ?? deps.config.webhooks.timeoutMs + 30_000;
  const claimed = await deps.db.tx(async (q) => {
    const r = await q.query<DueRow>(
      `UPDATE webhook_deliveries d SET status = 'delivering', lease_until = $2, attempts = d.attempts + 1, updated_at = $1
       FROM webhook_subscriptions s
       WHERE s.tenant_id = d.tenant_id AND s.id = d.subscription_id AND (d.tenant_id, d.id) IN (
         SELECT w.tenant_id, w.id FROM webhook_deliveries w
         JOIN webhook_subscriptions ws ON ws.tenant_id = w.tenant_id AND ws.id = w.subscription_id AND ws.enabled
         WHERE w.status IN ('pending', 'delivering') AND w.next_attempt_at <= $1 AND (w.lease_until IS NULL OR w.lease_until < $1)
         ORDER BY w.next_attempt_at LIMIT $3 FOR UPDATE OF w SKIP LOCKED)
       RETURNING d.tenant_id, d.id, d.subscription_id, d.body, d.attempts, d.replay_base, s.url, s.secret_enc`,
      [now.toISOString(), new Date(now.getTime() + leaseMs).toISOString(), limit],
    );
    return r.rows;
  });
  await Promise.all(
    claimed.map(async (d) => {
      const secret = deps.keyring.decrypt(d.secret_enc);
      const attemptAt = deps.clock();
      const headers = webhookHeaders(secret, d.id, Math.floor(attemptAt.getTime() / 1000), d.body);
      const res = await deliverWebhook({
        url: d.url,
        body: d.body,
        headers,
        timeoutMs: deps.config.webhooks.timeoutMs,
        allowPrivateNetwork: deps.config.webhooks.allowPrivateNetwork,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      });
      const doneAt = deps.clock();
      let status: 'succeeded' | 'pending' | 'dead';
      let next: string | null = null;
      if (res.ok) status = 'succeeded';
      else {
        const delay = nextRetryDelay(opts.schedule, d.attempts - d.replay_base, opts.random ?? Math.random);
        if (delay === null) status = 'dead';
        else {
          status = 'pending';
          next = new Date(doneAt.getTime() + delay).toISOString();
        }
      }
      opts.metrics?.webhookAttempts.inc({ outcome: res.ok ? 'succeeded' : status === 'dead' ? 'dead' : 'failed' });
      opts.metrics?.webhookLatency.observe(res.durationMs / 1000);
      const error = res.ok ? null : (res.error ?? `HTTP ${res.status ?? '?'}`).slice(0, 500);
      await deps.db.tx(async (q) => {
        await q.query(
          `UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, lease_until = NULL, last_status = $5, last_error = $6,
                  last_latency_ms = $7, updated_at = $8, delivered_at = CASE WHEN $3 = 'succeeded' THEN $8::timestamptz ELSE delivered_at END
           WHERE tenant_id = $1 AND id = $2`,
          [d.tenant_id, d.id, status, next, res.status, error, Math.round(res.durationMs), doneAt.toISOString()],
        );
        await q.query(
          `INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING`,
          [d.tenant_id, d.id, d.attempts, attemptAt.toISOString(), res.status, Math.round(res.durationMs), error],
        );
      });
      if (!res.ok) {
        deps.logger.warn({ event: status === 'dead' ? 'webhook.dead_lettered' : 'webhook.retry', deliveryId: d.id, attempt: d.attempts, status: res.status, error }, 'webhook delivery failed');
      }
    }),
  );
  return claimed.length;
}
