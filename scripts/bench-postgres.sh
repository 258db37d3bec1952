#!/usr/bin/env bash
# A PostgreSQL cluster for benchmarks, with PostgreSQL's durable defaults (fsync on,
# synchronous_commit on, full_page_writes on) — unlike the tests' throwaway cluster, which turns
# syncing off. Debian's `postgresql` package; runs as the `postgres` user when started as root.
#
#   scripts/bench-postgres.sh start DIR [PORT]   # prints the database URL on stdout
#   scripts/bench-postgres.sh stop DIR
#
# Then e.g.: jeco-bench --server-arg=--database-url=URL durable --senders 256 --secs 10
set -euo pipefail
cmd=${1:-}; dir=${2:-}; port=${3:-55432}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
bindir=${JECO_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bindir/initdb" -D "$dir/data" -U jeco -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=1GB" start >/dev/null
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U jeco jeco 2>/dev/null || true
    echo "postgres://jeco@127.0.0.1:$port/jeco"
    ;;
  stop)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    ;;
  *) echo "start or stop" >&2; exit 2 ;;
esac
