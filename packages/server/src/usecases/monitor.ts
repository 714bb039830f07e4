import { DatongError } from '@datong/core';
import type { Queryable } from '../db/client.js';
import type { Keyring } from '../security/keys.js';
import { maskedExcerpt, maskFreeText } from './monitor-mask.js';

/**
 * The sync monitor (issue 3): volumes, outcomes and latency percentiles per source and per
 * webhook subscription over a bounded window, and recent failures with masked excerpts. Each
 * series kind is one SQL statement (date_trunc buckets, percentile_cont, GROUPING SETS for the
 * per-series totals) that runs on PostgreSQL 15 and PGlite alike.
 */

export type Bucket = 'minute' | 'hour' | 'day';

export const MONITOR_MAX_WINDOW_MS = 31 * 86_400_000;
const DEFAULT_WINDOW_MS = 86_400_000;
/** The longest window each bucket may cover: at most 1,440 minute points, 744 hour points. */
const BUCKET_MAX_WINDOW_MS: Record<Bucket, number> = { minute: 86_400_000, hour: MONITOR_MAX_WINDOW_MS, day: MONITOR_MAX_WINDOW_MS };
// Steps of the bucket grid: never longer than the shortest bucket (a local hour is 60 minutes in
// any zone, a local day at least 23 hours), and a divisor of the :30 and :45 zone offsets.
const GRID_STEP: Record<Bucket, string> = { minute: '1 minute', hour: '15 minutes', day: '1 hour' };

export interface MonitorWindow {
  readonly from: Date;
  readonly to: Date;
  readonly bucket: Bucket;
  readonly tz: string;
}

function parseInstant(name: string, value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new DatongError('MONITOR_WINDOW_INVALID', `${name} is not an ISO 8601 date-time`);
  return d;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The window asked for, checked: `to` defaults to now, `from` to 24 h before `to`; at most 31
 * days; the bucket defaults to minute up to 6 h, hour up to 7 days, day beyond; minute
 * buckets only up to 24 h. `tz` (IANA name, default UTC) decides where days and hours start.
 */
export function resolveWindow(q: { from?: string | undefined; to?: string | undefined; bucket?: Bucket | undefined; tz?: string | undefined }, now: Date): MonitorWindow {
  const to = q.to !== undefined ? parseInstant('to', q.to) : now;
  const from = q.from !== undefined ? parseInstant('from', q.from) : new Date(to.getTime() - DEFAULT_WINDOW_MS);
  const span = to.getTime() - from.getTime();
  if (span <= 0) throw new DatongError('MONITOR_WINDOW_INVALID', 'from must be before to');
  if (span > MONITOR_MAX_WINDOW_MS) throw new DatongError('MONITOR_WINDOW_INVALID', 'the window is at most 31 days');
  const bucket: Bucket = q.bucket ?? (span <= 6 * 3_600_000 ? 'minute' : span <= 7 * 86_400_000 ? 'hour' : 'day');
  if (span > BUCKET_MAX_WINDOW_MS[bucket]) throw new DatongError('MONITOR_WINDOW_INVALID', `${bucket} buckets need a window of at most 24 hours; use hour or day`);
  const tz = q.tz ?? 'UTC';
  if (!isTimeZone(tz)) throw new DatongError('MONITOR_WINDOW_INVALID', `tz ${JSON.stringify(tz)} is not an IANA time zone`);
  return { from, to, bucket, tz };
}

export interface SourcePoint {
  at: string;
  received: number;
  processed: number;
  quarantined: number;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
}
export interface SourceSeries {
  sourceId: string;
  name: string;
  type: string;
  connectorId: string | null;
  totals: Omit<SourcePoint, 'at'>;
  points: SourcePoint[];
}
export interface WebhookPoint {
  at: string;
  attempts: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
}
export interface WebhookSeries {
  subscriptionId: string;
  url: string;
  description: string | null;
  enabled: boolean;
  totals: Omit<WebhookPoint, 'at'> & { deliveries: number; pending: number; dead: number };
  points: WebhookPoint[];
}
export interface MonitorOverview {
  from: string;
  to: string;
  bucket: Bucket;
  tz: string;
  series: { sources: SourceSeries[]; webhooks: WebhookSeries[] };
  totals: { received: number; processed: number; quarantined: number; deliveries: number; succeeded: number; failed: number; dead: number; attempts: number; pending: number };
}

interface PercentileRow {
  at: Date | null;
  p: number[] | null;
}

const ms = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);

