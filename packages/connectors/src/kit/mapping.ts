import jsonata from 'jsonata';
import { DatongError } from '@datong/core';

/**
 * Field mappings: each target field gets a JSONata expression (https://docs.jsonata.org/)
 * evaluated against a platform payload. A target field may be a dotted path (`traits.phone`),
 * which builds nested objects in the output. No I/O: connectors compile a mapping once and
 * apply it to every payload; the server previews mappings against a sample.
 *
 * @example
 * const m = compileMapping({ name: 'buyer.nick', 'traits.city': 'address.city' });
 * const { output, errors } = await applyMapping(m, payload);
 */
export type MappingSpec = Readonly<Record<string, string>>;

/** Guards against runaway expressions (jsonata ≥ 2.2 `timeout`, `stack`, `sequence` options). */
export interface MappingLimits {
  /** Evaluation time of one expression (D1012 past it); checked at every evaluation step. */
  readonly timeoutMs: number;
  /** Evaluation depth (D1011 past it): non-terminating recursion. */
  readonly maxDepth: number;
  /** Longest sequence an expression may build (D2015 past it), e.g. `[1..10000000]`. */
  readonly maxSequence: number;
  /** Longest string `$pad` may build (it is not covered by the guards above). */
  readonly maxPad: number;
}

/**
 * The time limit is wall-clock, so it also counts GC pauses and time the thread waits for a busy
 * CPU: 100 ms failed a plain two-field mapping on a loaded 2-core machine (its first, cold
 * evaluation). Runaway expressions are stopped by the depth and sequence guards long before.
 */
export const DEFAULT_MAPPING_LIMITS: MappingLimits = Object.freeze({ timeoutMs: 1_000, maxDepth: 300, maxSequence: 100_000, maxPad: 10_000 });

export const MAPPING_MAX_FIELDS = 200;
export const MAPPING_MAX_EXPRESSION_LENGTH = 4000;
const MAX_FIELD_LENGTH = 200;
// Segments that would write to an object's prototype rather than to a field of the output.
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/** One field that did not compile or evaluate. `position` is JSONata's character offset in the expression. */
export interface MappingFieldError {
  readonly field: string;
  readonly code: string;
  readonly message: string;
  readonly position?: number;
  readonly token?: string;
}

interface CompiledField {
  readonly field: string;
  readonly path: readonly string[];
  readonly expression: jsonata.Expression;
}

export interface CompiledMapping {
  readonly spec: MappingSpec;
  readonly limits: MappingLimits;
  readonly fields: readonly CompiledField[];
}

export interface MappingResult {
  /** The fields that evaluated to a value (a field whose expression matches nothing is absent). */
  readonly output: Record<string, unknown>;
  readonly errors: readonly MappingFieldError[];
}

interface JsonataErrorLike {
  code?: unknown;
  message?: unknown;
  position?: unknown;
  token?: unknown;
}

function fieldError(field: string, err: unknown): MappingFieldError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as JsonataErrorLike;
  const code = typeof e.code === 'string' ? e.code : err instanceof RangeError ? 'D1011' : 'MAPPING_ERROR';
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  return {
    field,
    code,
    message,
    ...(typeof e.position === 'number' ? { position: e.position } : {}),
    ...(typeof e.token === 'string' ? { token: e.token } : {}),
  };
}

function pathProblem(field: string): string | null {
  if (field.length === 0 || field.length > MAX_FIELD_LENGTH) return `a target field is 1 to ${MAX_FIELD_LENGTH} characters`;
  const segments = field.split('.');
  if (segments.some((s) => s === '')) return 'a target field has no empty segment (no leading, trailing or double dots)';
  if (segments.some((s) => FORBIDDEN_SEGMENTS.has(s))) return `a target field may not use ${[...FORBIDDEN_SEGMENTS].join(', ')}`;
  return null;
}

/**
 * Every problem of a mapping, without throwing: target fields that are not valid paths, that
 * clash (`traits` and `traits.city`), and expressions that do not compile (with JSONata's code,
 * message and position).
 */
export function checkMapping(spec: MappingSpec, limits: MappingLimits = DEFAULT_MAPPING_LIMITS): { fields: CompiledField[]; errors: MappingFieldError[] } {
  const errors: MappingFieldError[] = [];
  const fields: CompiledField[] = [];
  const entries = Object.entries(spec);
  if (entries.length > MAPPING_MAX_FIELDS) {
    return { fields, errors: [{ field: '', code: 'MAPPING_TOO_LARGE', message: `a mapping has at most ${MAPPING_MAX_FIELDS} fields` }] };
  }
  const paths = new Set(entries.map(([f]) => f));
  for (const [field, source] of entries) {
    const problem = pathProblem(field);
    if (problem) {
      errors.push({ field, code: 'MAPPING_FIELD_INVALID', message: problem });
      continue;
    }
    const segments = field.split('.');
    const parent = segments.map((_, i) => segments.slice(0, i).join('.')).find((p) => p !== '' && paths.has(p));
    if (parent !== undefined) {
      errors.push({ field, code: 'MAPPING_FIELD_CONFLICT', message: `"${field}" is inside "${parent}", which is mapped too` });
      continue;
    }
    if (typeof source !== 'string' || source.trim() === '') {
      errors.push({ field, code: 'MAPPING_EXPRESSION_EMPTY', message: 'the expression is empty' });
      continue;
    }
    if (source.length > MAPPING_MAX_EXPRESSION_LENGTH) {
      errors.push({ field, code: 'MAPPING_EXPRESSION_TOO_LONG', message: `an expression has at most ${MAPPING_MAX_EXPRESSION_LENGTH} characters` });
      continue;
    }
    try {
      const expression = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence });
      guardPad(expression, limits.maxPad);
      fields.push({ field, path: segments, expression });
    } catch (e) {
      errors.push(fieldError(field, e));
    }
  }
  return { fields, errors };
}

