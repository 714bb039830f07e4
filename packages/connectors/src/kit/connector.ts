import type { CanonicalOrder, CanonicalRecord } from '@datong/core';
import type { TSchema } from '@sinclair/typebox';

/**
 * The contract every e-commerce connector folder implements (STYLE.md §C). The server knows
 * platforms only through this: it keeps the raw body, calls `verify`, stores each message in
 * the connector's message log, answers with `reply`, and later calls `normalize` on each
 * stored message. Everything platform-specific (field names, signatures, error codes, quirks)
 * stays inside the platform's folder.
 */

/** An inbound webhook exactly as received. */
export interface InboundRequest {
  readonly method: string;
  /** Path and query as received (e.g. `/v1/hooks/meituan/con_1?timestamp=…&sig=…`). */
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body bytes as received; signatures are computed over these, never over re-serialized JSON. */
  readonly rawBody: Buffer;
}

export interface VerifyContext {
  readonly now: Date;
  /**
   * Datong's public URL of this connector's webhook (`DATONG_PUBLIC_URL` + `/v1/hooks/{platform}/{connectorId}`),
   * for platforms that sign the push URL (Meituan).
   */
  readonly publicUrl: string;
}

/** One platform message out of a verified request (a request may carry several: Douyin). */
export interface PlatformMessage {
  /** The platform's message id (dedupe key). When it has none, a stable hash of the message. */
  readonly messageId: string;
  /** The platform's message type/tag/topic as it names it (`trade_TradePaid`, `102`, `taobao_trade_TradeCreate`). */
  readonly type: string;
  /** The message's own payload, parsed (platform field names), JSON-serializable. */
  readonly payload: unknown;
  /** When the platform says the message was produced, if it says. */
  readonly occurredAt?: string;
  /** Test/URL-verification pings: acknowledged and logged, never normalized. */
  readonly test?: boolean;
}

export type InboundResult =
  | { readonly kind: 'messages'; readonly messages: readonly PlatformMessage[] }
  /** A handshake the platform sends when the URL is configured; answered with `reply`, nothing stored. */
  | { readonly kind: 'handshake'; readonly reply: PlatformReply };

/** Exactly what goes back to the platform. */
export interface PlatformReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface NormalizeContext<Config> {
  readonly config: Config;
  /** The connector id (for ids that need to be unique per connector). */
  readonly connectorId: string;
}

/** A page of orders from the platform's order API (backfill, fallback polling, reconciliation). */
export interface OrderPage {
  readonly orders: readonly CanonicalOrder[];
  /** Present when there are more. */
  readonly nextCursor?: string;
}

export interface ConnectionCheck {
  readonly ok: boolean;
  /** In words a merchant understands, zh-CN and en. */
  readonly message: { readonly 'zh-CN': string; readonly en: string };
  /** Stable code of what went wrong (a Datong error code), when not ok. */
  readonly code?: string;
}

/** Pull-based message channels (Taobao TMC): consume a batch, confirm it after storing. */
export interface PulledMessages {
  readonly messages: readonly PlatformMessage[];
  /** Confirms (acks) exactly these messages; unconfirmed ones are redelivered by the platform. */
  confirm(): Promise<void>;
}

/** The outbound side: the only part of a connector that does I/O. */
export interface CommerceClient {
  /** Checks credentials and reachability. Never throws for an expected failure: answers ok=false. */
  testConnection(): Promise<ConnectionCheck>;
  /** Orders modified in [from, to), page by page (the platform's incremental/modified-time query). */
  listOrders(window: { readonly from: Date; readonly to: Date; readonly cursor?: string }): Promise<OrderPage>;
  /** One order by id (reconciliation detail, fallback). */
  getOrder?(orderId: string): Promise<CanonicalOrder | null>;
  /** Pull channel (Taobao TMC); absent for push-only platforms. */
  pullMessages?(max: number): Promise<PulledMessages>;
}

export interface ClientDeps {
  /** Overrides the platform's API base URL (tests, the simulator, private gateways). */
  readonly baseUrl?: string;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
  /** Called before every API call: waits for a token of the per-connector, per-API bucket. */
  readonly rateLimit?: (api: string) => Promise<void>;
}

export interface CommerceConnector<Config = unknown> {
  readonly platform: 'youzan' | 'taobao' | 'doudian' | 'meituan';
  /** TypeBox schema of the config; secrets marked `{ secret: true }`. */
  readonly configSchema: TSchema;
  /** Validates raw config; throws CONNECTOR_CONFIG_INVALID listing every problem (missing secret included: fail closed). */
  parseConfig(raw: unknown): Config;
  /**
   * Verifies a webhook over its raw bytes (constant-time compare; replay window where the platform
   * signs a time) and splits it into messages. Throws DatongError CONNECTOR_SIGNATURE_INVALID /
   * CONNECTOR_REPLAY_REJECTED / MESSAGE_INVALID. Pure: no I/O, time from `ctx.now`.
   */
  verify(req: InboundRequest, config: Config, ctx: VerifyContext): InboundResult;
  /** The success answer the platform expects for an accepted request. */
  readonly successReply: PlatformReply;
  /** The answer for a rejected request (so the platform retries or shows an error as it documents). */
  failureReply(code: string): PlatformReply;
  /** Platform message → canonical records. Pure and deterministic; never throws on unknown optional fields. */
  normalize(message: PlatformMessage, ctx: NormalizeContext<Config>): CanonicalRecord[];
  createClient(config: Config, deps?: ClientDeps): CommerceClient;
}
