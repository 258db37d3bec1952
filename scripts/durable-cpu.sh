#!/usr/bin/env bash
# Where a durable send's CPU goes: runs `jeco-bench durable` against a jeco-server it starts itself
# and reads, over the middle of the run, the CPU time of each of the server's thread kinds (the
# SQLite send writer, its checkpointer, the tokio workers), of the bench's processes, and the bytes
# the server wrote to disk, each divided by the messages committed in that time (the server's
# `jeco_commit_batch_size` sum). CPU per message depends far less on what else the machine runs
# than acks/s does, so two builds can be compared on a shared machine (BENCHMARKS.md). It also
# prints, per batch, the send writer thread's time on a CPU and runnable but waiting for one
# (its schedstat), with its nice value.
#
#   scripts/durable-cpu.sh DIR [SECS]   # DIR holds release jeco-server and jeco-bench; SECS: 10
#
# Optional: WAL_TRACE=FILE records the send writer's pwrite64/fsync calls for 2 s with strace (a
# WAL frame's header carries its page number; BENCHMARKS.md shows how pages were attributed to
# tables and indexes), KEEP=1 keeps the data directory.
set -euo pipefail
dir=${1:?usage: durable-cpu.sh DIR [SECS]}
secs=${2:-10}
[ "$secs" -ge 6 ] || { echo "durable-cpu: SECS must be at least 6" >&2; exit 2; }
data=$(mktemp -d /var/tmp/durable-cpu.XXXX)
port=$((20000 + RANDOM % 20000))
metrics=$((port + 1))
"$dir/jeco-server" --data-dir "$data/data" --bind "127.0.0.1:$port" --metrics-addr "127.0.0.1:$metrics" \
  --auth-rate-per-minute 1000000 --auth-rate-burst 1000000 --message-rate-per-sec 1000000 \
  --message-rate-burst 1000000 --max-connections 1000000 --max-connections-per-ip 1000000 serve \
  >"$data/server.out" 2>"$data/server.log" &
server=$!
bench=
cleanup() {
  [ -n "$bench" ] && kill "$bench" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "durable-cpu: kept $data"; else rm -rf "$data"; fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "127.0.0.1:$metrics/metrics" >/dev/null && break; sleep 0.1; done

committed() { curl -s "127.0.0.1:$metrics/metrics" | awk '/^jeco_commit_batch_size_sum/ {printf "%d", $2}'; }
batches() { curl -s "127.0.0.1:$metrics/metrics" | awk '/^jeco_commit_batch_size_count/ {printf "%d", $2}'; }
# The send writer thread's schedstat: "ns on a CPU, ns runnable but waiting for one, timeslices".
writer_tid() { grep -l '^jeco-sqlite-wri' /proc/"$server"/task/*/comm | head -1 | cut -d/ -f5; }
writer_sched() { cat "/proc/$server/task/$(writer_tid)/schedstat"; }
# Clock ticks (utime + stime) per thread name: "name ticks" lines.
server_threads() {
  for t in /proc/"$server"/task/*; do
    echo "$(cat "$t/comm" | tr ' ' '_') $(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
bench_ticks() {
  local sum=0 p
  for p in "$bench" $(pgrep -P "$bench" || true); do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
written() { awk '/^write_bytes/ {print $2}' "/proc/$server/io"; }

"$dir/jeco-bench" --addr "127.0.0.1:$port" --server-pid "$server" durable --senders 256 --window 16 \
  --secs "$secs" --no-verify >"$data/bench.out" 2>&1 &
bench=$!
# Registration (argon2) comes first: start reading once messages flow, one second in.
for _ in $(seq 1 600); do [ "$(committed)" -gt 1000 ] 2>/dev/null && break; sleep 0.1; done
sleep 1
m0=$(committed); t0=$(server_threads); b0=$(bench_ticks); w0=$(written); q0=$(batches); s0=$(writer_sched)
window=$((secs - 3))
if [ -n "${WAL_TRACE:-}" ]; then
  writer=$(writer_tid)
  timeout 2 strace -e trace=pwrite64,fsync -o "$WAL_TRACE" -p "$writer" >/dev/null 2>&1 || true
  sleep $((window - 2))
else
  sleep "$window"
fi
m1=$(committed); t1=$(server_threads); b1=$(bench_ticks); w1=$(written); q1=$(batches); s1=$(writer_sched)
wait "$bench" || true
bench=
n=$((m1 - m0))
hz=$(getconf CLK_TCK)
echo "durable-cpu: $n messages committed in ${window} s ($((n / window))/s); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  disk written per message: $(awk -v b=$((w1 - w0)) -v n=$n 'BEGIN {printf "%.2f KiB", b / 1024 / n}')"
join <(echo "$t0") <(echo "$t1") | awk -v n=$n -v hz="$hz" '
  { us = ($3 - $2) * 1e6 / hz / n; total += us; if (us >= 0.01) printf "  %-18s %6.2f µs/message\n", $1, us }
  END { printf "  %-18s %6.2f µs/message\n", "server, all", total }'
awk -v d=$((b1 - b0)) -v n=$n -v hz="$hz" 'BEGIN {printf "  %-18s %6.2f µs/message\n", "jeco-bench, all", d * 1e6 / hz / n}'
echo "$s0 $s1" | awk -v q=$((q1 - q0)) -v nice="$(awk '{print $19}' "/proc/$server/task/$(writer_tid)/stat")" '
  {printf "  writer per batch   %.2f ms on a CPU, %.2f ms waiting for one (%d batches, nice %s)\n",
   ($4 - $1) / 1e6 / q, ($5 - $2) / 1e6 / q, q, nice}'
grep -E "acknowledged/s" "$data/bench.out" | head -1
