import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly inboxProcessed: Counter<'outcome'>;
  readonly processingLag: Histogram;
  readonly ingestSpeculation: Counter<'outcome'>;
  readonly webhookAttempts: Counter<'outcome'>;
  readonly webhookLatency: Histogram;
  readonly queueDepth: Gauge<'queue'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'datong_process_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'datong_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inboxProcessed: new Counter({
      name: 'datong_inbox_messages_total',
      help: 'Inbox messages handled by the workers, by outcome (processed, quarantined)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    processingLag: new Histogram({
      name: 'datong_inbox_lag_seconds',
      help: 'Time from accepting a message to having processed it',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    ingestSpeculation: new Counter({
      name: 'datong_ingest_batches_total',
      help: 'Inline ingest transactions on PostgreSQL, by how identity resolution ran: speculated (before the tenant lock, confirmed under it), redone (the speculation did not hold), locked (resolved under the lock)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'datong_webhook_attempts_total',
      help: 'Outbound webhook delivery attempts by outcome (succeeded, failed, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookLatency: new Histogram({
      name: 'datong_webhook_latency_seconds',
      help: 'Outbound webhook attempt latency',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'datong_queue_depth',
      help: 'Items waiting, by queue (inbox, outbox, webhooks)',
      labelNames: ['queue'],
      registers: [registry],
    }),
  };
}
