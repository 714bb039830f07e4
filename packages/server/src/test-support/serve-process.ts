// Starts a Datong server from source (for crash and locking tests): prints {"url": …} once listening.
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { startDatong } from '../runtime.js';

const { config } = loadConfig(process.env);
const datong = await startDatong({ config, logger: createLogger('warn') });
const url = await datong.app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => {
  void datong.close().then(() => process.exit(0));
});
