import closeWithGrace from 'close-with-grace';
import type { Command } from 'commander';
import { DatongError } from '@datong/core';
import { createLogger, startDatong } from '@datong/server';
import { formatBanner, listenUrl, type AdminKeyNote } from '../banner.js';
import { describeDatabase, loadCliConfig } from '../config.js';
import type { CliIo, Running } from '../io.js';

export interface ServeOptions {
  readonly host?: string;
  readonly port?: string;
}

/** How long a graceful stop may take before close-with-grace ends the process. */
const SHUTDOWN_DELAY_MS = 10_000;

/**
 * Starts the server (`serve`: HTTP API + workers) or a worker process (`worker`: workers
 * only, against PostgreSQL), prints the banner and installs the SIGINT/SIGTERM handlers.
 * Resolves once it is up; the open server and workers keep the process alive.
 */
export async function startServer(io: CliIo, mode: 'serve' | 'worker', opts: ServeOptions = {}): Promise<Running> {
  const overrides: Record<string, unknown> = {};
  if (opts.host !== undefined) overrides['http.host'] = opts.host;
  if (opts.port !== undefined) overrides['http.port'] = opts.port;
  if (mode === 'worker') overrides['queue.workers'] = true;
  const { config } = loadCliConfig(io, overrides);
  if (mode === 'worker' && config.db.url === undefined) {
    throw new DatongError(
      'CONFIG_INVALID',
      '`datong worker` needs a PostgreSQL server (set DATABASE_URL). The embedded PGlite database cannot be shared by ' +
        'processes; with it, `datong serve` already runs the workers.',
    );
  }
  // pino's default destination (a synchronous fd writer) is faster than the process.stdout stream.
  const logger = io.stdout === process.stdout ? createLogger(config.log.level) : createLogger(config.log.level, io.stdout);
  const datong = await startDatong({ config, logger });

  let url: string | null = null;
  if (mode === 'serve') {
    try {
      await datong.app.listen({ host: config.http.host, port: config.http.port });
    } catch (e) {
      await datong.close();
      throw new DatongError(
        'CONFIG_INVALID',
        `Cannot listen on ${config.http.host}:${config.http.port} (${(e as Error).message}). Choose another HOST/PORT or --host/--port.`,
        { cause: e },
      );
    }
    const address = datong.app.server.address();
    url = listenUrl(config.http.host, typeof address === 'object' && address !== null ? address.port : config.http.port);
  }

  const grace = closeWithGrace(
    {
      delay: SHUTDOWN_DELAY_MS,
      logger: { error: (problem: unknown) => logger.error({ event: 'server.shutdown_problem', err: problem }, 'problem while shutting down') },
    },
    async ({ signal, err }) => {
      if (err) logger.error({ event: 'process.crashed', err }, 'uncaught error; shutting down');
      else logger.info({ event: 'server.stopping', signal }, 'shutting down');
      await datong.close();
    },
  );

  const adminKey: AdminKeyNote =
    datong.generatedAdminKey !== null
      ? { kind: 'generated', key: datong.generatedAdminKey }
      : config.security.adminKey !== undefined
        ? { kind: 'env' }
        : { kind: 'existing' };
  // Whether to say how to create the first console user (any tenant's user counts).
  const consoleUsers =
    mode === 'serve'
      ? await datong.db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any').then(
          (r) => r.rows[0]?.any ?? null,
          () => null,
        )
      : null;
  io.stdout.write(
    formatBanner({ url, publicUrl: config.http.publicUrl, database: describeDatabase(config), adminKey, workers: datong.runner !== null, consoleUsers }),
  );

  return {
    url,
    datong,
    async close() {
      grace.uninstall();
      await datong.close();
    },
  };
}

export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve', { isDefault: true })
    .description('start the HTTP API and the background workers (the default command)')
    .option('--host <address>', 'address to listen on (overrides HOST)')
    .option('--port <port>', 'port to listen on, 0 for any free port (overrides PORT)')
    .action(async (opts: ServeOptions) => {
      const running = await startServer(io, 'serve', opts);
      io.onRunning?.(running);
    });

  program
    .command('worker')
    .description('run only the background workers, for extra worker processes sharing one PostgreSQL database')
    .action(async () => {
      const running = await startServer(io, 'worker');
      io.onRunning?.(running);
    });
}
