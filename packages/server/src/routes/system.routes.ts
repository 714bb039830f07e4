import type { FastifyInstance } from 'fastify';
import { Type } from '@datong/contracts';
import type { AppOptions } from '../app.js';

export function systemRoutes(app: FastifyInstance, opts: AppOptions): void {
  app.get(
    '/healthz',
    { config: { auth: 'public' }, schema: { tags: ['system'], summary: 'Liveness: the process is up', response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Readiness: the database answers',
        response: { 200: Type.Object({ status: Type.String(), database: Type.String() }), 503: Type.Object({ status: Type.String(), database: Type.String() }) },
      },
    },
    async (_req, reply) => {
      try {
        await opts.db.query('SELECT 1');
      } catch {
        return reply.code(503).send({ status: 'unavailable', database: 'unreachable' });
      }
      if (opts.isReady && !opts.isReady()) return reply.code(503).send({ status: 'starting', database: opts.db.kind });
      return { status: 'ready', database: opts.db.kind };
    },
  );
  app.get('/metrics', { config: { auth: 'public' }, schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    const depth = await opts.db.query<{ inbox: number; outbox: number; webhooks: number }>(
      `SELECT (SELECT count(*) FROM inbox WHERE status = 0)::int AS inbox,
              (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)::int AS outbox,
              (SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'delivering'))::int AS webhooks`,
    );
    const d = depth.rows[0];
    if (d) {
      opts.metrics.queueDepth.set({ queue: 'inbox' }, d.inbox);
      opts.metrics.queueDepth.set({ queue: 'outbox' }, d.outbox);
      opts.metrics.queueDepth.set({ queue: 'webhooks' }, d.webhooks);
    }
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
