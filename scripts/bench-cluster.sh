#!/usr/bin/env bash
# Runs a jeco-bench scenario against a cluster on this machine: PostgreSQL with its durable
# defaults (scripts/bench-postgres.sh), one Redis, N release jeco-server instances sharing the
# database, Redis and one data directory. The bench spreads its WebSocket connections round-robin
# over the instances (--also-addr), so each conversation's members are on every instance and each
# delivery crosses Redis for all but one instance's share.
#
#   scripts/bench-cluster.sh [--instances N] SCENARIO [ARGS…]
#   scripts/bench-cluster.sh fanout --conversations 100 --members 50 --secs 10
#   scripts/bench-cluster.sh --instances 3 failover --receivers 200 --rate 100 --kill-after 5
#
# Needs Debian's postgresql and redis-server; builds the release binaries first, unless
# JECO_CLUSTER_SERVER_BIN and JECO_CLUSTER_BENCH_BIN name prebuilt ones. Every instance's pid goes
# to the bench (--server-pid, --also-pid: `failover` kills one). Everything lives in a temporary
# directory and is stopped on exit. Results are what jeco-bench prints.
set -euo pipefail
cd "$(dirname "$0")/.."
instances=2
if [ "${1:-}" = --instances ]; then instances=$2; shift 2; fi
[ $# -gt 0 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

target=${CARGO_TARGET_DIR:-target}
server=${JECO_CLUSTER_SERVER_BIN:-}
bench=${JECO_CLUSTER_BENCH_BIN:-}
if [ -z "$server" ] || [ -z "$bench" ]; then
  cargo build --release --locked -p jeco-server -p jeco-bench >&2
fi
server=${server:-$target/release/jeco-server}
bench=${bench:-$target/release/jeco-bench}

work=$(mktemp -d /tmp/jeco-bench-cluster.XXXXXX)
chmod 755 "$work"   # PostgreSQL runs as its own user when started as root
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/bench-postgres.sh stop "$work/pg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

db_url=$(scripts/bench-postgres.sh start "$work/pg" "$(free_port)")
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

addrs=()
for i in $(seq "$instances"); do
  # The same limits the bench gives a server it spawns itself (bench/src/target.rs): setup and
  # traffic come from one address, and what is measured is capacity, not the abuse limits.
  JECO_DATABASE_URL="$db_url" JECO_REDIS_URL="redis://127.0.0.1:$redis_port" \
    "$server" --data-dir "$work/data" --bind 127.0.0.1:0 \
    --auth-rate-per-minute 1000000 --auth-rate-burst 1000000 \
    --message-rate-per-sec 1000000 --message-rate-burst 1000000 \
    --max-connections 1000000 --max-connections-per-ip 1000000 \
    serve >"$work/instance-$i.out" 2>"$work/instance-$i.log" &
  pids+=($!)
  for _ in $(seq 300); do
    line=$(head -1 "$work/instance-$i.out" 2>/dev/null || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  addr=${line#listening on http://}
  [ -n "$addr" ] && [ "$addr" != "$line" ] || { cat "$work/instance-$i.log" >&2; echo "instance $i did not start" >&2; exit 1; }
  echo "instance $i at $addr (pid ${pids[-1]})" >&2
  addrs+=("$addr")
done

also=()
for i in $(seq 1 $((instances - 1))); do
  also+=(--also-addr "${addrs[$i]}" --also-pid "${pids[$((i + 1))]}")
done
"$bench" --addr "${addrs[0]}" --server-pid "${pids[1]}" "${also[@]}" "$@"
