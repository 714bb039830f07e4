// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by area (Datong, PGlite, pg, Fastify,
// crypto, GC, …) and the top functions. Usage: node bench/profile-summary.mjs <file.cpuprofile>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const AREAS = [
  [/^wasm:\/\//, 'PGlite (PostgreSQL in WASM)'],
  [/@electric-sql\/pglite/, 'PGlite (JS glue)'],
  [/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pgpass|postgres-[a-z]+)\//, 'pg driver'],
  [/node_modules\/(fastify|find-my-way|avvio|fast-json-stringify|fast-querystring|fast-uri|light-my-request|secure-json-parse|@fastify|ajv|ajv-formats|fast-deep-equal|toad-cache|process-warning|abstract-logging|rfdc|json-schema-ref-resolver)\//, 'Fastify (routing, validation, serialization)'],
  [/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free|safe-stable-stringify)\//, 'pino'],
  [/node_modules\/prom-client\//, 'prom-client'],
  [/node_modules\/libphonenumber-js\//, 'libphonenumber-js (phone normalization)'],
  [/node_modules\/decimal\.js\//, 'decimal.js'],
  [/packages\/server\/dist\/jobs\//, 'Datong server: jobs (inbox worker)'],
  [/packages\/server\/dist\/usecases\//, 'Datong server: use cases'],
  [/packages\/server\/dist\/security\//, 'Datong server: keys (encrypt, blind index)'],
  [/packages\/server\/dist\//, 'Datong server: other (routes, http, db wrapper)'],
  [/packages\/core\/dist\//, 'Datong core (parse, identity graph, rules)'],
  [/bench\//, 'bench instrumentation'],
  [/^node:internal\/crypto|^node:crypto/, 'Node crypto'],
  [/^node:(internal\/)?(net|stream|http|_http|streams|dns|tls)/, 'Node net/http/streams'],
  [/^node:/, 'Node internals (other)'],
];

function areaOf(frame) {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (idle), (program)
    return `V8 builtins (${/^(JSON\.\w+|[A-Z]\w*)/.exec(functionName)?.[0] ?? 'other'})`;
  }
  for (const [re, name] of AREAS) if (re.test(url)) return name;
  return `other: ${url.replace(/^file:\/\//, '').split('/node_modules/').pop()}`;
}

export function summarizeProfile(file) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const areas = new Map();
  const fns = new Map();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const area = areaOf(n.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + t);
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|packages)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '';
    const k = `${n.callFrame.functionName || '(anonymous)'}\t${where}`;
    fns.set(k, (fns.get(k) ?? 0) + t);
  }
  const idle = areas.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (t) => (busy > 0 ? (100 * t) / busy : 0);
  return {
    file: path.basename(file),
    totalSeconds: total / 1e6,
    busySeconds: busy / 1e6,
    note: 'percentages are of non-idle samples',
    byArea: [...areas.entries()].filter(([a]) => a !== '(idle)').map(([area, t]) => ({ area, seconds: t / 1e6, pct: pct(t) })).sort((a, b) => b.seconds - a.seconds),
    topFunctions: [...fns.entries()]
      .filter(([k]) => !k.startsWith('(idle)'))
      .map(([k, t]) => {
        const [name, where] = k.split('\t');
        return { name, where, seconds: t / 1e6, pct: pct(t) };
      })
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 40),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = summarizeProfile(process.argv[2]);
  console.log(`${s.file}: ${s.busySeconds.toFixed(1)} s busy of ${s.totalSeconds.toFixed(1)} s`);
  for (const a of s.byArea) console.log(`${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
  console.log('');
  for (const f of s.topFunctions) console.log(`${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
}
