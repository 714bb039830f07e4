import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DatongError } from '@datong/core';
import {
  CursorQuery,
  IdParam,
  ImportItem,
  ImportPreview,
  ImportPreviewBody,
  ImportRowsAck,
  ImportRowsBody,
  ImportStartBody,
  ImportUploadQuery,
  Page,
  Problem,
  Type,
  type Static,
} from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import { newId } from '../../ids.js';
import { openImportFile, thisHost, type ImportRow } from '../../import/job.js';
import { compileImportMapping, guessedSpec, mappingInvalid, parseMappingSpec, type ImportMappingSpec } from '../../import/mapping.js';
import { runImportPipeline } from '../../import/pipeline.js';
import { quarantineRejectedRows } from '../../import/quarantine.js';
import { makePlan } from '../../import/records.js';
import { detectFormat, type OpenedTable } from '../../import/table.js';
import { keysetPage, iso, isoReq, toPage } from '../../http/pagination.js';
import type { ServerDeps } from '../../usecases/context.js';

/** Largest file an upload may be (a million-row order export is ~150 MB as CSV). */
export const MAX_IMPORT_BYTES = 2 * 1024 * 1024 * 1024;

const UPLOAD_TYPES = [
  'text/csv',
  'text/plain',
  'text/tab-separated-values',
  'application/csv',
  'application/octet-stream',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
];

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

function itemOut(x: ImportRow): Static<typeof ImportItem> {
  const bytes = Number(x.file_bytes);
  const read = Math.min(Number(x.bytes_read), bytes);
  const c = x.counts;
  return {
    id: x.id,
    sourceId: x.source_id,
    type: x.type,
    format: x.format,
    fileName: x.file_name,
    fileBytes: bytes,
    fileSha256: x.file_sha256,
    columns: x.columns,
    mapping: (x.mapping as Static<typeof ImportItem>['mapping']) ?? null,
    status: x.status,
    progress: {
      bytesRead: x.status === 'done' ? bytes : read,
      percent: x.status === 'done' ? 100 : bytes > 0 ? Math.floor((read * 1000) / bytes) / 10 : 0,
      lastRow: x.checkpoint_row,
    },
    counts: {
      valid: c.valid ?? 0,
      invalid: c.invalid ?? 0,
      blank: c.blank ?? 0,
      messages: c.messages ?? 0,
      accepted: c.accepted ?? 0,
      duplicates: c.duplicates ?? 0,
      quarantined: c.quarantined ?? 0,
      ...(x.type === 'orders' ? { orders: c.orders ?? 0, ordersRejected: c.ordersRejected ?? 0 } : {}),
    },
    error: x.error,
    createdAt: isoReq(x.created_at),
    startedAt: iso(x.started_at),
    finishedAt: iso(x.finished_at),
  };
}

/** A mapping from a request body, checked for shape (TypeBox) and then against the import's file. */
function requestMapping(raw: unknown): ImportMappingSpec {
  const { spec, problems } = parseMappingSpec(raw);
  if (!spec) throw mappingInvalid(problems);
  return spec;
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new DatongError('BODY_TOO_LARGE', `An import file may be at most ${this.limit} bytes`));
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/**
 * CSV and XLSX imports for the console (issue 4): upload the file as the request body, preview
 * (a dry run: the mapping, the first rows as they would be sent, the errors), start; the
 * server's import worker runs it in units with a checkpoint in the database, so a restart
 * resumes. The CLI (`datong import file.csv`) runs the same pipeline on the client and reports
 * its rejected rows to POST /v1/imports/{id}/rows.
 */
