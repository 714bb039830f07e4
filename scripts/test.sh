#!/usr/bin/env bash
# The test command (npm test): type-check, lint, then the whole suite twice — on the embedded
# PGlite and on a throwaway PostgreSQL server — and a one-line total.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
bash scripts/pg.sh ensure
# The console's browser tests drive Debian's Chromium (never a downloaded browser); the CJK fonts
# make Chinese readable in their screenshots.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'noto sans cjk'; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Chromium and CJK fonts from Debian's packages…" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >&2
  else
    echo "Chromium is missing and this is not root: apt-get install chromium fonts-noto-cjk" >&2
  fi
fi

results=$(mktemp -d)
pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then bash scripts/pg.sh stop "$pgdir"; fi
  rm -rf "$results"
}
trap cleanup EXIT

echo "== build and type-check"
npm run --silent typecheck
echo "== lint"
npm run --silent lint

if [ -n "${DATONG_TEST_POSTGRES_URL:-}" ]; then
  pg_url=$DATONG_TEST_POSTGRES_URL
else
  pgdir=$(mktemp -d /tmp/datong-pg.XXXXXX)
  port=$(( 20000 + RANDOM % 20000 ))
  pg_url=$(bash scripts/pg.sh start "$pgdir" "$port")
fi

status=0
echo "== suite on PGlite (embedded)"
npx vitest run --exclude '**/*.pg.test.ts' --exclude '**/node_modules/**' --reporter=default --reporter=json --outputFile="$results/pglite.json" || status=1
echo "== suite on PostgreSQL ($(psql "$pg_url" -Atc 'show server_version' 2>/dev/null || echo server))"
DATONG_TEST_DATABASE_URL=$pg_url DATONG_TEST_POSTGRES_URL=$pg_url \
  npx vitest run --exclude '**/*.pglite.test.ts' --exclude '**/node_modules/**' --reporter=default --reporter=json --outputFile="$results/postgres.json" || status=1

# The total, and every failure again at the very end (CI shows only the tail of the output).
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  const failures = [];
  for (const f of process.argv.slice(1)) {
    const run = f.endsWith("pglite.json") ? "PGlite" : "PostgreSQL";
    if (!fs.existsSync(f)) { failed++; failures.push(`[${run}] the run wrote no report`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
    for (const suite of r.testResults || []) {
      const file = suite.name.replace(process.cwd() + "/", "");
      const bad = (suite.assertionResults || []).filter((a) => a.status === "failed");
      if (suite.status === "failed" && bad.length === 0) {
        failed++;
        failures.push(`[${run}] ${file}: ${(suite.message || "suite failed").split("\n")[0]}`);
      }
      for (const a of bad) {
        const msg = ((a.failureMessages || [])[0] || "").split("\n")[0].slice(0, 300);
        failures.push(`[${run}] ${file} > ${a.fullName}\n      ${msg}`);
      }
    }
  }
  if (failures.length) console.log("\nFailed:\n  " + failures.join("\n  "));
  console.log(`${passed} passed, ${failed} failed`);
' "$results/pglite.json" "$results/postgres.json"
exit $status
