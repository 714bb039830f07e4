import type { Command } from 'commander';
import { DatongError, isDatongError } from '@datong/core';
import { CliExit, formatTable, writeLine, type CliIo } from '../io.js';
import { SIM_PLATFORMS, type SimPlatform } from '../simulate/model.js';
import { runSimulation, type PlatformTally, type SimulationOptions, type SimulationReport } from '../simulate/run.js';

export interface SimulateCliOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly rate: string;
  readonly duration?: string;
  readonly events?: string;
  readonly shoppers: string;
  readonly platforms: string;
  readonly seed: string;
  readonly duplicates: string;
  readonly outOfOrder: string;
  readonly runId?: string;
  readonly drainTimeout: string;
  readonly keepConnectors?: boolean;
  readonly concurrency: string;
}

const invalid = (detail: string): DatongError => new DatongError('VALIDATION_FAILED', detail);

function number(raw: string, name: string, min: number, max: number, integer: boolean): number {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw invalid(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

/** "90s", "2m", "1h", "500ms" or plain seconds → ms. */
export function parseDuration(raw: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (!m) throw invalid(`${name} must be a duration such as 60s, 5m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0 || ms > 7 * 86_400_000) throw invalid(`${name} must be more than 0 and at most 7 days`);
  return ms;
}

export function parsePlatforms(raw: string): SimPlatform[] {
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !(SIM_PLATFORMS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw invalid(`--platforms takes a comma-separated list of ${SIM_PLATFORMS.join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  return [...new Set(names)] as SimPlatform[];
}

export function parseSimulateOptions(o: SimulateCliOptions): SimulationOptions {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw invalid('--url must be the address of a running Datong, such as http://127.0.0.1:3000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('--url must be http or https');
  if (o.duration !== undefined && o.events !== undefined) throw invalid('give --duration or --events, not both');
  const seed = o.seed.trim();
  if (seed === '' || seed.length > 64) throw invalid('--seed must be 1 to 64 characters');
  if (o.runId !== undefined && !/^[a-z0-9]{1,12}$/.test(o.runId)) throw invalid('--run-id must be 1 to 12 lower-case letters or digits');
  return {
    url: url.href.replace(/\/+$/, ''),
    apiKey: o.apiKey,
    rate: number(o.rate, '--rate', 0.1, 10_000, false),
    ...(o.duration !== undefined ? { durationMs: parseDuration(o.duration, '--duration') } : {}),
    ...(o.events !== undefined ? { events: number(o.events, '--events', 1, 100_000_000, true) } : {}),
    shoppers: number(o.shoppers, '--shoppers', 1, 1_000_000, true),
    platforms: parsePlatforms(o.platforms),
    seed,
    duplicates: number(o.duplicates, '--duplicates', 0, 1, false),
    outOfOrder: number(o.outOfOrder, '--out-of-order', 0, 1, false),
    ...(o.runId !== undefined ? { runId: o.runId } : {}),
    drainTimeoutMs: parseDuration(o.drainTimeout, '--drain-timeout'),
    keepConnectors: o.keepConnectors === true,
    concurrency: number(o.concurrency, '--concurrency', 1, 256, true),
  };
}

export function formatSimulationReport(r: SimulationReport): string {
  const lines: string[] = [];
  const cells = (name: string, t: PlatformTally): string[] => [name, String(t.sent), String(t.orders), String(t.duplicates), String(t.late), String(t.accepted), String(t.rejected)];
  const rows = Object.entries(r.tallies).map(([platform, t]) => cells(platform, t));
  const total = Object.values(r.tallies).reduce(
    (s, t) => ({
      sent: s.sent + t.sent,
      orders: s.orders + t.orders,
      duplicates: s.duplicates + t.duplicates,
      late: s.late + t.late,
      accepted: s.accepted + t.accepted,
      rejected: s.rejected + t.rejected,
    }),
    { sent: 0, orders: 0, duplicates: 0, late: 0, accepted: 0, rejected: 0 },
  );
  rows.push(cells('total', total));
  lines.push(`Simulation ${r.runId} against ${r.url}: ${total.sent} deliveries in ${r.elapsedSeconds.toFixed(1)} s (${r.achievedRate.toFixed(1)}/s), ended by ${r.ended === 'events' ? '--events' : r.ended === 'duration' ? '--duration' : 'Ctrl-C'}.`);
  lines.push('');
  for (const l of formatTable(['platform', 'sent', 'orders', 'duplicates', 'late', 'accepted', 'rejected'], rows).split('\n')) lines.push(`  ${l}`);
  lines.push('');
  lines.push('  sent: deliveries (pushes, TMC messages, Segment calls, mini-program logins); orders: distinct orders they were about;');
  lines.push('  duplicates: the same message delivered again; late: an order step delivered after the step that follows it.');
  for (const s of r.skipped) lines.push(`  ${s.platform}: not simulated, ${s.reason}`);
  for (const n of r.notes) lines.push(`  ${n}`);
  if (r.drained) lines.push('  Datong took every message the fake platforms held and processed its platform messages.');
  if (r.connectorsDisabled) lines.push('  The simulator’s connectors are disabled now that their fake platforms are stopped (their data stays).');
  if (r.rejections.length > 0) {
    lines.push('  First rejections:');
    for (const x of r.rejections) lines.push(`    ${x}`);
  }
  lines.push('');
  lines.push('Open the console to see the customers, their orders and the connectors’ message logs.');
  return `${lines.join('\n')}\n`;
}

export function registerSimulate(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description(
      'drive realistic, correctly signed traffic from fake platforms (mini-program mall, Youzan, Tmall, Douyin shop, Meituan) into a running Datong; ' +
        'creates a source and connectors with the admin key and prints them',
    )
    .requiredOption('--api-key <key>', 'an admin API key of the running Datong (printed on its first start)')
    .option('--url <url>', 'where Datong runs', 'http://127.0.0.1:3000')
    .option('--rate <n>', 'deliveries per second', '20')
    .option('--duration <time>', 'stop after this long (60s, 5m, 1h); without it or --events, run until Ctrl-C')
    .option('--events <n>', 'stop after this many deliveries')
    .option('--shoppers <n>', 'how many shoppers', '500')
    .option('--platforms <list>', `comma-separated: ${SIM_PLATFORMS.join(',')}`, SIM_PLATFORMS.join(','))
    .option('--seed <seed>', 'seed of the shoppers and traffic (same seed, same shoppers)', '1')
    .option('--duplicates <share>', 'share of deliveries pushed twice (0-1)', '0.05')
    .option('--out-of-order <share>', 'share of order steps delivered after the next step (0-1)', '0.05')
    .option('--run-id <id>', 'name of this run in ids and connector names (default: from the start time)')
    .option('--drain-timeout <time>', 'at the end, how long to wait for Datong to pull and process what is left', '60s')
    .option('--keep-connectors', 'leave the connectors enabled at the end (their fake platforms stop anyway)')
    .option('--concurrency <n>', 'deliveries in flight at once', '16')
    .action(async (raw: SimulateCliOptions) => {
      const options = parseSimulateOptions(raw);
      const stop = new AbortController();
      const stopNow = new AbortController();
      const onSigint = (): void => {
        if (!stop.signal.aborted) {
          writeLine(io.stderr, 'Stopping… (Ctrl-C again to stop without waiting for Datong)');
          stop.abort();
        } else stopNow.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const report = await runSimulation(options, { stop: stop.signal, stopNow: stopNow.signal, log: (line) => writeLine(io.stderr, line) });
        io.stdout.write(formatSimulationReport(report));
      } catch (e) {
        // The catalog's title speaks of a platform; here it is Datong itself that did not answer.
        if (isDatongError(e) && e.meta?.['datongUnreachable'] === true) {
          writeLine(io.stderr, `datong: ${e.detail ?? e.title}`);
          throw new CliExit(1);
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