/** The start of every bucket of the window, in order (buckets without data included). */
async function bucketGrid(q: Queryable, w: MonitorWindow): Promise<Date[]> {
  // The last instant of the window joins the steps, so the last (partial) bucket is there too.
  const r = await q.query<{ at: Date }>(
    `SELECT DISTINCT date_trunc($3, t, $4) AS at
       FROM (SELECT generate_series($1::timestamptz, $2::timestamptz, $5::interval) AS t UNION ALL SELECT $2::timestamptz) g
      ORDER BY at`,
    [w.from.toISOString(), new Date(w.to.getTime() - 1).toISOString(), w.bucket, w.tz, GRID_STEP[w.bucket]],
  );
  return r.rows.map((x) => new Date(x.at));
}

export async function monitorOverview(q: Queryable, tenantId: string, w: MonitorWindow): Promise<MonitorOverview> {
  const from = w.from.toISOString();
  const to = w.to.toISOString();
  const grid = await bucketGrid(q, w);

  const sources = await q.query<{ id: string; name: string; type: string; connector_id: string | null }>(
    `SELECT s.id, s.name, s.type, min(c.id) AS connector_id FROM sources s
       LEFT JOIN connectors c ON c.tenant_id = s.tenant_id AND c.source_id = s.id
      WHERE s.tenant_id = $1 GROUP BY s.id, s.name, s.type, s.created_at ORDER BY s.created_at, s.id`,
    [tenantId],
  );
  // Rows received in the window were processed after its start (or are pending), so the scan
  // goes through the partial indexes inbox_processed_at and inbox_pending; the hour of slack
  // covers a database clock behind the application's (received_at is the server's clock,
  // processed_at the database's).
  const inbox = await q.query<PercentileRow & { source_id: string; received: number; processed: number; quarantined: number }>(
    `SELECT source_id, at, count(*)::int AS received,
            count(*) FILTER (WHERE status = 1)::int AS processed,
            count(*) FILTER (WHERE status = 2)::int AS quarantined,
            percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY lag_ms) AS p
       FROM (SELECT source_id, status, date_trunc($4, received_at, $5) AS at,
                    CASE WHEN status = 1 THEN extract(epoch FROM processed_at - received_at) * 1000 END AS lag_ms
               FROM inbox
              WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3
                AND (status = 0 OR (status <> 0 AND processed_at >= $2::timestamptz - interval '1 hour'))) w
      GROUP BY GROUPING SETS ((source_id, at), (source_id))`,
    [tenantId, from, to, w.bucket, w.tz],
  );

  const subs = await q.query<{ id: string; url: string; description: string | null; enabled: boolean }>(
    'SELECT id, url, description, enabled FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  );
  const attempts = await q.query<PercentileRow & { subscription_id: string; attempts: number; succeeded: number; failed: number }>(
    `SELECT subscription_id, at, count(*)::int AS attempts,
            count(*) FILTER (WHERE error IS NULL)::int AS succeeded,
            count(*) FILTER (WHERE error IS NOT NULL)::int AS failed,
            percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) AS p
       FROM (SELECT d.subscription_id, a.error, a.latency_ms, date_trunc($4, a.at, $5) AS at
               FROM webhook_attempts a
               JOIN webhook_deliveries d ON d.tenant_id = a.tenant_id AND d.id = a.delivery_id
              WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3) w
      GROUP BY GROUPING SETS ((subscription_id, at), (subscription_id))`,
    [tenantId, from, to, w.bucket, w.tz],
  );
  // Deliveries created in the window and where they stand now (dead = in the dead-letter list).
  const deliveries = await q.query<{ subscription_id: string; deliveries: number; pending: number; dead: number }>(
    `SELECT subscription_id, count(*)::int AS deliveries,
            count(*) FILTER (WHERE status IN ('pending', 'delivering'))::int AS pending,
            count(*) FILTER (WHERE status = 'dead')::int AS dead
       FROM webhook_deliveries
      WHERE tenant_id = $1 AND subscription_id = ANY($4::text[]) AND created_at >= $2 AND created_at < $3
      GROUP BY subscription_id`,
    [tenantId, from, to, subs.rows.map((s) => s.id)],
  );

  const sourceSeries: SourceSeries[] = sources.rows.map((s) => {
    const rows = inbox.rows.filter((r) => r.source_id === s.id);
    const byAt = new Map(rows.filter((r) => r.at !== null).map((r) => [new Date(r.at as Date).getTime(), r]));
    const total = rows.find((r) => r.at === null);
    const point = (r: (typeof rows)[number] | undefined) => ({
      received: r?.received ?? 0,
      processed: r?.processed ?? 0,
      quarantined: r?.quarantined ?? 0,
      lagP50Ms: ms(r?.p?.[0]),
      lagP95Ms: ms(r?.p?.[1]),
    });
    return {
      sourceId: s.id,
      name: s.name,
      type: s.type,
      connectorId: s.connector_id,
      totals: point(total),
      points: grid.map((at) => ({ at: at.toISOString(), ...point(byAt.get(at.getTime())) })),
    };
  });
  const webhookSeries: WebhookSeries[] = subs.rows.map((s) => {
    const rows = attempts.rows.filter((r) => r.subscription_id === s.id);
    const byAt = new Map(rows.filter((r) => r.at !== null).map((r) => [new Date(r.at as Date).getTime(), r]));
    const total = rows.find((r) => r.at === null);
    const d = deliveries.rows.find((r) => r.subscription_id === s.id);
    const point = (r: (typeof rows)[number] | undefined) => ({
      attempts: r?.attempts ?? 0,
      succeeded: r?.succeeded ?? 0,
      failed: r?.failed ?? 0,
      p50Ms: ms(r?.p?.[0]),
      p95Ms: ms(r?.p?.[1]),
    });
    return {
      subscriptionId: s.id,
      url: s.url,
      description: s.description,
      enabled: s.enabled,
      totals: { ...point(total), deliveries: d?.deliveries ?? 0, pending: d?.pending ?? 0, dead: d?.dead ?? 0 },
      points: grid.map((at) => ({ at: at.toISOString(), ...point(byAt.get(at.getTime())) })),
    };
  });
  const sum = <T>(xs: T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);
  return {
    from,
    to,
    bucket: w.bucket,
    tz: w.tz,
    series: { sources: sourceSeries, webhooks: webhookSeries },
    totals: {
      received: sum(sourceSeries, (s) => s.totals.received),
      processed: sum(sourceSeries, (s) => s.totals.processed),
      quarantined: sum(sourceSeries, (s) => s.totals.quarantined),
      deliveries: sum(webhookSeries, (s) => s.totals.deliveries),
      attempts: sum(webhookSeries, (s) => s.totals.attempts),
      succeeded: sum(webhookSeries, (s) => s.totals.succeeded),
      failed: sum(webhookSeries, (s) => s.totals.failed),
      pending: sum(webhookSeries, (s) => s.totals.pending),
      dead: sum(webhookSeries, (s) => s.totals.dead),
    },
  };
}

export type MonitorError =
  | {
      kind: 'webhook';
      at: string;
      subscriptionId: string;
      url: string | null;
      deliveryId: string;
      eventType: string;
      attempt: number;
      statusCode: number | null;
      latencyMs: number;
      error: string;
      deliveryStatus: string;
      excerpt: string;
    }
  | {
      kind: 'ingest';
      at: string;
      quarantineId: string;
      quarantineKind: string;
      sourceId: string | null;
      sourceName: string | null;
      messageId: string | null;
      field: string | null;
      reason: string;
      status: string;
      excerpt: string | null;
    };

export interface MonitorErrorsQuery {
  readonly kind?: 'webhook' | 'ingest' | undefined;
  readonly limit: number;
  readonly sourceId?: string | undefined;
  readonly subscriptionId?: string | undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Recent failed webhook attempts and quarantine entries of the window, newest first. Payloads
 * are decrypted only to be masked here: no personal value leaves this function whole.
 */
export async function monitorErrors(q: Queryable, keyring: Keyring, tenantId: string, w: MonitorWindow, query: MonitorErrorsQuery): Promise<MonitorError[]> {
  const from = w.from.toISOString();
  const to = w.to.toISOString();
  const out: MonitorError[] = [];
  if (query.kind !== 'ingest') {
    const params: unknown[] = [tenantId, from, to, query.limit];
    const bySub = query.subscriptionId !== undefined ? (params.push(query.subscriptionId), `AND d.subscription_id = $${params.length}`) : '';
    const r = await q.query<{
      delivery_id: string;
      attempt: number;
      at: Date;
      status_code: number | null;
      latency_ms: number;
      error: string;
      subscription_id: string;
      event_type: string;
      status: string;
      body: string;
      url: string | null;
    }>(
      `SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.latency_ms, a.error, d.subscription_id, d.event_type, d.status, d.body, s.url
         FROM webhook_attempts a
         JOIN webhook_deliveries d ON d.tenant_id = a.tenant_id AND d.id = a.delivery_id
         LEFT JOIN webhook_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id
        WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3 AND a.error IS NOT NULL ${bySub}
        ORDER BY a.at DESC, a.delivery_id DESC, a.attempt DESC
        LIMIT $4`,
      params,
    );
    for (const x of r.rows) {
      out.push({
        kind: 'webhook',
        at: new Date(x.at).toISOString(),
        subscriptionId: x.subscription_id,
        url: x.url,
        deliveryId: x.delivery_id,
        eventType: x.event_type,
        attempt: x.attempt,
        statusCode: x.status_code,
        latencyMs: x.latency_ms,
        error: maskFreeText(x.error),
        deliveryStatus: x.status,
        excerpt: maskedExcerpt(parseJson(x.body)),
      });
    }
  }
  if (query.kind !== 'webhook') {
    const params: unknown[] = [tenantId, from, to, query.limit];
    const bySource = query.sourceId !== undefined ? (params.push(query.sourceId), `AND q.source_id = $${params.length}`) : '';
    const r = await q.query<{
      id: string;
      kind: string;
      source_id: string | null;
      source_name: string | null;
      message_id: string | null;
      field: string | null;
      reason: string;
      payload_enc: string;
      status: string;
      created_at: Date;
    }>(
      `SELECT q.id, q.kind, q.source_id, s.name AS source_name, q.message_id, q.field, q.reason, q.payload_enc, q.status, q.created_at
         FROM quarantine q
         LEFT JOIN sources s ON s.tenant_id = q.tenant_id AND s.id = q.source_id
        WHERE q.tenant_id = $1 AND q.created_at >= $2 AND q.created_at < $3 ${bySource}
        ORDER BY q.created_at DESC, q.id DESC
        LIMIT $4`,
      params,
    );
    for (const x of r.rows) {
      let excerpt: string | null;
      try {
        excerpt = maskedExcerpt(parseJson(keyring.decrypt(x.payload_enc)));
      } catch {
        excerpt = null;
      }
      out.push({
        kind: 'ingest',
        at: new Date(x.created_at).toISOString(),
        quarantineId: x.id,
        quarantineKind: x.kind,
        sourceId: x.source_id,
        sourceName: x.source_name,
        messageId: x.message_id,
        field: x.field,
        reason: maskFreeText(x.reason),
        status: x.status,
        excerpt,
      });
    }
  }
  out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return out.slice(0, query.limit);
}
