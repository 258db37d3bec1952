#!/usr/bin/env bash
# CI check of the server package: builds it (scripts/package-deb.sh --debug), installs it with dpkg
# on this machine, checks what the maintainer scripts made (user, directories, permissions), checks
# the unit with systemd-analyze, and starts the INSTALLED binary with the INSTALLED configuration as
# the jeco-server user, under the unit's no-new-privileges rule; then removes and purges it.
#
# What this does not exercise, and says so: systemd starting the unit. On CI machines systemd is
# not PID 1 (containers), so the unit's sandbox (ProtectSystem, PrivateTmp, MemoryMax, the system
# call filter) is verified as a file but not applied to a running server.
#
# Needs root (dpkg -i). Leaves nothing behind: the package, its user and /var/lib/jeco-server are
# removed at the end, even on failure. Refuses to run where jeco-server is installed for real.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'test-deb: %s\n' "$*"; }
fail() { printf 'test-deb: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
marker=/var/lib/jeco-server/.installed-by-jeco-ci
if dpkg-query -W -f='${Status}' jeco-server 2>/dev/null | grep -q installed && [ ! -e "$marker" ]; then
  fail "jeco-server is installed on this machine and not by this test: not touching it"
fi

cleanup() {
  set +e
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  dpkg --purge jeco-server >/dev/null 2>&1
  rm -rf /var/lib/jeco-server
  getent passwd jeco-server >/dev/null && deluser --quiet --system jeco-server >/dev/null 2>&1
  getent group jeco-server >/dev/null && delgroup --quiet --system jeco-server >/dev/null 2>&1
  rm -rf "${work:-/nonexistent}"
}
trap cleanup EXIT
cleanup   # a run interrupted earlier
unset server_pid

deb=$(bash scripts/package-deb.sh --debug | tail -n1)
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'
dpkg-deb --contents "$deb" | awk '{print "  " $1, $2, $6}'

dpkg -i "$deb" >/dev/null
touch "$marker"
say "installed; checking what the maintainer scripts made"
getent passwd jeco-server | grep -q ':/var/lib/jeco-server:/usr/sbin/nologin$' \
  || fail "system user: $(getent passwd jeco-server)"
[ "$(stat -c '%U:%G %a' /var/lib/jeco-server)" = "jeco-server:jeco-server 750" ] \
  || fail "/var/lib/jeco-server is $(stat -c '%U:%G %a' /var/lib/jeco-server)"
[ "$(stat -c '%U:%G %a' /etc/jeco-server/config.toml)" = "root:jeco-server 640" ] \
  || fail "config.toml is $(stat -c '%U:%G %a' /etc/jeco-server/config.toml)"
[ "$(stat -c '%U %a' /usr/bin/jeco-server)" = "root 755" ] || fail "/usr/bin/jeco-server mode"
dpkg-query -W -f='${Conffiles}\n' jeco-server | grep -q /etc/jeco-server/config.toml \
  || fail "config.toml is not a conffile"
/usr/bin/jeco-server --version

if command -v systemd-analyze >/dev/null; then
  say "systemd-analyze verify of the installed unit"
  out=$(systemd-analyze verify /lib/systemd/system/jeco-server.service 2>&1) || fail "systemd-analyze: $out"
  [ -z "$out" ] || printf '  %s\n' "$out"
  score=$(systemd-analyze security --offline=true /lib/systemd/system/jeco-server.service 2>/dev/null | tail -n1 || true)
  [ -n "$score" ] && say "systemd-analyze security: $score"
else
  say "systemd-analyze is missing: the unit file was not verified"
fi
if [ -d /run/systemd/system ]; then
  say "systemd runs here, but this test does not start the unit (it would bind the configured port)"
else
  say "systemd is not running on this machine: the unit is verified as a file, not started by systemd"
fi

# The installed binary, the installed configuration, the service user, no new privileges. Only the
# port is chosen here (JECO_BIND: the configured 7878 may be taken on a CI machine).
work=$(mktemp -d)
say "starting /usr/bin/jeco-server as jeco-server with /etc/jeco-server/config.toml"
JECO_BIND=127.0.0.1:0 setpriv --reuid=jeco-server --regid=jeco-server --init-groups --no-new-privs \
  /usr/bin/jeco-server --config /etc/jeco-server/config.toml serve >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/err" >&2; fail "the server exited"; }
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/out")
[ -n "$url" ] || { cat "$work/err" >&2; fail "the server did not start"; }
say "listening on $url"
curl -fsS "$url/api/v1/health" >"$work/health" || fail "health check"
say "health: $(cat "$work/health")"
code=$(curl -sS -o "$work/reg" -w '%{http_code}' -H 'content-type: application/json' \
  -d '{"username":"packaged","password":"a long enough password"}' "$url/api/v1/auth/register")
[ "$code" = 201 ] || fail "register answered $code: $(cat "$work/reg")"
[ "$(stat -c '%U' /var/lib/jeco-server/jeco.db)" = jeco-server ] || fail "jeco.db not owned by jeco-server"
[ "$(stat -c '%a' /var/lib/jeco-server/secret.key)" = 600 ] || fail "secret.key mode $(stat -c '%a' /var/lib/jeco-server/secret.key)"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server did not stop cleanly on SIGTERM: $(tail -n3 "$work/err")"
unset server_pid
say "an account was created and stored in /var/lib/jeco-server by the service user; SIGTERM stopped it cleanly"

dpkg --remove jeco-server >/dev/null
[ -e /var/lib/jeco-server/jeco.db ] || fail "removing the package deleted the data"
[ ! -e /usr/bin/jeco-server ] || fail "the binary survived removal"
dpkg --purge jeco-server >/dev/null
[ ! -e /etc/jeco-server ] || fail "purging left /etc/jeco-server"
say "remove keeps the data, purge removes the configuration: passed"
