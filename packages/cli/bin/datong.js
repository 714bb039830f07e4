#!/usr/bin/env -S node --max-semi-space-size=64
// The `datong` command. npm links bins when it installs, before anything is built, and skips a
// bin whose file does not exist yet, so this small committed file is the bin and loads the build.
// The first line's flag (a larger young generation, docs/decisions.md) is what scripts/start.mjs gives too.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('datong: the CLI is not built yet. Run `npm run build` (or `npm start`, which builds first) in the Datong checkout.\n');
  process.exit(1);
}
await import(main.href);
