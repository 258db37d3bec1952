#!/usr/bin/env bash
# Schema checks: schemathesis (PyPI) generates requests from the OpenAPI document that a real
# jeco-server serves, as a signed-in user, and fails on any 5xx and on any answer whose status,
# content type or body the document does not describe. Bounded: a few examples per operation and a
# time budget, so it takes a couple of minutes at most.
#
# schemathesis lives in a virtualenv in the target directory (like moto, see `./dev setup`). The
# server is the debug `jeco-server` (built here if needed) on a free port with a temporary data
# directory; its log is printed when the run fails.
#
# Usage: scripts/schemathesis.sh [extra schemathesis options, e.g. --seed 1]
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 10), SCHEMATHESIS_MAX_TIME (seconds, default 90).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/schemathesis-venv"
# A known major version: its checks and options are what this script names.
if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "schemathesis: installing schemathesis into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
fi

echo "schemathesis: building jeco-server"
cargo build --locked -p jeco-server --bin jeco-server
bin="$target/debug/jeco-server"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The per-IP and per-user budgets would turn most generated requests into 429s, which tests the
# limiter rather than the schema; the limiter has its own tests.
env -u RUST_LOG "$bin" serve --bind 127.0.0.1:0 --data-dir "$work/data" \
  --auth-rate-per-minute 1000000 --auth-rate-burst 1000000 \
  --message-rate-per-sec 1000000 --message-rate-burst 1000000 \
  >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 100); do
  base="$(sed -n 's/^listening on //p' "$work/stdout")"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "schemathesis: jeco-server printed no address" >&2; exit 1; }

# A signed-in user, and a team, a group and a message, so that generated ids can hit something.
token="$(python3 - "$base" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        return json.load(response)
me = call("POST", "/api/v1/auth/register", {"username": "schema", "password": "schemathesis pw"})
other = call("POST", "/api/v1/auth/register", {"username": "other", "password": "schemathesis pw"})
token = me["access_token"]
call("POST", "/api/v1/teams", {"name": "Schema"}, token)
group = call("POST", "/api/v1/conversations", {"name": "g", "member_ids": [other["user"]["id"]]}, token)
call("POST", f"/api/v1/conversations/{group['id']}/messages", {"client_id": "c1", "text": "hello"}, token)
print(token)
PY
)"

echo "schemathesis: checking $base/api/v1/openapi.json"
status=0
# One worker: with several, hypothesis (on Python 3.11) sometimes fails inside its own `ast` use
# ("AST constructor recursion depth mismatch"), a tool error unrelated to the server.
# Excluded: logout (it would revoke the token the run uses) and the WebSocket upgrade (not HTTP).
# Run from the temporary directory: schemathesis keeps a cache (`.schemathesis/`) where it runs.
scripts="$PWD/scripts"
(cd "$work" && SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$scripts" \
  "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/ws \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-90}" \
  --request-timeout 10 \
  --workers 1 \
  --no-shrink \
  --report-dir "$work/report" \
  "$@") || status=$?
if [ "$status" != 0 ]; then
  echo "schemathesis: failed; the server's log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
