import { DatongError, maskName } from '@datong/core';
import { ConnectorMessage, ConnectorMessageDetail, ConnectorMessageParams, ConnectorMessagesQuery, IdParam, Page, Problem, type Static } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { CommerceConnectors } from '../../connectors/commerce.js';
import type { Queryable } from '../../db/client.js';
import { auditAction } from '../../http/audit.js';
import { iso, isoReq, keysetPage, toPage } from '../../http/pagination.js';
import type { ServerDeps } from '../../usecases/context.js';
import { masksPii } from '../../usecases/customer-access.js';
import { maskPayload } from '../../usecases/monitor-mask.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

interface MessageRow {
  tenant_id: string;
  id: string;
  connector_id: string;
  message_id: string;
  type: string;
  channel: string;
  received_at: Date | string;
  occurred_at: Date | string | null;
  verification: 'valid' | 'invalid' | 'test';
  payload_enc: string;
  status: 'pending' | 'processed' | 'ignored' | 'failed' | 'quarantined';
  attempts: number;
  next_attempt_at: Date | string | null;
  error_code: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
  processed_at: Date | string | null;
}

const COLUMNS = 'tenant_id, id, connector_id, message_id, type, channel, received_at, occurred_at, verification, status, attempts, next_attempt_at, error_code, error, result, processed_at';

function messageOut(r: Omit<MessageRow, 'payload_enc'>): Static<typeof ConnectorMessage> {
  return {
    id: r.id,
    messageId: r.message_id,
    type: r.type,
    channel: r.channel,
    receivedAt: isoReq(r.received_at),
    occurredAt: iso(r.occurred_at),
    verification: r.verification,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' || r.status === 'failed' ? iso(r.next_attempt_at) : null,
    errorCode: r.error_code,
    error: r.error,
    result: r.result,
    processedAt: iso(r.processed_at),
  };
}

// Platform spellings of a person's name that the monitor's key rules do not know (Taobao
// `buyer_nick`, `nick`, `consignee`); the rest of the payload goes through maskPayload.
const PLATFORM_NAME_KEY = /nick|consignee/i;

