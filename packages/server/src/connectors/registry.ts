import { doudian, meituan, taobao, youzan } from '@datong/connectors';
import type {
  ClientDeps,
  CommerceClient,
  CommerceConnector,
  InboundRequest,
  InboundResult,
  NormalizeContext,
  PlatformMessage,
  PlatformReply,
  VerifyContext,
} from '@datong/connectors';
import type { CanonicalRecord } from '@datong/core';
import type { TSchema } from '@sinclair/typebox';

/**
 * The e-commerce connectors this server knows, by platform name (the `platform` of a
 * connector row and of `/v1/hooks/{platform}/{connectorId}`). The server sees a platform only
 * through the CommerceConnector contract (packages/connectors/src/kit/connector.ts).
 */

/**
 * A connector definition as registered: the contract, with any platform name (tests register
 * fakes under their own names). Its config type is erased: the server passes back exactly what
 * the connector's own `parseConfig` returned.
 */
export interface RegisteredConnector {
  readonly platform: string;
  readonly configSchema: TSchema;
  parseConfig(raw: unknown): unknown;
  verify(req: InboundRequest, config: unknown, ctx: VerifyContext): InboundResult;
  readonly successReply: PlatformReply;
  failureReply(code: string): PlatformReply;
  normalize(message: PlatformMessage, ctx: NormalizeContext<unknown>): CanonicalRecord[];
  createClient(config: unknown, deps?: ClientDeps): CommerceClient;
}

/** Any implementation of the contract, under its own or another platform name. */
export type ConnectorDefinition<C> = Omit<CommerceConnector<C>, 'platform'> & { readonly platform: string };

/** Erases a definition's config type. Safe: a config only ever reaches the methods through `parseConfig`. */
export function registerable<C>(def: ConnectorDefinition<C>): RegisteredConnector {
  return {
    platform: def.platform,
    configSchema: def.configSchema,
    parseConfig: (raw) => def.parseConfig(raw),
    verify: (req, config, ctx) => def.verify(req, config as C, ctx),
    successReply: def.successReply,
    failureReply: (code) => def.failureReply(code),
    normalize: (message, ctx) => def.normalize(message, { config: ctx.config as C, connectorId: ctx.connectorId }),
    createClient: (config, deps) => def.createClient(config as C, deps),
  };
}

/** The platform connectors shipped with Datong (each platform folder exports its connector from packages/connectors/src/index.ts). */
export const BUILTIN_COMMERCE_CONNECTORS: readonly RegisteredConnector[] = [registerable(youzan), registerable(taobao), registerable(doudian), registerable(meituan)];

export class CommerceRegistry {
  readonly #defs = new Map<string, RegisteredConnector>();

  constructor(defs: readonly RegisteredConnector[]) {
    for (const d of defs) this.#defs.set(d.platform, d);
  }

  get(platform: string): RegisteredConnector | undefined {
    return this.#defs.get(platform);
  }

  has(platform: string): boolean {
    return this.#defs.has(platform);
  }

  platforms(): string[] {
    return [...this.#defs.keys()].sort();
  }

  /** The config keys the platform's schema marks `{ secret: true }` (never returned by the API). */
  secretKeys(platform: string): string[] {
    const props = (this.#defs.get(platform)?.configSchema as { properties?: Record<string, { secret?: unknown }> } | undefined)?.properties ?? {};
    return Object.entries(props)
      .filter(([, p]) => p.secret === true)
      .map(([k]) => k);
  }
}

/** The built-in connectors plus `extra` (tests inject fakes; an extra one replaces a built-in of the same name). */
export function createCommerceRegistry(extra: readonly RegisteredConnector[] = []): CommerceRegistry {
  return new CommerceRegistry([...BUILTIN_COMMERCE_CONNECTORS, ...extra]);
}
