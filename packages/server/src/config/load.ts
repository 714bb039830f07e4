import { DatongError } from '@datong/core';
import { SETTINGS, type Config, type SettingSpec } from './schema.js';

export type ValueSource = 'default' | 'env' | 'override';

export interface LoadedConfig {
  readonly config: Config;
  /** Where each value came from, by `area.name`. */
  readonly sources: Readonly<Record<string, ValueSource>>;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

function coerce(spec: SettingSpec, raw: unknown, path: string, problems: string[]): unknown {
  switch (spec.kind) {
    case 'string':
      return String(raw);
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : Number.NaN;
      if (!Number.isSafeInteger(n)) {
        problems.push(`${spec.env} (${path}): "${String(raw)}" is not an integer`);
        return undefined;
      }
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        problems.push(`${spec.env} (${path}): ${n} is outside ${spec.min ?? '-∞'}..${spec.max ?? '∞'}`);
        return undefined;
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      problems.push(`${spec.env} (${path}): "${String(raw)}" is not a boolean (use true/false or 1/0)`);
      return undefined;
    }
    case 'list':
      return Array.isArray(raw)
        ? raw.map(String)
        : String(raw)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
  }
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Loads the configuration: defaults, then environment variables, then explicit overrides
 * (tests and the CLI), in that order. Reports every problem at once.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Readonly<Record<string, unknown>> = {},
): LoadedConfig {
  const problems: string[] = [];
  const sources: Record<string, ValueSource> = {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [area, settings] of Object.entries(SETTINGS)) {
    const section: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(settings) as [string, SettingSpec][]) {
      const path = `${area}.${name}`;
      let value: unknown = spec.default;
      let source: ValueSource = 'default';
      const fromEnv = env[spec.env];
      if (fromEnv !== undefined && fromEnv !== '') {
        value = coerce(spec, fromEnv, path, problems);
        source = 'env';
      }
      if (path in overrides && overrides[path] !== undefined) {
        value = coerce(spec, overrides[path], path, problems);
        source = 'override';
      }
      section[name] = value;
      sources[path] = source;
    }
    out[area] = section;
  }
  const config = out as unknown as Config;
  if (config.security.adminKey !== undefined && config.security.adminKey.length < 16) {
    problems.push('DATONG_ADMIN_KEY (security.adminKey): must be at least 16 characters');
  }
  if (config.security.masterKey !== undefined) {
    const k = Buffer.from(config.security.masterKey, 'base64');
    if (k.length !== 32) problems.push('DATONG_MASTER_KEY (security.masterKey): must be 32 bytes, base64-encoded');
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.log.level)) {
    problems.push(`DATONG_LOG_LEVEL (log.level): "${config.log.level}" is not a log level`);
  }
  if (config.security.production) {
    if (config.security.masterKey === undefined) problems.push('DATONG_MASTER_KEY is required when DATONG_PRODUCTION=true');
    if (config.db.url === undefined) problems.push('DATABASE_URL is required when DATONG_PRODUCTION=true (the embedded database is not durable against power loss)');
  }
  if (config.db.url !== undefined && !/^postgres(ql)?:\/\//.test(config.db.url)) {
    problems.push('DATABASE_URL (db.url): must start with postgres:// or postgresql://');
  }
  if (problems.length > 0) {
    throw new DatongError('CONFIG_INVALID', problems.join('\n'), { extensions: { problems } });
  }
  return { config: deepFreeze(config), sources: deepFreeze(sources) };
}

/** The effective configuration with secrets masked, for `datong doctor` and logs. */
export function describeConfig(loaded: LoadedConfig): { key: string; env: string; value: string; source: ValueSource }[] {
  const rows: { key: string; env: string; value: string; source: ValueSource }[] = [];
  for (const [area, settings] of Object.entries(SETTINGS)) {
    for (const [name, spec] of Object.entries(settings) as [string, SettingSpec][]) {
      const key = `${area}.${name}`;
      const v = (loaded.config as unknown as Record<string, Record<string, unknown>>)[area]?.[name];
      const shown = v === undefined ? '(unset)' : spec.secret ? '********' : Array.isArray(v) ? v.join(',') : String(v);
      rows.push({ key, env: spec.env, value: shown, source: loaded.sources[key] ?? 'default' });
    }
  }
  return rows;
}
