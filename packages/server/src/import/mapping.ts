import { createHash } from 'node:crypto';
import { applyMapping, compileMapping, type CompiledMapping, type MappingFieldError } from '@datong/connectors';
import { DatongError, isCurrencyCode, ORDER_STATUSES } from '@datong/core';
import { guessMapping, IMPORT_FIELDS, isImportField } from './fields.js';
import type { Cell, ImportType } from './types.js';
import { parseUtcOffset } from './values.js';

/**
 * Where a field's value comes from: a column (by its header text), a JSONata expression over the
 * row (columns are the input's keys: `` `实付金额(分)` / 100 ``), or a constant.
 */
export type FieldSource = string | { readonly column: string } | { readonly expr: string } | { readonly value: string | number | boolean };

/**
 * An import mapping, as a JSON file (CLI `--mapping`) or stored with a console upload.
 *
 * @example
 * { "fields": { "phone": "手机号", "name": "姓名", "traits.level": "会员等级",
 *               "total": { "expr": "$number(`实付金额(分)`) / 100" }, "shop_id": { "value": "store-01" } },
 *   "collections": { "crm_id": "pos" }, "timezone": "+08:00", "currency": "CNY" }
 */
export interface ImportMappingSpec {
  readonly fields: Readonly<Record<string, FieldSource>>;
  /** Collections of the identifier types that need one (crm_id: the CRM's name; wechat_openid: the appId). */
  readonly collections?: Readonly<Record<string, string>>;
  /** Offset of times written without one (default +08:00, China Standard Time). */
  readonly timezone?: string;
  /** Currency of amounts when no `currency` column is mapped (default CNY). */
  readonly currency?: string;
  /** Orders: the platform recorded on each order (default "offline"). */
  readonly platform?: string;
  /** Orders: extra status words → Datong status (created, paid, shipped, completed, cancelled, closed). */
  readonly statuses?: Readonly<Record<string, string>>;
  /** XLSX: the sheet, by name or 1-based position (default the first). */
  readonly sheet?: string | number;
  /** CSV: the delimiter (default: guessed from the header line among , tab ; |). */
  readonly delimiter?: string;
  /** Row number of the header (default: 1 for CSV, the first non-empty row for XLSX). */
  readonly headerRow?: number;
  /** CSV: text encoding (default auto: UTF-8 with or without BOM, else GB18030, which covers GBK). */
  readonly encoding?: string;
}

type Source =
  | { readonly kind: 'column'; readonly column: string }
  | { readonly kind: 'expr'; readonly key: string }
  | { readonly kind: 'value'; readonly value: string | number | boolean };

export interface CompiledImportMapping {
  readonly type: ImportType;
  readonly spec: ImportMappingSpec;
  readonly fields: readonly { readonly field: string; readonly source: Source }[];
  readonly expressions: CompiledMapping | null;
  readonly collections: Readonly<Record<string, string>>;
  readonly offsetMinutes: number;
  readonly currency: string;
  readonly platform: string;
  readonly statuses: Readonly<Record<string, string>>;
  /** Columns of the file no field reads (shown by the dry run). */
  readonly unmappedColumns: readonly string[];
  /** sha256 of the type and the canonical mapping: part of every messageId. */
  readonly fingerprint: string;
}

export interface MappingProblem {
  readonly field: string;
  readonly message: string;
}

