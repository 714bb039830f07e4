import { DatongError, ERROR_CATALOG, type ErrorCode } from '@datong/core';

/**
 * The few calls of Datong's public API the simulator makes with the admin key (setup, status,
 * cleanup). Traffic itself goes through the drivers (write key, webhooks, mini-program calls).
 */

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface CreatedConnector {
  readonly id: string;
  readonly sourceId: string;
  /** The URL Datong says to paste into the platform (what Meituan signs). */
  readonly webhookUrl: string | null;
}

export interface ConnectorBacklog {
  readonly pending: number;
  readonly failed: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

function isCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOG, code);
}

/** A problem+json answer as a DatongError with Datong's own code (or PLATFORM_ERROR when it has none). */
function problemError(what: string, a: ApiAnswer): DatongError {
  const p = (typeof a.body === 'object' && a.body !== null ? a.body : {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : `HTTP ${a.status}`;
  return new DatongError(isCode(p.code) ? p.code : 'PLATFORM_ERROR', `${what}: ${detail}`);
}

export class DatongApi {
  readonly url: string;
  readonly #apiKey: string;

  constructor(url: string, apiKey: string) {
    this.url = url.replace(/\/+$/, '');
    this.#apiKey = apiKey;
  }

  /** A call with the admin key; never throws for an HTTP status (network failures do). */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new DatongError('PLATFORM_UNREACHABLE', `Datong did not answer at ${this.url} (${(e as Error).message}). Is it running? (npm start)`, {
        cause: e,
        meta: { datongUnreachable: true },
      });
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: kept as text.
    }
    return { status: response.status, body: parsed };
  }

  /** Checks the key before anything is created: an admin key is needed to create sources and connectors. */
  async checkAdminKey(): Promise<void> {
    const a = await this.call('GET', '/v1/connectors');
    if (a.status !== 200) throw problemError(`The API key was refused by ${this.url}`, a);
  }

  async createSource(name: string, type: string): Promise<{ id: string; writeKey: string }> {
    const a = await this.call('POST', '/v1/sources', { name, type });
    if (a.status !== 201) throw problemError(`Creating the source "${name}" failed`, a);
    return a.body as { id: string; writeKey: string };
  }

  /**
   * Creates a connector; null when this Datong does not know the platform (an older or
   * partial build), so the simulator can go on with the others.
   */
  async createConnector(platform: string, name: string, config: Record<string, unknown>): Promise<CreatedConnector | null> {
    const a = await this.call('POST', '/v1/connectors', { platform, name, config });
    if (a.status === 400 && (a.body as { code?: unknown } | null)?.code === 'CONNECTOR_PLATFORM_UNKNOWN') return null;
    if (a.status !== 201) throw problemError(`Creating the ${platform} connector failed`, a);
    const created = a.body as { id: string; sourceId: string };
    const detail = await this.call('GET', `/v1/connectors/${encodeURIComponent(created.id)}`);
    const webhookUrl = (detail.body as { commerce?: { webhookUrl?: unknown } } | null)?.commerce?.webhookUrl;
    return { id: created.id, sourceId: created.sourceId, webhookUrl: typeof webhookUrl === 'string' ? webhookUrl : null };
  }

  /** Platform messages of a connector that Datong has stored but not processed yet. */
  async connectorBacklog(id: string): Promise<ConnectorBacklog | null> {
    const a = await this.call('GET', `/v1/connectors/${encodeURIComponent(id)}`);
    const m = (a.body as { commerce?: { messages?: { pending?: unknown; failed?: unknown } } } | null)?.commerce?.messages;
    if (a.status !== 200 || !m) return null;
    return { pending: Number(m.pending ?? 0), failed: Number(m.failed ?? 0) };
  }

  /** Disables a connector (its data stays). */
  async disableConnector(id: string): Promise<void> {
    const a = await this.call('DELETE', `/v1/connectors/${encodeURIComponent(id)}`);
    if (a.status !== 204 && a.status !== 404) throw problemError(`Disabling connector ${id} failed`, a);
  }
}
