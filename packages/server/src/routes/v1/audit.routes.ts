import { DatongError } from '@datong/core';
import { AuditEntry, AuditQuery, Page, Problem } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import { listAudit, type AuditFilter } from '../../usecases/audit.js';
import type { ServerDeps } from '../../usecases/context.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

export function auditRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get(
    '/v1/audit-log',
    {
      config: { auth: 'apiKey:admin', permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'Who read personal data and who changed what, newest first',
        description: '`from` is inclusive, `to` exclusive. Reads of the audit log are not themselves recorded.',
        querystring: AuditQuery,
        response: { 200: Page(AuditEntry), ...errors },
      },
    },
    async (req) => {
      if (!req.auth) throw new DatongError('AUTH_REQUIRED');
      const q = req.query as Omit<AuditFilter, 'limit'> & { limit?: number };
      return listAudit(deps.db, req.auth.tenantId, { ...q, limit: q.limit ?? 50 });
    },
  );
}
