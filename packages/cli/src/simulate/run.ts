import { fullBucket, takeToken, type BucketSpec } from '@datong/connectors';
import { DatongApi } from './datong-api.js';
import { DRIVERS } from './drivers/registry.js';
import type { CreatedItem, PlatformDriver } from './drivers/driver.js';
import { platformOf, type SimEvent, type SimPlatform } from './model.js';
import { planDeliveries } from './plan.js';
import { createPopulation } from './population.js';

/**
 * Runs a simulation against a running Datong: sets up a source and connectors through the
 * public API (each pointing at a fake platform started here), sends the planned deliveries at
 * the chosen rate, waits for Datong to take what the fakes still hold, and reports.
 */

export interface SimulationOptions {
  readonly url: string;
  readonly apiKey: string;
  /** Deliveries per second. */
  readonly rate: number;
  /** Stop after this long (ms)… */
  readonly durationMs?: number;
  /** …or after this many deliveries; without either, run until stopped. */
  readonly events?: number;
  readonly shoppers: number;
  readonly platforms: readonly SimPlatform[];
  readonly seed: string;
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Names this run (ids and names carry it). Default: from the start time. */
  readonly runId?: string;
  /** How long to wait at the end for Datong to pull and process what is left. */
  readonly drainTimeoutMs: number;
  /** Leave the connectors enabled at the end (their fake platforms stop with the simulator). */
  readonly keepConnectors: boolean;
  /** Deliveries in flight at once. */
  readonly concurrency: number;
}

export interface SimulationHooks {
  /** Aborted: stop sending (then wait for Datong as usual). */
  readonly stop: AbortSignal;
  /** Aborted: stop waiting for Datong too. */
  readonly stopNow: AbortSignal;
  /** Progress and setup lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** How often to log progress while sending (ms). Default 5000. */
  readonly progressEveryMs?: number;
}

export interface PlatformTally {
  sent: number;
  /** Distinct orders the deliveries were about (mall: Order Completed). */
  orders: number;
  duplicates: number;
  late: number;
  accepted: number;
  rejected: number;
}

export interface SimulationReport {
  readonly runId: string;
  readonly url: string;
  readonly created: readonly CreatedItem[];
  /** Platforms asked for that this Datong does not support, with why. */
  readonly skipped: readonly { readonly platform: SimPlatform; readonly reason: string }[];
  readonly tallies: Readonly<Partial<Record<SimPlatform, PlatformTally>>>;
  /** Seconds spent sending. */
  readonly elapsedSeconds: number;
  /** Deliveries per second actually achieved. */
  readonly achievedRate: number;
  /** Why sending ended. */
  readonly ended: 'events' | 'duration' | 'stopped';
  /** Everything left in the fakes was taken and processed by Datong before the end. */
  readonly drained: boolean;
  readonly connectorsDisabled: boolean;
  /** The first rejections, for the reader to see why. */
  readonly rejections: readonly string[];
  readonly notes: readonly string[];
}

const MAX_REJECTIONS_SHOWN = 5;
/** Nothing left for this long (Datong's channel step runs every second) before the end counts as drained. */
const QUIET_MS = 3_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function orderIdOf(e: SimEvent): string | undefined {
  if (e.kind === 'order') return e.order.orderId;
  if (e.kind === 'segment' && e.message['event'] === 'Order Completed') {
    const id = (e.message['properties'] as Record<string, unknown> | undefined)?.['order_id'];
    return typeof id === 'string' ? id : undefined;
  }
  return undefined;
}

export function defaultRunId(now: Date): string {
  return Math.floor(now.getTime() / 1000).toString(36);
}

