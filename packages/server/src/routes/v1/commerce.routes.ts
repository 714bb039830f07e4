import { ConnectorSettings, EffectiveConnectorSettings, IdParam, Problem, ReconcileBody, ReconcileReport, Reconciliation, ReconciliationParams } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { CommerceConnectors } from '../../connectors/commerce.js';
import { parseSettings } from '../../connectors/settings.js';
import type { ServerDeps } from '../../usecases/context.js';
import { reconcileConnector } from '../../usecases/reconcile.js';
import { getReconciliation, noteReconciled, requestReconciliation } from '../../usecases/reconciliation-jobs.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** E-commerce connectors (issue 4): reconciliation and operational settings. */
export function commerceRoutes(app: FastifyInstance, deps: ServerDeps, commerce: CommerceConnectors): void {
  const { db } = deps;

  app.post(
    '/v1/connectors/:id/reconcile',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: "Compare the platform's orders with Datong's for a window; optionally backfill",
        description:
          "Reads the platform's order API for orders modified in [from, to) (at most 31 days) and reports what Datong is missing or has " +
          'differently (status, total, currency). With backfill: true those orders are stored in the message log (channel backfill) and applied ' +
          'forward-only by the worker: nothing moves back, no event is written twice. A platform that throttles or is down answers 503/502; retry later. ' +
          'With the header `Prefer: respond-async` (RFC 7240) the reconciliation runs in the background instead: the answer is 202 with the ' +
          'reconciliation and its `Location`; GET it until its status is done (with the report) or failed. A platform that is down is retried ' +
          'there with backoff, and a run survives a restart.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: ReconcileBody,
        response: { 200: ReconcileReport, 202: Reconciliation, ...errors, 502: Problem, 503: Problem },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const c = await commerce.require(db, tenantId, (req.params as { id: string }).id);
      const body = req.body as { from: string; to: string; backfill?: boolean };
      const window = { from: new Date(body.from), to: new Date(body.to), backfill: body.backfill ?? false };
      if (/\brespond-async\b/i.test(String(req.headers['prefer'] ?? ''))) {
        const job = await requestReconciliation(deps, c, window);
        reply.header('Preference-Applied', 'respond-async');
        reply.header('Location', `/v1/connectors/${encodeURIComponent(c.id)}/reconciliations/${encodeURIComponent(String(job['id']))}`);
        return reply.code(202).send(job);
      }
      const report = await reconcileConnector(deps, commerce, c, window);
      await noteReconciled(db, tenantId, c.id, report, deps.clock());
      return report;
    },
  );

  app.get(
    '/v1/connectors/:id/reconciliations/:reconciliationId',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['connectors'],
        summary: 'A reconciliation started with Prefer: respond-async: its status, and its report once done',
        security: [{ apiKey: [] }],
        params: ReconciliationParams,
        response: { 200: Reconciliation, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const p = req.params as { id: string; reconciliationId: string };
      const c = await commerce.require(db, tenantId, p.id);
      return getReconciliation(db, tenantId, c.id, p.reconciliationId);
    },
  );

  app.put(
    '/v1/connectors/:id/settings',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: "Replace an e-commerce connector's settings (fallback delay, polling interval, daily reconciliation, rate limit)",
        security: [{ apiKey: [] }],
        params: IdParam,
        body: ConnectorSettings,
        response: { 200: EffectiveConnectorSettings, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const c = await commerce.require(db, tenantId, (req.params as { id: string }).id);
      const settings = parseSettings(req.body, { allowPrivateNetwork: deps.config.webhooks.allowPrivateNetwork });
      await db.query('UPDATE connectors SET settings = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2', [tenantId, c.id, JSON.stringify(settings), deps.clock().toISOString()]);
      commerce.invalidate(c.id);
      return (await commerce.require(db, tenantId, c.id)).settings;
    },
  );
}