/** `$pad` builds its padding in one call, which the step guards cannot interrupt; cap its width. */
function guardPad(expression: jsonata.Expression, maxPad: number): void {
  const pad = (str: unknown, width: unknown, char?: unknown): unknown => {
    if (str === undefined) return undefined;
    const w = typeof width === 'number' ? width : 0;
    if (Math.abs(w) > maxPad) throw { code: 'MAPPING_LIMIT', message: `$pad width is limited to ${maxPad}` };
    const s = String(str);
    const c = typeof char === 'string' && char !== '' ? char : ' ';
    const chars = Array.from(s);
    const missing = Math.abs(w) - chars.length;
    if (missing <= 0) return s;
    const padding = Array.from(c.repeat(Math.ceil(missing / Array.from(c).length))).slice(0, missing).join('');
    return w > 0 ? s + padding : padding + s;
  };
  expression.registerFunction('pad', pad, '<s-ns?:s>');
}

/**
 * Compiles a mapping for repeated use. Throws MAPPING_INVALID (400) listing every problem in
 * the `errors` extension; the message names the first field and JSONata's message.
 */
export function compileMapping(spec: MappingSpec, limits: MappingLimits = DEFAULT_MAPPING_LIMITS): CompiledMapping {
  const { fields, errors } = checkMapping(spec, limits);
  const first = errors[0];
  if (first) {
    throw new DatongError('MAPPING_INVALID', `Field "${first.field}": ${first.message}${first.position !== undefined ? ` (at ${first.position})` : ''}`, {
      extensions: { errors },
    });
  }
  return Object.freeze({ spec, limits, fields });
}

/** A JSONata result as plain JSON: sequences become arrays, functions are refused, non-finite numbers too. */
function toJson(value: unknown, depth = 0): unknown {
  if (depth > 100) throw { code: 'MAPPING_RESULT', message: 'the result is nested too deeply' };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw { code: 'MAPPING_RESULT', message: 'the result is not a finite number' };
    return value;
  }
  if (typeof value === 'function') throw { code: 'MAPPING_RESULT', message: 'the expression evaluates to a function; call it' };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) if (v !== undefined) out.push(toJson(v, depth + 1));
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) setOwn(out, k, toJson(v, depth + 1));
    return out;
  }
  throw { code: 'MAPPING_RESULT', message: `the result is of type ${typeof value}, which JSON cannot hold` };
}

/** Assigns an own property, even `__proto__`, without touching the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function place(output: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = output;
  for (const segment of path.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(node, segment) ? node[segment] : undefined;
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      node = next as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> = {};
      setOwn(node, segment, created);
      node = created;
    }
  }
  setOwn(node, path[path.length - 1] ?? '', value);
}

/**
 * Evaluates every field against `input`, in the mapping's order. A field that fails is
 * reported in `errors` and left out of the output; the others are still evaluated.
 *
 * JSONata path semantics apply: `$.tags` of `["vip"]` is `"vip"` (a one-item sequence is its
 * item); write `tags[]` to keep an array.
 */
export async function applyMapping(mapping: CompiledMapping, input: unknown): Promise<MappingResult> {
  const output: Record<string, unknown> = {};
  const errors: MappingFieldError[] = [];
  for (const f of mapping.fields) {
    try {
      const raw: unknown = await f.expression.evaluate(input);
      if (raw === undefined) continue;
      place(output, f.path, toJson(raw));
    } catch (e) {
      errors.push(fieldError(f.field, e));
    }
  }
  return { output, errors };
}

/**
 * Compiles and applies in one go, reporting compile errors per field instead of throwing (the
 * console's live preview).
 */
export async function previewMapping(spec: MappingSpec, sample: unknown, limits: MappingLimits = DEFAULT_MAPPING_LIMITS): Promise<MappingResult> {
  const { fields, errors } = checkMapping(spec, limits);
  const result = await applyMapping({ spec, limits, fields }, sample);
  const order = new Map(Object.keys(spec).map((k, i) => [k, i]));
  const all = [...errors, ...result.errors].sort((a, b) => (order.get(a.field) ?? -1) - (order.get(b.field) ?? -1));
  return { output: result.output, errors: all };
}