/** A platform payload masked for a role that masks personal data. */
function maskPlatformPayload(v: unknown, depth = 0): unknown {
  if (depth > 20 || typeof v !== 'object' || v === null) return depth === 0 ? maskPayload(v) : v;
  if (Array.isArray(v)) return v.map((x) => maskPlatformPayload(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const value = PLATFORM_NAME_KEY.test(k) && (typeof x === 'string' || typeof x === 'number') ? maskName(String(x)) : maskPlatformPayload(x, depth + 1);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return depth === 0 ? maskPayload(out) : out;
}

/**
 * The message log of an e-commerce connector (issue 4): every platform message with its
 * verification result, processing status and canonical summary or error, and a replay action.
 */
export function connectorMessagesRoutes(app: FastifyInstance, deps: ServerDeps, commerce: CommerceConnectors): void {
  const { db, keyring } = deps;

  const connectorOf = async (tenantId: string, id: string): Promise<void> => {
    await commerce.require(db, tenantId, id);
  };
  const messageOf = async (q: Queryable, tenantId: string, connectorId: string, messageId: string, lock = false): Promise<MessageRow> => {
    // Either Datong's log id (cmsg_…) or the platform's own message id.
    const r = await q.query<MessageRow>(
      `SELECT ${COLUMNS}, payload_enc FROM connector_messages WHERE tenant_id = $1 AND connector_id = $2 AND (id = $3 OR message_id = $3)
       ORDER BY (id = $3) DESC LIMIT 1 ${lock ? 'FOR UPDATE' : ''}`,
      [tenantId, connectorId, messageId],
    );
    const row = r.rows[0];
    if (!row) throw new DatongError('CONNECTOR_MESSAGE_NOT_FOUND', `No message ${messageId} in connector ${connectorId}'s log`);
    return row;
  };

  app.get(
    '/v1/connectors/:id/messages',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['connectors'],
        summary: "The connector's message log, newest first",
        description:
          'Every platform message: when it was received, its verification result (valid, invalid: rejected and never processed, test: a ping), ' +
          'its processing status and the summary of its canonical records or the error. Filters: status, type, verification, channel.',
        security: [{ apiKey: [] }],
        params: IdParam,
        querystring: ConnectorMessagesQuery,
        response: { 200: Page(ConnectorMessage), ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      await connectorOf(tenantId, id);
      const { status, type, verification, channel, cursor, limit = 50 } = req.query as {
        status?: string;
        type?: string;
        verification?: string;
        channel?: string;
        cursor?: string;
        limit?: number;
      };
      const params: unknown[] = [tenantId, id];
      const where = ['tenant_id = $1', 'connector_id = $2'];
      for (const [col, v] of [
        ['status', status],
        ['type', type],
        ['verification', verification],
        ['channel', channel],
      ] as const) {
        if (v === undefined) continue;
        params.push(v);
        where.push(`${col} = $${params.length}`);
      }
      const order = keysetPage(params, where, cursor, limit, 'received_at', 'id');
      const r = await db.query<MessageRow>(`SELECT ${COLUMNS} FROM connector_messages WHERE ${where.join(' AND ')} ${order}`, params);
      return toPage(r.rows, limit, messageOut, (x) => [x.received_at, x.id]);
    },
  );

  app.get(
    '/v1/connectors/:id/messages/:messageId',
    {
      config: { auth: 'apiKey:read', permission: 'monitor.read' },
      schema: {
        tags: ['connectors'],
        summary: 'One message of the log, with its payload',
        description: "`messageId` is the log entry's id (cmsg_…) or the platform's message id. Roles that mask personal data see the payload masked.",
        security: [{ apiKey: [] }],
        params: ConnectorMessageParams,
        response: { 200: ConnectorMessageDetail, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const { id, messageId } = req.params as { id: string; messageId: string };
      await connectorOf(tenantId, id);
      const row = await messageOf(db, tenantId, id, messageId);
      let payload: unknown = JSON.parse(keyring.decrypt(row.payload_enc));
      const masked = req.auth ? masksPii(req.auth) : false;
      if (masked) payload = maskPlatformPayload(payload);
      else await auditAction(db, deps.clock, req, 'connector.message.read', 'connector', id, { messageId: row.id });
      return { ...messageOut(row), payload, masked };
    },
  );

  app.post(
    '/v1/connectors/:id/messages/:messageId/replay',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: 'Process a message again',
        description:
          'Sets the message back to pending; the worker processes it again. Harmless for messages already applied: orders only move forward ' +
          'and derived events keep their message ids. A request that failed verification (or a test ping) cannot be replayed (409).',
        security: [{ apiKey: [] }],
        params: ConnectorMessageParams,
        response: { 200: ConnectorMessage, ...errors, 409: Problem },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const { id, messageId } = req.params as { id: string; messageId: string };
      await connectorOf(tenantId, id);
      const now = deps.clock();
      const row = await db.tx(async (q) => {
        const m = await messageOf(q, tenantId, id, messageId, true);
        if (m.verification !== 'valid') {
          throw new DatongError(
            'CONNECTOR_MESSAGE_NOT_REPLAYABLE',
            m.verification === 'invalid' ? 'This request failed verification: its content cannot be trusted, so it is never processed' : 'A test message has nothing to process',
          );
        }
        const r = await q.query<MessageRow>(
          `UPDATE connector_messages SET status = 'pending', attempts = 0, next_attempt_at = $3, error = NULL, error_code = NULL, result = NULL, processed_at = NULL
           WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
          [tenantId, m.id, now.toISOString()],
        );
        if (m.status === 'quarantined') {
          // Its quarantine entry is dealt with by this replay.
          await q.query(
            `UPDATE quarantine SET status = 'fixed', resolved_at = $4, resolution = $5
             WHERE tenant_id = $1 AND kind = 'message' AND status = 'open' AND message_id = $2 AND source_id = (SELECT source_id FROM connectors WHERE tenant_id = $1 AND id = $3)`,
            [tenantId, m.message_id, id, now.toISOString(), `replayed from the message log of connector ${id}`],
          );
        }
        return r.rows[0];
      });
      if (!row) throw new DatongError('CONNECTOR_MESSAGE_NOT_FOUND');
      deps.kick();
      return messageOut(row);
    },
  );
}