export async function runSimulation(options: SimulationOptions, hooks: SimulationHooks): Promise<SimulationReport> {
  const { log } = hooks;
  const api = new DatongApi(options.url, options.apiKey);
  await api.checkAdminKey();
  const runId = options.runId ?? defaultRunId(new Date());
  const population = createPopulation({ seed: options.seed, shoppers: options.shoppers, platforms: options.platforms });

  // 1. Fake platforms and what Datong needs to receive from them.
  const drivers: PlatformDriver[] = [];
  const created: CreatedItem[] = [];
  const skipped: { platform: SimPlatform; reason: string }[] = [];
  try {
    for (const platform of options.platforms) {
      const driver = DRIVERS[platform]();
      const started = await driver.start({ api, population, runId });
      if (!started.ok) {
        await driver.close();
        skipped.push({ platform, reason: started.reason });
        log(`${platform}: skipped, ${started.reason}`);
        continue;
      }
      drivers.push(driver);
      created.push(...started.created);
    }
  } catch (e) {
    await Promise.allSettled(drivers.map((d) => d.close()));
    throw e;
  }
  const byPlatform = new Map(drivers.map((d) => [d.platform, d]));
  const active = drivers.map((d) => d.platform);
  log(`Simulation ${runId} against ${api.url} (seed ${options.seed}, ${population.length} shoppers, ${active.join(', ') || 'no platform'}):`);
  for (const c of created) {
    log(`  created ${c.what} ${c.id}`);
    for (const d of c.details) log(`    ${d}`);
  }

  const tallies: Partial<Record<SimPlatform, PlatformTally>> = {};
  for (const p of active) tallies[p] = { sent: 0, orders: 0, duplicates: 0, late: 0, accepted: 0, rejected: 0 };
  const orderIds = new Set<string>();
  const rejections: string[] = [];
  const notes: string[] = [];
  let ended: SimulationReport['ended'] = 'stopped';
  const started = Date.now();
  let sendingEnded = started;

  try {
    // 2. Send, at the rate, with a bounded number in flight.
    if (active.length > 0) {
      const spec: BucketSpec = { capacity: Math.max(1, Math.ceil(options.rate / 10)), refillPerSecond: options.rate };
      let bucket = fullBucket(spec, started);
      const inFlight = new Set<Promise<void>>();
      const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
      const everyMs = hooks.progressEveryMs ?? 5000;
      let nextProgress = started + everyMs;
      let count = 0;
      const plan = planDeliveries(population, {
        seed: options.seed,
        runId,
        platforms: active,
        startAt: started,
        rate: options.rate,
        duplicates: options.duplicates,
        outOfOrder: options.outOfOrder,
      });
      const progress = (): string => {
        const all = Object.values(tallies);
        const sent = all.reduce((s, t) => s + t.sent, 0);
        const accepted = all.reduce((s, t) => s + t.accepted, 0);
        const rejected = all.reduce((s, t) => s + t.rejected, 0);
        const secs = (Date.now() - started) / 1000;
        return `${secs.toFixed(1)} s: ${sent} sent (${(sent / Math.max(secs, 0.001)).toFixed(1)}/s), ${accepted} accepted, ${rejected} rejected`;
      };
      for (const delivery of plan) {
        if (options.events !== undefined && count >= options.events) {
          ended = 'events';
          break;
        }
        // A token of the bucket, or the end.
        for (;;) {
          if (hooks.stop.aborted) break;
          const now = Date.now();
          if (now >= deadline) break;
          const r = takeToken(bucket, spec, now);
          bucket = r.state;
          if (r.ok) break;
          await sleep(Math.min(r.waitMs, deadline - now), hooks.stop);
        }
        if (hooks.stop.aborted) break;
        if (Date.now() >= deadline) {
          ended = 'duration';
          break;
        }
        while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
        const platform = platformOf(delivery.event);
        const driver = byPlatform.get(platform);
        const tally = tallies[platform];
        if (!driver || !tally) continue;
        count++;
        tally.sent++;
        if (delivery.duplicate) tally.duplicates++;
        if (delivery.late) tally.late++;
        const orderId = orderIdOf(delivery.event);
        if (orderId !== undefined && !orderIds.has(`${platform}:${orderId}`)) {
          orderIds.add(`${platform}:${orderId}`);
          tally.orders++;
        }
        const job = driver
          .deliver(delivery)
          .catch((e: unknown) => ({ accepted: false, detail: e instanceof Error ? e.message : String(e) }))
          .then((outcome) => {
            if (outcome.accepted) tally.accepted++;
            else {
              tally.rejected++;
              if (rejections.length < MAX_REJECTIONS_SHOWN) rejections.push(`${platform} #${delivery.seq}: ${outcome.detail ?? 'rejected'}`);
            }
          });
        const tracked: Promise<void> = job.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (Date.now() >= nextProgress) {
          log(progress());
          nextProgress = Date.now() + everyMs;
        }
      }
      if (options.events !== undefined && count >= options.events) ended = 'events';
      await Promise.all(inFlight);
      sendingEnded = Date.now();
      log(`${progress()}; sending ended (${ended})`);
    }

    // 3. Wait for Datong to take what the fakes still hold and to process its platform messages.
    const connectorIds = drivers.flatMap((d) => d.connectorIds());
    let drained = false;
    const until = Date.now() + options.drainTimeoutMs;
    let said = false;
    let quietSince: number | null = null;
    while (!hooks.stopNow.aborted) {
      const queued = drivers.reduce((s, d) => s + d.backlog(), 0);
      let unprocessed = 0;
      for (const id of connectorIds) {
        const b = await api.connectorBacklog(id);
        if (b) unprocessed += b.pending + b.failed;
      }
      // Quiet for a while, not just once: an order first known from a status-only push has its
      // details fetched from the fake's order API a moment after the push was processed.
      if (queued === 0 && unprocessed === 0) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= QUIET_MS) {
          drained = true;
          break;
        }
      } else quietSince = null;
      if (Date.now() >= until) {
        notes.push(`Datong had not taken everything after ${Math.round(options.drainTimeoutMs / 1000)} s: ${queued} message(s) still queued in the fakes, ${unprocessed} not processed.`);
        break;
      }
      if (!said && quietSince === null) {
        log(`Waiting for Datong to pull and process the rest (${queued} queued, ${unprocessed} unprocessed; Ctrl-C again to stop now)…`);
        said = true;
      }
      await sleep(500, hooks.stopNow);
    }
    if (hooks.stopNow.aborted && !drained) notes.push('Stopped before Datong had taken everything from the fake platforms.');

    // 4. The fakes stop with the simulator: their connectors are disabled once nothing of theirs is pending.
    let connectorsDisabled = false;
    if (!options.keepConnectors && connectorIds.length > 0) {
      if (drained) {
        for (const id of connectorIds) await api.disableConnector(id);
        connectorsDisabled = true;
      } else {
        notes.push('The connectors were left enabled so that Datong can finish their messages; disable them in the console afterwards (their fake platforms are gone).');
      }
    }
    for (const d of drivers) notes.push(...d.summary().map((s) => `${d.platform}: ${s}`));
    const sent = Object.values(tallies).reduce((s, t) => s + t.sent, 0);
    const elapsedSeconds = (sendingEnded - started) / 1000;
    return {
      runId,
      url: api.url,
      created,
      skipped,
      tallies,
      elapsedSeconds,
      achievedRate: sent / Math.max(elapsedSeconds, 0.001),
      ended,
      drained,
      connectorsDisabled,
      rejections,
      notes,
    };
  } finally {
    await Promise.allSettled(drivers.map((d) => d.close()));
  }
}
