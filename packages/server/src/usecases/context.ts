import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/client.js';
import type { Keyring } from '../security/keys.js';

/** What use cases and jobs need: configuration, database, keys, a clock and a logger. */
export interface ServerDeps {
  readonly config: Config;
  readonly db: Db;
  readonly keyring: Keyring;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Wakes the in-process workers (new inbox rows, new deliveries). */
  readonly kick: () => void;
}
