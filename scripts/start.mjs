// `npm start`: builds when the compiled output (server or web console) is missing or older than
// its sources, then runs `datong serve`. Extra arguments are passed on (npm start -- --help).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = path.join(root, 'packages/cli/dist/main.js');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

const sources = ['core', 'contracts', 'connectors', 'server', 'cli'].map((p) => path.join(root, 'packages', p, 'src'));
const consoleDir = path.join(root, 'packages/console');
const consoleIndex = path.join(consoleDir, 'dist/index.html');
const consoleSources = Math.max(newest(path.join(consoleDir, 'src')), statSync(path.join(consoleDir, 'index.html')).mtimeMs);
const stale =
  !existsSync(entry) ||
  Math.max(...sources.map(newest)) > statSync(entry).mtimeMs ||
  !existsSync(consoleIndex) ||
  consoleSources > statSync(consoleIndex).mtimeMs;
if (!existsSync(path.join(root, 'node_modules'))) {
  console.error('Dependencies are missing: run `npm install` first.');
  process.exit(1);
}
if (stale) {
  console.error('Building Datong…');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const args = process.argv.slice(2);
// A larger young generation: fewer collections and shorter pauses with ingest's short-lived
// objects (docs/decisions.md). The `datong` bin's first line gives the same flag.
const nodeFlags = ['--max-semi-space-size=64'];
const r = spawnSync(process.execPath, [...nodeFlags, entry, ...(args.length > 0 ? args : ['serve'])], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
