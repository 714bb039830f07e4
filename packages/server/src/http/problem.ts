import { ERROR_CATALOG, isDatongError, type ErrorCode, type ErrorKind } from '@datong/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The one mapping from error kind to HTTP status. The compiler checks it covers every kind. */
export const KIND_HTTP_STATUS = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  upstream: 502,
  internal: 500,
} as const satisfies Record<ErrorKind, number>;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  [extension: string]: unknown;
}

export function problemFor(code: ErrorCode, req: FastifyRequest, detail?: string, extensions: Record<string, unknown> = {}): ProblemBody {
  const spec = ERROR_CATALOG[code];
  return {
    ...extensions,
    type: `/docs/errors#${code}`,
    title: spec.title,
    status: KIND_HTTP_STATUS[spec.kind],
    ...(detail !== undefined ? { detail } : {}),
    instance: req.url.split('?')[0] ?? req.url,
    code,
    requestId: req.id,
  };
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Fastify/Ajv validation errors → `errors: [{pointer, message}]` (RFC 9457 §3.2 extension). */
function validationErrors(err: FastifyError): { pointer: string; message: string }[] {
  const list = (err.validation ?? []) as AjvLikeError[];
  const ctx = err.validationContext ?? 'body';
  return list.map((v) => {
    const missing = v.params?.['missingProperty'];
    const extra = v.params?.['additionalProperty'];
    const pointer = `#/${ctx}${v.instancePath ?? ''}${typeof missing === 'string' ? `/${missing}` : ''}${typeof extra === 'string' ? `/${extra}` : ''}`;
    return { pointer, message: v.message ?? 'is invalid' };
  });
}

/** The one error handler: DatongError → its problem; Fastify's own errors → stable codes; the rest → 500 INTERNAL. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isDatongError(err)) {
    const body = problemFor(err.code, req, err.detail, err.extensions ?? {});
    if (body.status >= 500) req.log.error({ err, event: 'request.failed', code: err.code }, err.message);
    else req.log.info({ event: 'request.rejected', code: err.code }, err.code);
    return sendProblem(reply, body);
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const errors = validationErrors(fe);
    const detail = errors.map((e) => `${e.pointer} ${e.message}`).join('; ');
    return sendProblem(reply, problemFor('VALIDATION_FAILED', req, detail, { errors }));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, problemFor('BODY_TOO_LARGE', req, fe.message));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, problemFor('UNSUPPORTED_MEDIA_TYPE', req, 'Send application/json'));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, problemFor('MALFORMED_JSON', req, 'Body is empty'));
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendProblem(reply, problemFor('VALIDATION_FAILED', req, 'Content-Length does not match the body'));
    default:
      break;
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return sendProblem(reply, problemFor('MALFORMED_JSON', req, 'Body is not valid JSON'));
  }
  if (fe.statusCode === 413) return sendProblem(reply, problemFor('BODY_TOO_LARGE', req));
  if (fe.statusCode === 415) return sendProblem(reply, problemFor('UNSUPPORTED_MEDIA_TYPE', req));
  req.log.error({ err, event: 'request.failed' }, 'unhandled error');
  return sendProblem(reply, problemFor('INTERNAL', req, 'An unexpected error occurred; the request id identifies it in the logs'));
}
