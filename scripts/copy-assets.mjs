// Copies non-TypeScript assets (SQL migrations) next to the compiled JavaScript.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}packages/server/src/db/migrations`, `${root}packages/server/dist/db/migrations`, { recursive: true });
