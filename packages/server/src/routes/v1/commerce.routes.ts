import { ConnectorSettings, EffectiveConnectorSettings, IdParam, Problem, ReconcileBody, ReconcileReport } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { CommerceConnectors } from '../../connectors/commerce.js';
import { parseSettings } from '../../connectors/settings.js';
import type { ServerDeps } from '../../usecases/context.js';
import { reconcileConnector } from '../../usecases/reconcile.js';

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
          'forward-only by the worker: nothing moves back, no event is written twice. A platform that throttles or is down answers 503/502; retry later.',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: ReconcileBody,
        response: { 200: ReconcileReport, ...errors, 502: Problem, 503: Problem },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const c = await commerce.require(db, tenantId, (req.params as { id: string }).id);
      const body = req.body as { from: string; to: string; backfill?: boolean };
      const report = await reconcileConnector(deps, commerce, c, { from: new Date(body.from), to: new Date(body.to), backfill: body.backfill ?? false });
      await db.query(
        `INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, last_reconcile_at, last_reconcile, updated_at) VALUES ($1, $2, 'push', $3, $3, $4, $3)
         ON CONFLICT (tenant_id, connector_id) DO UPDATE SET last_reconcile_at = $3, last_reconcile = $4, updated_at = $3`,
        [
          tenantId,
          c.id,
          deps.clock().toISOString(),
          JSON.stringify({ ok: true, scheduled: false, from: report.from, to: report.to, platformOrders: report.platformOrders, matched: report.matched, missing: report.missingCount, different: report.differentCount, backfilled: report.backfilled }),
        ],
      );
      return report;
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
