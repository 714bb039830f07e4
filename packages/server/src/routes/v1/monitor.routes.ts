import { MonitorErrors, MonitorErrorsQuery, MonitorOverview, MonitorOverviewQuery, Problem } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { ServerDeps } from '../../usecases/context.js';
import { monitorErrors, monitorOverview, resolveWindow, type Bucket } from '../../usecases/monitor.js';

const errors = { 400: Problem, 401: Problem, 403: Problem };

/** The sync monitor (issue 3): read-only, for API keys with read scope and roles with monitor.read. */
export function monitorRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring } = deps;

  app.get(
    '/v1/monitor/overview',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['monitor'],
        summary: 'Volumes, outcomes and latency percentiles per source and per webhook subscription',
        description:
          'Per source: messages received, processed and quarantined per bucket (by time received) with the accepted → processed lag p50/p95. ' +
          'Per webhook subscription: delivery attempts, succeeded, failed and latency p50/p95 per bucket (by attempt time), with deliveries, ' +
          'pending and dead-lettered among the deliveries created in the window. Every bucket of the window is listed. ' +
          'Window: default the last 24 h, at most 31 days; minute buckets up to 24 h.',
        security: [{ apiKey: [] }],
        querystring: MonitorOverviewQuery,
        response: { 200: MonitorOverview, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { from?: string; to?: string; bucket?: Bucket; tz?: string };
      return monitorOverview(db, req.auth?.tenantId ?? '', resolveWindow(q, deps.clock()));
    },
  );

  app.get(
    '/v1/monitor/errors',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['monitor'],
        summary: 'Recent failed webhook attempts and quarantined ingest records, newest first, with masked payload excerpts',
        description:
          'Personal data never appears whole: phones as 138****5678, emails as z***@example.com, names and addresses cut. ' +
          'Window as for the overview (default the last 24 h, at most 31 days).',
        security: [{ apiKey: [] }],
        querystring: MonitorErrorsQuery,
        response: { 200: MonitorErrors, ...errors },
      },
    },
    async (req) => {
      const q = req.query as { from?: string; to?: string; kind?: 'webhook' | 'ingest'; limit?: number; sourceId?: string; subscriptionId?: string };
      const window = resolveWindow({ from: q.from, to: q.to, bucket: 'day' }, deps.clock());
      const data = await monitorErrors(db, keyring, req.auth?.tenantId ?? '', window, {
        kind: q.kind,
        limit: q.limit ?? 50,
        sourceId: q.sourceId,
        subscriptionId: q.subscriptionId,
      });
      return { data };
    },
  );
}
