import type { Static, TObject } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { DatongError } from '@datong/core';

/*
 * Validation of a connector's stored config against its TypeBox schema, the same way for every
 * platform: every problem reported at once, no value echoed (a secret pasted into the wrong field
 * must not leak through the error), URL fields checked by hand.
 */

/** One problem of a config, as listed in the error's `errors` extension. */
export interface ConfigProblem {
  /** JSON pointer of the field (`/appSecret`), `/` for the config itself. */
  readonly pointer: string;
  readonly message: string;
}

export interface ConfigCheck {
  /** Names the platform in the error message: `${name} config is invalid: …`. */
  readonly name: string;
  /**
   * A message of the platform's own for a schema error (for a pattern that means something, or a
   * union that would otherwise report once per member); undefined keeps TypeBox's message.
   */
  readonly describe?: (error: ValueError) => string | undefined;
}

/**
 * Why `value` cannot be a platform's base URL, or undefined when it can: an absolute http(s) URL
 * without a query string, a fragment or credentials.
 *
 * @example
 * baseUrlProblem('https://api.weixin.qq.com'); // undefined
 * baseUrlProblem('ftp://example.com');         // 'must use http or https'
 */
export function baseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (url.search !== '' || url.hash !== '') return 'must not have a query string or a fragment';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  return undefined;
}

/** The URL without its trailing slashes, so that `${base}/path` has exactly one. */
export function withoutTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The names of the schema's string properties declared `format: 'uri'`. */
function uriFields(schema: TObject): string[] {
  return Object.entries(schema.properties)
    .filter(([, property]) => (property as { format?: unknown }).format === 'uri')
    .map(([name]) => name);
}

/**
 * Checks raw connector config against `schema` and returns it typed (not copied: the caller
 * builds its frozen config from it, applying defaults). Fails closed: every problem is reported
 * at once as CONNECTOR_CONFIG_INVALID, whose `errors` extension lists `{ pointer, message }`,
 * and no value is echoed.
 *
 * Properties declared `format: 'uri'` (the base URLs) are checked with baseUrlProblem: TypeBox
 * has no built-in uri format, and the format stays in the schema to document the field for JSON
 * Schema tools. TypeBox reports a missing property twice (required, then wrong type); only the
 * first problem of each pointer is kept.
 *
 * @example
 * const input = checkConfig(youzanConfigSchema, raw, { name: 'Youzan' });
 * // throws DatongError CONNECTOR_CONFIG_INVALID: 'Youzan config is invalid: /clientSecret Expected required property'
 */
export function checkConfig<S extends TObject>(schema: S, raw: unknown, check: ConfigCheck): Static<S> {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (pointer: string, message: string): void => {
    if (seen.has(pointer)) return;
    seen.add(pointer);
    problems.push({ pointer: pointer === '' ? '/' : pointer, message });
  };

  for (const error of Value.Errors(schema, raw)) {
    if (error.type === ValueErrorType.StringFormatUnknown) continue;
    add(error.path, check.describe?.(error) ?? error.message);
  }
  if (typeof raw === 'object' && raw !== null) {
    for (const field of uriFields(schema)) {
      const value: unknown = (raw as Record<string, unknown>)[field];
      if (typeof value !== 'string') continue;
      const problem = baseUrlProblem(value);
      if (problem !== undefined) add(`/${field}`, problem);
    }
  }

  if (problems.length > 0) {
    throw new DatongError(
      'CONNECTOR_CONFIG_INVALID',
      `${check.name} config is invalid: ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
      { extensions: { errors: problems } },
    );
  }
  // Value.Check cannot narrow here: it fails on the unregistered uri format. The loop above
  // found no problem other than that one.
  return raw as Static<S>;
}
