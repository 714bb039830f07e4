import { DatongError } from '@datong/core';
import { ConnectorMessageParams, Problem, SourceMessageDetail } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import { auditAction } from '../../http/audit.js';
import type { ServerDeps } from '../../usecases/context.js';
import { masksPii } from '../../usecases/customer-access.js';
import { maskPayload } from '../../usecases/monitor-mask.js';
import { rawInboxMessage } from '../../usecases/raw-batches.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** A Segment source's messages as the inbox received them (the raw side of a timeline event). */
export function sourceMessagesRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get(
    '/v1/sources/:id/messages/:messageId',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['sources'],
        summary: 'One message as received, with its processing status',
        description:
          "`messageId` is the sender's messageId (a timeline item's `messageId`). Kept for the inbox's dedupe window (`DATONG_INBOX_RETENTION_DAYS`). " +
          'Roles that mask personal data see the payload masked; other reads are audited.',
        security: [{ apiKey: [] }],
        params: ConnectorMessageParams,
        response: { 200: SourceMessageDetail, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const { id, messageId } = req.params as { id: string; messageId: string };
      const m = await rawInboxMessage(deps.db, deps.keyring, tenantId, id, messageId);
      if (!m) throw new DatongError('SOURCE_MESSAGE_NOT_FOUND');
      const masked = req.auth ? masksPii(req.auth) : false;
      if (!masked) await auditAction(deps.db, deps.clock, req, 'source.message.read', 'source', id, { messageId });
      return {
        messageId: m.messageId,
        status: m.status,
        attempts: m.attempts,
        receivedAt: m.receivedAt.toISOString(),
        processedAt: m.processedAt?.toISOString() ?? null,
        payload: masked ? maskPayload(m.payload) : m.payload,
        masked,
      };
    },
  );
}