export async function importsRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  const { db, keyring, clock } = deps;

  const load = async (tenantId: string, id: string): Promise<ImportRow> => {
    const r = await db.query<ImportRow>('SELECT * FROM imports WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    const row = r.rows[0];
    if (!row) throw new DatongError('IMPORT_NOT_FOUND');
    return row;
  };

  // The upload reads the request stream itself (never buffered): an encapsulated context whose
  // content-type parser leaves the body unread applies to this route only.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(UPLOAD_TYPES, { bodyLimit: MAX_IMPORT_BYTES }, (_req, _payload, done) => done(null, undefined));
    scope.post(
      '/v1/imports',
      {
        config: { auth: 'apiKey:write', permission: 'customers.write' },
        bodyLimit: MAX_IMPORT_BYTES,
        schema: {
          tags: ['imports'],
          summary: 'Upload a CSV or XLSX file of customers or orders',
          description:
            'The file is the request body (content-type text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or ' +
            'application/octet-stream), streamed to the data folder, up to 2 GB. The answer holds its columns and a mapping guessed from the ' +
            'headers; check it with POST /v1/imports/{id}/preview, then POST /v1/imports/{id}/start.',
          querystring: ImportUploadQuery,
          response: { 201: ImportItem, ...errors, 413: Problem, 415: Problem },
        },
      },
      async (req, reply) => {
        const tenantId = req.auth?.tenantId ?? '';
        const q = req.query as Static<typeof ImportUploadQuery>;
        const src = await db.query('SELECT 1 FROM sources WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL', [tenantId, q.sourceId]);
        if (src.rows.length === 0) throw new DatongError('SOURCE_NOT_FOUND', `No enabled source ${q.sourceId}`);
        const now = clock();
        const id = newId('imp', now.getTime());
        const folder = path.join(deps.config.db.dataDir, 'imports', tenantId);
        await mkdir(folder, { recursive: true, mode: 0o700 });
        const partial = path.join(folder, `${id}.part`);
        const hasher = new Hasher(MAX_IMPORT_BYTES);
        try {
          await pipeline(req.raw, hasher, createWriteStream(partial, { mode: 0o600 }));
        } catch (e) {
          await unlink(partial).catch(() => undefined);
          throw e instanceof DatongError ? e : new DatongError('VALIDATION_FAILED', `The upload did not complete: ${(e as Error).message}`);
        }
        if (hasher.bytes === 0) {
          await unlink(partial).catch(() => undefined);
          throw new DatongError('IMPORT_FILE_INVALID', 'The request body is empty: send the file as the body');
        }
        let format: 'csv' | 'xlsx';
        let columns: readonly string[];
        let file = partial;
        try {
          format = await detectFormat(partial);
          file = path.join(folder, `${id}.${format}`);
          await rename(partial, file);
          const t = await openImportFile(file, format, null);
          columns = t.columns;
          t.close();
        } catch (e) {
          await unlink(file).catch(() => undefined);
          throw e;
        }
        const r = await db.query<ImportRow>(
          `INSERT INTO imports (tenant_id, id, source_id, type, format, file_name, file_path, file_host, file_bytes, file_sha256, columns, mapping, status, created_by, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, 'uploaded', $13, $14, $14) RETURNING *`,
          [
            tenantId,
            id,
            q.sourceId,
            q.type,
            format,
            q.name ?? `upload.${format}`,
            file,
            thisHost(),
            hasher.bytes,
            hasher.hash.digest('hex'),
            JSON.stringify(columns),
            JSON.stringify(guessedSpec(q.type, columns)),
            req.auth?.actor ?? null,
            now.toISOString(),
          ],
        );
        const row = r.rows[0];
        if (!row) throw new DatongError('INTERNAL');
        return reply.code(201).send(itemOut(row));
      },
    );
  });

  app.get(
    '/v1/imports',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
      schema: { tags: ['imports'], summary: 'Imports, newest first', querystring: Type.Object({ ...CursorQuery }), response: { 200: Page(ImportItem), ...errors } },
    },
    async (req) => {
      const { cursor, limit = 50 } = req.query as { cursor?: string; limit?: number };
      const params: unknown[] = [req.auth?.tenantId ?? ''];
      const where = ['tenant_id = $1'];
      const order = keysetPage(params, where, cursor, limit, 'created_at', 'id');
      const r = await db.query<ImportRow>(`SELECT * FROM imports WHERE ${where.join(' AND ')} ${order}`, params);
      return toPage(r.rows, limit, itemOut, (x) => [x.created_at, x.id]);
    },
  );

  app.get(
    '/v1/imports/:id',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
      schema: { tags: ['imports'], summary: 'An import: status, progress and counts (the report once done)', params: IdParam, response: { 200: ImportItem, ...errors } },
    },
    async (req) => itemOut(await load(req.auth?.tenantId ?? '', (req.params as { id: string }).id)),
  );

  app.post(
    '/v1/imports/:id/preview',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write', audit: false },
      schema: {
        tags: ['imports'],
        summary: 'Dry run: the mapping, the first rows as they would be sent, and the errors of the first rows',
        description: 'Nothing is sent or stored. Without a mapping, the stored one (guessed at upload) is used. An invalid mapping answers 400 MAPPING_INVALID with every problem in `errors`.',
        params: IdParam,
        body: ImportPreviewBody,
        response: { 200: ImportPreview, ...errors, 409: Problem },
      },
    },
    async (req) => {
      const imp = await load(req.auth?.tenantId ?? '', (req.params as { id: string }).id);
      if (!imp.file_path) throw new DatongError('IMPORT_STATE_CONFLICT', `The file of this import is no longer kept (it is ${imp.status})`);
      const body = (req.body ?? {}) as Static<typeof ImportPreviewBody>;
      const given = body.mapping !== undefined ? requestMapping(body.mapping) : null;
      const spec = given ?? imp.mapping ?? guessedSpec(imp.type, imp.columns);
      const table = await openImportFile(imp.file_path, imp.format, spec, body.encoding);
      let scanTable: OpenedTable | null = null;
      try {
        const mapping = compileImportMapping(imp.type, spec, table.columns);
        // Orders: a first reading finds the orders whose lines are not together, as the import does.
        if (imp.type === 'orders') scanTable = await openImportFile(imp.file_path, imp.format, spec, body.encoding);
        const r = await runImportPipeline({
          rows: table.rows,
          ...(scanTable ? { scanRows: scanTable.rows } : {}),
          plan: makePlan(mapping, imp.file_sha256, imp.id),
          sink: null,
          maxRows: body.scanRows ?? 10_000,
          sampleRows: body.rows ?? 20,
          keepErrors: 100,
        });
        return {
          id: imp.id,
          type: imp.type,
          format: imp.format,
          encoding: table.encoding,
          delimiter: table.delimiter,
          headerRow: table.headerRow,
          columns: [...table.columns],
          mapping: spec as Static<typeof ImportPreview>['mapping'],
          guessed: given === null && imp.mapping === null,
          unmappedColumns: [...mapping.unmappedColumns],
          samples: r.samples.map((s) => ({ ...s, ...(s.messages ? { messages: [...s.messages] } : {}), ...(s.problems ? { problems: [...s.problems] } : {}) })),
          errors: r.errors.map((e) => ({ row: e.row, problems: [...e.problems], data: { ...e.data } })),
          scanned: {
            rows: r.counts.rowsRead,
            valid: r.counts.valid,
            invalid: r.counts.invalid,
            blank: r.counts.blank,
            messages: r.counts.messages,
            ...(imp.type === 'orders' ? { orders: r.counts.orders, ordersRejected: r.counts.ordersRejected } : {}),
            truncated: r.truncated,
          },
        };
      } finally {
        table.close();
        scanTable?.close();
      }
    },
  );

  app.post(
    '/v1/imports/:id/start',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
      schema: {
        tags: ['imports'],
        summary: 'Start (or retry a failed) import with the given or stored mapping',
        description: 'The server\'s import worker runs it; GET /v1/imports/{id} shows its progress. A failed import continues from its checkpoint.',
        params: IdParam,
        body: Type.Optional(ImportStartBody),
        response: { 200: ImportItem, ...errors, 409: Problem },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const imp = await load(tenantId, (req.params as { id: string }).id);
      if (imp.status !== 'uploaded' && imp.status !== 'failed') throw new DatongError('IMPORT_STATE_CONFLICT', `The import is ${imp.status}; only an uploaded or failed import can be started`);
      if (!imp.file_path) throw new DatongError('IMPORT_STATE_CONFLICT', 'The file of this import is no longer kept');
      const body = (req.body ?? {}) as Static<typeof ImportStartBody>;
      const spec = body.mapping !== undefined ? requestMapping(body.mapping) : (imp.mapping ?? guessedSpec(imp.type, imp.columns));
      // Check it now, so that a mistake is answered here rather than as a failed import.
      compileImportMapping(imp.type, spec, imp.columns);
      if (imp.status === 'failed' && body.mapping !== undefined && JSON.stringify(spec) !== JSON.stringify(imp.mapping)) {
        throw new DatongError('IMPORT_STATE_CONFLICT', 'A failed import continues with its mapping; upload the file again to use another');
      }
      const r = await db.query<ImportRow>(
        `UPDATE imports SET status = 'queued', mapping = $3::jsonb, error = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status IN ('uploaded', 'failed') RETURNING *`,
        [tenantId, imp.id, JSON.stringify(spec), clock().toISOString()],
      );
      const row = r.rows[0];
      if (!row) throw new DatongError('IMPORT_STATE_CONFLICT', 'The import changed meanwhile');
      deps.kick();
      return itemOut(row);
    },
  );

  app.post(
    '/v1/imports/:id/cancel',
    {
      config: { auth: 'apiKey:write', permission: 'customers.write' },
      schema: {
        tags: ['imports'],
        summary: 'Cancel an import that is not done; rows already stored stay',
        params: IdParam,
        response: { 200: ImportItem, ...errors, 409: Problem },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const imp = await load(tenantId, (req.params as { id: string }).id);
      const r = await db.query<ImportRow>(
        `UPDATE imports SET status = 'cancelled', file_path = NULL, lease_owner = NULL, lease_until = NULL, finished_at = $3, updated_at = $3
         WHERE tenant_id = $1 AND id = $2 AND status NOT IN ('done', 'cancelled') RETURNING *`,
        [tenantId, imp.id, clock().toISOString()],
      );
      const row = r.rows[0];
      if (!row) throw new DatongError('IMPORT_STATE_CONFLICT', `The import is already ${imp.status}`);
      if (imp.file_path) await unlink(imp.file_path).catch(() => undefined);
      return itemOut(row);
    },
  );

  app.post(
    '/v1/imports/:id/rows',
    {
      config: { auth: 'writeKey' },
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['imports'],
        summary: 'Quarantine the rows a client-side import rejected (the CLI sends them here)',
        description:
          'With the write key of the source the import sends to. Each row becomes a quarantine entry (kind message) with its row number, ' +
          'reasons, cells and the message it would have been; reporting a row again adds nothing. `id` is the client\'s import id.',
        security: [{ writeKey: [] }],
        params: Type.Object({ id: Type.String({ pattern: '^imp_[A-Za-z0-9_-]{4,60}$' }) }),
        body: ImportRowsBody,
        response: { 200: ImportRowsAck, 400: Problem, 401: Problem, 413: Problem },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (!auth?.sourceId) throw new DatongError('AUTH_WRITE_KEY_INVALID');
      const body = req.body as Static<typeof ImportRowsBody>;
      const id = (req.params as { id: string }).id;
      return quarantineRejectedRows(db, keyring, auth.tenantId, auth.sourceId, { id, file: body.file }, body.rows, clock());
    },
  );
}
