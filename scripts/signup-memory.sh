#!/usr/bin/env bash
# Server memory after a burst of sign-ups and sign-ins (issue "Desktop footprint", item 4: the
# built-in server's memory after 50 sign-ups). Starts a jeco-server on a fresh data directory,
# registers N users 4 at a time over the real API, signs each in once, and prints the server's
# resident (RSS) and proportional (PSS) memory before, after the sign-ups and after the sign-ins.
#
#   scripts/signup-memory.sh [SERVER_BINARY] [N]     (defaults: target/release/jeco-server, 50)
#
# A measurement, not a test: run it on the release build and record the figures in BENCHMARKS.md.
set -euo pipefail
server=${1:-target/release/jeco-server}
n=${2:-50}
dir=$(mktemp -d)
log=$dir/server.log
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$server" --data-dir "$dir/data" --bind 127.0.0.1:0 --auth-rate-per-minute 1000000 \
  --auth-rate-burst 1000000 serve >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
url=$(grep -o "listening on http://[0-9.:]*" "$log" | head -1 | sed 's/listening on //')
[ -n "$url" ] || { cat "$log"; echo "server did not start" >&2; exit 1; }
mem() {
  local rss pss
  rss=$(awk '/^VmRSS/ {print int($2/1024)}' "/proc/$pid/status")
  pss=$(awk '/^Pss:/ {print int($2/1024)}' "/proc/$pid/smaps_rollup")
  printf '%-22s RSS %5s MiB   PSS %5s MiB   threads %s\n' "$1" "$rss" "$pss" \
    "$(awk '/^Threads/ {print $2}' "/proc/$pid/status")"
}
post() { curl -sf -o /dev/null -H 'content-type: application/json' -d "$2" "$url/api/v1/auth/$1"; }
export -f post; export url
mem "started"
seq "$n" | xargs -P4 -I{} bash -c 'post register "{\"username\":\"user{}\",\"password\":\"password number {}\"}"'
mem "after $n sign-ups"
seq "$n" | xargs -P4 -I{} bash -c 'post login "{\"username\":\"user{}\",\"password\":\"password number {}\"}"'
mem "after $n sign-ins"
sleep 2
mem "2 s later"
