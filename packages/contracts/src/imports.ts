import { Type } from '@sinclair/typebox';

/** Import types: what each row of the file is. */
export const ImportTypeSchema = Type.Union([Type.Literal('customers'), Type.Literal('orders')]);

const FieldSource = Type.Union([
  Type.String({ minLength: 1, maxLength: 200, description: 'A column name (its header text)' }),
  Type.Object({ column: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  Type.Object({ expr: Type.String({ minLength: 1, maxLength: 4000, description: 'JSONata over the row; columns are its keys' }) }, { additionalProperties: false }),
  Type.Object({ value: Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()]) }, { additionalProperties: false }),
]);

/**
 * The column mapping of an import: Datong field → where its value comes from.
 *
 * @example
 * { "fields": { "phone": "手机号", "name": "姓名", "total": { "expr": "$number(`金额(分)`) / 100" }, "shop_id": { "value": "store-01" } },
 *   "collections": { "crm_id": "pos" }, "timezone": "+08:00" }
 */
export const ImportMapping = Type.Object(
  {
    fields: Type.Record(Type.String({ minLength: 1, maxLength: 200 }), FieldSource, {
      description:
        'Fields: user_id, phone, email, crm_id, wechat_unionid, wechat_openid, wecom_external_userid, youzan_open_id, taobao_open_uid, douyin_open_id, ' +
        'meituan_user_id, name, created_at, traits.<name>; orders also order_id, shop_id, status, total, currency, discount, shipping, paid_at, ' +
        'product_id, sku, product_name, quantity, price, line_total, products, channel. An order may take several consecutive rows (one per line).',
    }),
    collections: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 200 }), { description: 'crm_id: the CRM name; wechat_openid: the appId' })),
    timezone: Type.Optional(Type.String({ maxLength: 10, description: 'Offset of times written without one (default +08:00)' })),
    currency: Type.Optional(Type.String({ minLength: 3, maxLength: 3, description: 'Currency when no currency column is mapped (default CNY)' })),
    platform: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Orders: the platform recorded (default offline)' })),
    statuses: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra status words → created, paid, shipped, completed, cancelled or closed' })),
    sheet: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Integer({ minimum: 1 })])),
    delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
    headerRow: Type.Optional(Type.Integer({ minimum: 1 })),
    encoding: Type.Optional(Type.String({ maxLength: 40, description: 'CSV text encoding: auto (default), utf8, gbk, gb18030…' })),
  },
  { additionalProperties: false },
);

export const ImportCounts = Type.Object({
  valid: Type.Integer(),
  invalid: Type.Integer({ description: 'Rows rejected, each quarantined with its row number and reasons' }),
  blank: Type.Integer(),
  messages: Type.Integer({ description: 'Segment messages built from the valid rows' }),
  accepted: Type.Integer({ description: 'Messages stored in the inbox' }),
  duplicates: Type.Integer({ description: 'Messages already stored (same messageId): ignored' }),
  quarantined: Type.Integer(),
  orders: Type.Optional(Type.Integer({ description: 'Orders imports: orders built from the valid rows (consecutive rows of one order are one order)' })),
  ordersRejected: Type.Optional(Type.Integer({ description: 'Orders imports: orders rejected whole (a bad or contradicting line, or lines not next to each other)' })),
});

export const ImportStatusSchema = Type.Union(['uploaded', 'queued', 'running', 'done', 'failed', 'cancelled'].map((s) => Type.Literal(s)));

export const ImportItem = Type.Object({
  id: Type.String(),
  sourceId: Type.String(),
  type: ImportTypeSchema,
  format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx')]),
  fileName: Type.String(),
  fileBytes: Type.Integer(),
  fileSha256: Type.String(),
  columns: Type.Array(Type.String()),
  mapping: Type.Union([ImportMapping, Type.Null()], { description: 'The mapping in use; on upload, the one guessed from the headers' }),
  status: ImportStatusSchema,
  progress: Type.Object({
    bytesRead: Type.Integer(),
    percent: Type.Number({ description: 'Share of the file read, 0 to 100' }),
    lastRow: Type.Integer({ description: 'Checkpoint: every row up to this one is stored' }),
  }),
  counts: ImportCounts,
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const ImportUploadQuery = Type.Object(
  {
    type: ImportTypeSchema,
    sourceId: Type.String({ minLength: 1, maxLength: 64, description: 'The source the rows are attributed to (its inbox, quarantine and channel)' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'The file name, for people' })),
  },
  { additionalProperties: false },
);

export const ImportPreviewBody = Type.Object(
  {
    mapping: Type.Optional(ImportMapping),
    encoding: Type.Optional(Type.String({ maxLength: 40 })),
    rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'First rows shown as they would be sent' })),
    scanRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Rows checked for errors' })),
  },
  { additionalProperties: false },
);

const RowProblem = Type.Object({ field: Type.String(), message: Type.String() });

export const ImportPreview = Type.Object({
  id: Type.String(),
  type: ImportTypeSchema,
  format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx')]),
  encoding: Type.Union([Type.Object({ encoding: Type.String(), how: Type.String() }), Type.Null()]),
  delimiter: Type.Union([Type.String(), Type.Null()]),
  headerRow: Type.Integer(),
  columns: Type.Array(Type.String()),
  mapping: ImportMapping,
  guessed: Type.Boolean({ description: 'True when the mapping was guessed from the headers' }),
  unmappedColumns: Type.Array(Type.String()),
  samples: Type.Array(
    Type.Object({
      row: Type.Integer(),
      messages: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
      problems: Type.Optional(Type.Array(RowProblem)),
      blank: Type.Optional(Type.Boolean()),
    }),
  ),
  errors: Type.Array(Type.Object({ row: Type.Integer(), problems: Type.Array(RowProblem), data: Type.Object({}, { additionalProperties: true }) })),
  scanned: Type.Object({
    rows: Type.Integer(),
    valid: Type.Integer(),
    invalid: Type.Integer(),
    blank: Type.Integer(),
    messages: Type.Integer(),
    orders: Type.Optional(Type.Integer()),
    ordersRejected: Type.Optional(Type.Integer()),
    truncated: Type.Boolean(),
  }),
});

export const ImportStartBody = Type.Object({ mapping: Type.Optional(ImportMapping) }, { additionalProperties: false });

/** Rows a client-side import (the CLI) rejected, reported to be quarantined. */
export const ImportRowsBody = Type.Object(
  {
    file: Type.Optional(Type.String({ maxLength: 255 })),
    rows: Type.Array(
      Type.Object(
        {
          row: Type.Integer({ minimum: 1 }),
          problems: Type.Array(RowProblem, { minItems: 1, maxItems: 100 }),
          messageId: Type.String({ minLength: 1, maxLength: 200 }),
          message: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
          data: Type.Object({}, { additionalProperties: true }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);

export const ImportRowsAck = Type.Object({ quarantined: Type.Integer(), duplicates: Type.Integer() });
