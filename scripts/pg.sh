#!/usr/bin/env bash
# Throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks (see shared FACTS: no
# systemd here, and initdb refuses root, so the cluster runs as the postgres user).
#   scripts/pg.sh ensure         install Debian's postgresql when missing
#   scripts/pg.sh start <dir>    create and start a cluster in <dir>; prints DATABASE_URL
#   scripts/pg.sh stop <dir>     stop it and remove <dir>
set -euo pipefail
cmd=${1:-}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

case "$cmd" in
  ensure)
    if [ -z "$(pgbin)" ] || [ ! -x "$(pgbin)/initdb" ]; then
      echo "Installing PostgreSQL from Debian's packages…" >&2
      if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is missing and this is not root: apt-get install postgresql" >&2; exit 1; fi
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    ;;
  start)
    dir=${2:?data dir}
    port=${3:-55432}
    bin=$(pgbin)
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres:postgres "$dir"
      as=(runuser -u postgres --)
    else
      as=()
    fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    # Tuned for a throwaway test cluster: durability settings stay on (tests check crash safety).
    # DATONG_PG_OPTS adds server options (bench/diagnose.mjs: pg_stat_statements).
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=256MB ${DATONG_PG_OPTS:-}" start >&2
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?data dir}
    bin=$(pgbin)
    if [ -d "$dir/data" ]; then
      if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
      else "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true; fi
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 ensure | start <dir> [port] | stop <dir>" >&2
    exit 2
    ;;
esac
