import { createHash } from 'node:crypto';
import type { DatongApi } from '../datong-api.js';
import type { Delivery, Shopper, SimOrder, SimPlatform } from '../model.js';

/**
 * A driver plays one platform: it starts that platform's fake server (from the platform's
 * connector folder), creates what Datong needs (a connector with invented credentials whose API
 * base is the fake, or a source), and turns each delivery into exactly what the platform would
 * send, signed with the folder's own push builder. Adding a platform is one driver file and
 * one line in drivers/index.ts.
 */

export interface DriverContext {
  readonly api: DatongApi;
  readonly population: readonly Shopper[];
  /** Connector and source names carry it, so runs can be told apart in the console. */
  readonly runId: string;
}

/** What the driver created, for the setup report. */
export interface CreatedItem {
  readonly what: string;
  readonly id: string;
  readonly details: readonly string[];
}

export type StartResult = { readonly ok: true; readonly created: readonly CreatedItem[] } | { readonly ok: false; readonly reason: string };

export interface DeliveryOutcome {
  readonly accepted: boolean;
  /** Why it was not accepted (HTTP status and answer), for the summary. */
  readonly detail?: string;
}

export interface PlatformDriver {
  readonly platform: SimPlatform;
  start(ctx: DriverContext): Promise<StartResult>;
  deliver(delivery: Delivery): Promise<DeliveryOutcome>;
  /** Messages still waiting for Datong to take them from the fake (Taobao's TMC queue). */
  backlog(): number;
  /** Connectors created in Datong (checked for unprocessed messages and disabled at the end). */
  connectorIds(): readonly string[];
  /** Extra lines for the summary (e.g. messages Datong pulled). */
  summary(): readonly string[];
  close(): Promise<void>;
}

/** Keeps the furthest snapshot of each order: what the fake platform's order API serves. */
export class LatestOrders {
  readonly #orders = new Map<string, SimOrder>();

  /** Records `order` and returns the furthest snapshot known (it, or a later one already seen). */
  note(order: SimOrder): SimOrder {
    const known = this.#orders.get(order.orderId);
    if (known && known.stepIndex >= order.stepIndex) return known;
    this.#orders.set(order.orderId, order);
    return order;
  }
}

/** A stable hex digest of a message key: platform message ids derived from it repeat on redelivery. */
export function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A 19-digit decimal id from a key (Douyin msg_id style). */
export function digits19(key: string): string {
  const n = BigInt(`0x${digest(key).slice(0, 16)}`) % 9_000_000_000_000_000_000n;
  return (n + 1_000_000_000_000_000_000n).toString();
}

/** A UUID-shaped id from a key (Youzan msg_id style). */
export function uuidOf(key: string): string {
  const h = digest(key);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Beijing wall-clock time "yyyy-MM-dd HH:mm:ss" (Youzan, Taobao). */
export function beijingTime(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Posts to a Datong webhook and says whether the platform would count it as delivered. */
export function outcomeOf(status: number, body: string, success: (body: string) => boolean): DeliveryOutcome {
  if (status >= 200 && status < 300 && success(body)) return { accepted: true };
  return { accepted: false, detail: `HTTP ${status} ${body.slice(0, 200)}` };
}

/** The shopper of an order (the population is indexed by shopper number). */
export function shopperOf(ctx: DriverContext, order: SimOrder): Shopper {
  const s = ctx.population[order.shopper];
  if (!s) throw new RangeError(`no shopper ${order.shopper}`);
  return s;
}
