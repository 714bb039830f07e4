import { DatongError } from '@datong/core';
import { Type } from '@datong/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerDeps } from '../../usecases/context.js';
import { storeInbox, type InlineIngest } from '../../usecases/ingest.js';

/** Segment's limits: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

const SegmentMessage = Type.Object({}, { additionalProperties: true, description: 'A Segment spec message' });
const Ack = Type.Object({ success: Type.Boolean(), accepted: Type.Integer(), duplicates: Type.Integer() });

const TYPES = ['identify', 'track', 'page', 'screen', 'alias', 'group'] as const;

/** The message as JSON, once its size is checked (inline ingest stores this very text). */
function checkSize(msg: unknown, index: number | null): string {
  const json = JSON.stringify(msg);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most events need no count.
  if (json.length * 3 <= MAX_EVENT_BYTES) return json;
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_EVENT_BYTES) {
    throw new DatongError('EVENT_TOO_LARGE', `${index === null ? 'The event' : `batch[${index}]`} is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} bytes (32 KB)`, {
      extensions: { index, bytes, limit: MAX_EVENT_BYTES },
    });
  }
  return json;
}

/**
 * With `inline` (the default), the answer comes once the messages are processed (resolved and
 * on the timeline); without, once they are stored for the inbox workers.
 */
export function ingestRoutes(app: FastifyInstance, deps: ServerDeps & { readonly inline?: InlineIngest | undefined }): void {
  const accept = async (req: FastifyRequest, messages: Record<string, unknown>[], json?: readonly string[]) => {
    const auth = req.auth;
    if (!auth?.sourceId) throw new DatongError('AUTH_WRITE_KEY_INVALID');
    if (deps.inline) return { success: true, ...(await deps.inline.submit(auth.tenantId, auth.sourceId, messages, deps.clock(), json)) };
    const r = await storeInbox(deps.db, deps.keyring, auth.tenantId, auth.sourceId, messages, deps.clock());
    deps.kick();
    return { success: true, ...r };
  };

  app.post(
    '/v1/batch',
    {
      config: { auth: 'writeKey' },
      bodyLimit: MAX_BATCH_BYTES,
      schema: {
        tags: ['ingest'],
        summary: 'Send a batch of Segment messages (identify, track, page, screen, alias, group)',
        description: 'Segment HTTP API compatible. Up to 500 KB a batch and 32 KB an event. Duplicate messageIds are accepted and ignored.',
        security: [{ writeKey: [] }],
        body: Type.Object(
          { batch: Type.Array(SegmentMessage, { maxItems: 2500 }), context: Type.Optional(Type.Object({}, { additionalProperties: true })) },
          { additionalProperties: true },
        ),
        response: { 200: Ack },
      },
    },
    async (req) => {
      const body = req.body as { batch: Record<string, unknown>[]; context?: Record<string, unknown> };
      const json = body.batch.map((m, i) => checkSize(m, i));
      // Batch-level context (Segment allows it) is merged under each message's own context.
      if (body.context) {
        const ctx = body.context;
        return accept(req, body.batch.map((m) => ({ ...m, context: { ...ctx, ...((m['context'] as Record<string, unknown> | undefined) ?? {}) } })));
      }
      return accept(req, body.batch, json);
    },
  );

  for (const type of TYPES) {
    app.post(
      `/v1/${type}`,
      {
        config: { auth: 'writeKey' },
        bodyLimit: MAX_EVENT_BYTES,
        schema: {
          tags: ['ingest'],
          summary: `Send one Segment ${type} call`,
          security: [{ writeKey: [] }],
          body: SegmentMessage,
          response: { 200: Ack },
        },
      },
      async (req) => {
        const msg = { ...(req.body as Record<string, unknown>), type };
        return accept(req, [msg], [checkSize(msg, null)]);
      },
    );
  }
}
