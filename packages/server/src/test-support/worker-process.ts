// A worker process for the multi-process test: claims inbox batches from a shared PostgreSQL
// until the queue stays empty, then prints how many messages it processed.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/load.js';
import { openPostgres } from '../db/client.js';
import { processInboxBatch } from '../jobs/process-inbox.js';
import { createLogger } from '../observability/logger.js';
import { createKeyring } from '../security/keys.js';

const { config } = loadConfig(process.env);
if (!config.db.url || !config.security.masterKey) throw new Error('DATABASE_URL and DATONG_MASTER_KEY are required');
const db = await openPostgres(config.db.url, 2);
const deps = {
  config,
  db,
  keyring: createKeyring(Buffer.from(config.security.masterKey, 'base64')),
  clock: () => new Date(),
  logger: createLogger('warn'),
  kick: () => undefined,
};
process.stdout.write('ready\n');
let processed = 0;
let batches = 0;
let idle = 0;
let started = false;
while (idle < 40) {
  const r = await processInboxBatch(deps, config.queue.batchSize);
  if (r.claimed > 0) {
    started = true;
    idle = 0;
    batches++;
    processed += r.processed + r.quarantined;
  } else {
    if (started) idle++;
    await sleep(25);
  }
}
await db.close();
process.stdout.write(`${JSON.stringify({ processed, batches })}\n`);