const COLLECTION_FIELDS = ['crm_id', 'wechat_openid', 'wecom_external_userid'];

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads an untrusted JSON value as a mapping spec, listing every problem of its shape. */
export function parseMappingSpec(raw: unknown): { spec: ImportMappingSpec | null; problems: MappingProblem[] } {
  const problems: MappingProblem[] = [];
  if (!isRecord(raw)) return { spec: null, problems: [{ field: '', message: 'the mapping is a JSON object with "fields"' }] };
  if (!isRecord(raw['fields'])) problems.push({ field: 'fields', message: '"fields" is an object: Datong field → column name, {"column"}, {"expr"} or {"value"}' });
  for (const [k, v] of Object.entries(isRecord(raw['fields']) ? raw['fields'] : {})) {
    const okSource =
      (typeof v === 'string' && v !== '') ||
      (isRecord(v) && Object.keys(v).length === 1 &&
        ((typeof v['column'] === 'string' && v['column'] !== '') ||
          (typeof v['expr'] === 'string' && v['expr'] !== '') ||
          ['string', 'number', 'boolean'].includes(typeof v['value'])));
    if (!okSource) problems.push({ field: k, message: 'a field maps to a column name, {"column": …}, {"expr": JSONata} or {"value": constant}' });
  }
  const str = (k: string): void => {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') problems.push({ field: k, message: `"${k}" is a string` });
  };
  ['timezone', 'currency', 'platform', 'delimiter', 'encoding'].forEach(str);
  for (const k of ['collections', 'statuses']) {
    const v = raw[k];
    if (v !== undefined && (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string'))) problems.push({ field: k, message: `"${k}" is an object of strings` });
  }
  if (raw['sheet'] !== undefined && typeof raw['sheet'] !== 'string' && !(Number.isSafeInteger(raw['sheet']) && (raw['sheet'] as number) >= 1)) {
    problems.push({ field: 'sheet', message: '"sheet" is a sheet name or a 1-based number' });
  }
  if (raw['headerRow'] !== undefined && !(Number.isSafeInteger(raw['headerRow']) && (raw['headerRow'] as number) >= 1)) {
    problems.push({ field: 'headerRow', message: '"headerRow" is a row number from 1' });
  }
  const known = new Set(['fields', 'collections', 'timezone', 'currency', 'platform', 'statuses', 'sheet', 'delimiter', 'headerRow', 'encoding', 'type']);
  for (const k of Object.keys(raw)) if (!known.has(k)) problems.push({ field: k, message: `unknown mapping option "${k}"` });
  return { spec: problems.length === 0 ? (raw as unknown as ImportMappingSpec) : null, problems };
}

const OPTION_KEYS = new Set(['collections', 'timezone', 'currency', 'platform', 'statuses', 'sheet', 'delimiter', 'headerRow', 'encoding', 'fields']);

/**
 * MAPPING_INVALID listing every problem: `errors` as JSON pointers into the request's
 * `mapping` (RFC 6901), `fieldErrors` by Datong field, as the connector mappings do.
 */
export function mappingInvalid(problems: readonly MappingProblem[]): DatongError {
  const token = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
  const first = problems[0];
  return new DatongError(
    'MAPPING_INVALID',
    `${first?.field ? `${first.field}: ` : ''}${first?.message ?? 'the mapping is not valid'}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    {
      extensions: {
        errors: problems.map((p) => ({ pointer: p.field === '' ? '/mapping' : OPTION_KEYS.has(p.field) ? `/mapping/${p.field}` : `/mapping/fields/${token(p.field)}`, message: p.message })),
        fieldErrors: problems,
      },
    },
  );
}

/** The mapping proposed from the headers (guessMapping), as a spec. */
export function guessedSpec(type: ImportType, columns: readonly string[]): ImportMappingSpec {
  return { fields: guessMapping(type, columns) };
}

/**
 * Checks a mapping against the import type and (when known) the file's columns, and compiles its
 * expressions. Throws MAPPING_INVALID listing every problem.
 */
export function compileImportMapping(type: ImportType, spec: ImportMappingSpec, columns: readonly string[] | null): CompiledImportMapping {
  const problems: MappingProblem[] = [];
  const fields: { field: string; source: Source }[] = [];
  const exprSpec: Record<string, string> = {};
  const exprField = new Map<string, string>();
  const used = new Set<string>();
  const known = columns ? new Set(columns) : null;
  for (const [field, src] of Object.entries(spec.fields)) {
    if (!isImportField(type, field)) {
      problems.push({ field, message: `"${field}" is not a field of ${type} imports (see the field list in the docs, or use traits.<name>)` });
      continue;
    }
    let source: Source;
    if (typeof src === 'string' || 'column' in src) {
      const column = typeof src === 'string' ? src : src.column;
      if (known && !known.has(column)) {
        problems.push({ field, message: `the file has no column "${column}" (columns: ${[...known].slice(0, 30).join(', ')})` });
        continue;
      }
      used.add(column);
      source = { kind: 'column', column };
    } else if ('expr' in src) {
      const key = `f${Object.keys(exprSpec).length}`;
      exprSpec[key] = src.expr;
      exprField.set(key, field);
      source = { kind: 'expr', key };
      // An expression may read any column; none is reported as unmapped on its account.
      if (known) for (const c of known) if (src.expr.includes(c)) used.add(c);
    } else {
      source = { kind: 'value', value: src.value };
    }
    fields.push({ field, source });
  }
  let expressions: CompiledMapping | null = null;
  if (Object.keys(exprSpec).length > 0) {
    try {
      expressions = compileMapping(exprSpec);
    } catch (e) {
      const errs = ((e as DatongError).extensions?.['errors'] as MappingFieldError[] | undefined) ?? [];
      for (const x of errs) problems.push({ field: exprField.get(x.field) ?? x.field, message: `JSONata: ${x.message}${x.position !== undefined ? ` (at ${x.position})` : ''}` });
    }
  }
  const mapped = new Set(fields.map((f) => f.field));
  for (const [name, f] of Object.entries(IMPORT_FIELDS)) {
    if (f.required !== type || name in spec.fields) continue;
    if (f.orMapped === undefined) problems.push({ field: name, message: `${type} imports need "${name}" mapped` });
    else if (!(f.orMapped in spec.fields)) problems.push({ field: name, message: `${type} imports need "${name}" or "${f.orMapped}" mapped` });
  }
  const identifiers = Object.keys(spec.fields).filter((f) => IMPORT_FIELDS[f]?.kind === 'identifier');
  if (identifiers.length === 0) {
    problems.push({ field: 'phone', message: `map at least one identifier (phone, email, user_id, crm_id, …) so that each row finds its customer` });
  }
  const collections: Record<string, string> = { ...(spec.collections ?? {}) };
  for (const f of COLLECTION_FIELDS) {
    if (mapped.has(f) && !(typeof collections[f] === 'string' && collections[f].trim() !== '')) {
      problems.push({ field: f, message: `${f} needs a collection: set "collections": {"${f}": "…"} (${f === 'crm_id' ? 'the CRM or POS name' : f === 'wechat_openid' ? 'the appId' : 'the WeCom corpId'})` });
    }
  }
  const offsetMinutes = parseUtcOffset(spec.timezone ?? '+08:00');
  if (offsetMinutes === undefined) problems.push({ field: 'timezone', message: 'timezone is an offset such as +08:00' });
  const currency = (spec.currency ?? 'CNY').toUpperCase();
  if (!isCurrencyCode(currency)) problems.push({ field: 'currency', message: 'currency is an ISO 4217 code such as CNY' });
  for (const [word, status] of Object.entries(spec.statuses ?? {})) {
    if (!(ORDER_STATUSES as readonly string[]).includes(status)) problems.push({ field: 'statuses', message: `"${word}" maps to "${status}", which is not one of ${ORDER_STATUSES.join(', ')}` });
  }
  if (problems.length > 0) throw mappingInvalid(problems);
  const unmappedColumns = columns ? columns.filter((c) => !used.has(c)) : [];
  return {
    type,
    spec,
    fields: fields.map((f) => (f.source.kind === 'expr' ? { field: f.field, source: { kind: 'expr' as const, key: f.source.key } } : f)),
    expressions,
    collections,
    offsetMinutes: offsetMinutes ?? 480,
    currency,
    platform: spec.platform ?? 'offline',
    statuses: spec.statuses ?? {},
    unmappedColumns,
    fingerprint: createHash('sha256').update(canonicalJson({ type, spec })).digest('hex'),
  };
}

/** Date cells as JSONata sees them: wall-clock text without an offset, read back in the import's time zone. */
function jsonataInput(values: Readonly<Record<string, Cell>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v instanceof Date ? v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '') : v;
  return out;
}

/** The value of each mapped field for one row (cells as read; expressions evaluated), plus expression errors. */
export async function resolveFields(
  m: CompiledImportMapping,
  values: Readonly<Record<string, Cell>>,
): Promise<{ values: Map<string, unknown>; errors: MappingProblem[] }> {
  const out = new Map<string, unknown>();
  const errors: MappingProblem[] = [];
  let evaluated: Record<string, unknown> | null = null;
  if (m.expressions) {
    const r = await applyMapping(m.expressions, jsonataInput(values));
    evaluated = r.output;
    for (const e of r.errors) errors.push({ field: m.fields.find((f) => f.source.kind === 'expr' && f.source.key === e.field)?.field ?? e.field, message: `JSONata: ${e.message}` });
  }
  for (const { field, source } of m.fields) {
    if (source.kind === 'column') out.set(field, values[source.column] ?? null);
    else if (source.kind === 'value') out.set(field, source.value);
    else out.set(field, evaluated?.[source.key] ?? null);
  }
  return { values: out, errors };
}
