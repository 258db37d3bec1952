#!/usr/bin/env bash
# CI check of the container image: builds the Dockerfile's runtime stage with buildah from a rootfs
# made here (scripts/container-rootfs.sh over the debug binary CI already built), runs it with podman
# as the image says (user 10001, /data mounted from the host), waits for its HEALTHCHECK to pass, creates an
# account, stops it with SIGTERM, starts a new container on the same /data and signs in again.
#
# Not exercised here, and said so: the Dockerfile's build stage (it needs the rust image from a
# registry CI cannot reach) and compose.yaml (no Docker engine or compose here).
#
# Storage lives in a temporary directory (vfs driver), so nothing is left in the machine's
# container storage. Needs root, buildah, podman and runc (./dev test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'test-container: %s\n' "$*"; }
fail() { printf 'test-container: FAILED: %s\n' "$*" >&2; exit 1; }

for tool in buildah podman runc curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install buildah podman runc)"
done
binary="${CARGO_TARGET_DIR:-$PWD/target}/debug/jeco-server"
[ -x "$binary" ] || cargo build --locked -p jeco-server --bin jeco-server

work=$(mktemp -d /var/tmp/jeco-container.XXXXXX)
store=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
# runc with plain cgroupfs: works both on hybrid cgroup machines (like CI's) and on cgroup v2 ones.
pod=(podman "${store[@]}" --runtime runc --cgroup-manager cgroupfs --events-backend none)
cleanup() {
  set +e
  "${pod[@]}" rm -f -t 2 jeco-ci >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

scripts/container-rootfs.sh "$binary" "$work/rootfs"
# The runtime stage exactly as the Dockerfile has it, with the rootfs from here instead of the
# build stage.
sed -n '/^FROM scratch AS runtime/,$p' Dockerfile | sed 's|^COPY --from=build /rootfs/ /$|COPY rootfs/ /|' \
  > "$work/Containerfile"
grep -q '^COPY rootfs/ /$' "$work/Containerfile" || fail "the Dockerfile's runtime stage changed shape"
say "building the runtime stage with buildah"
buildah "${store[@]}" bud --quiet --format docker -t localhost/jeco-server:ci -f "$work/Containerfile" "$work" >/dev/null
say "image: $(buildah "${store[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' localhost/jeco-server:ci)"

install -d -o 10001 -g 10001 -m 0700 "$work/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
run() {
  # Host networking and modest limits: this machine allows neither new network namespaces nor
  # raising rlimits; JECO_BIND only picks a free port (the image listens on 0.0.0.0:7878).
  # /data is a directory of this machine owned by the image's user, as a self-hoster would mount
  # one (a new Docker named volume takes that owner from the image's /data by itself; this
  # podman, in this sandbox, leaves it to root). The health check runs on demand below: there is
  # no systemd here for podman's health timers.
  "${pod[@]}" run -d --name jeco-ci --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
    -e JECO_MAX_CONNECTIONS=1024 -e JECO_BIND="127.0.0.1:$port" -v "$work/data:/data" \
    localhost/jeco-server:ci >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman run"; }
}
healthy() {
  for _ in $(seq 1 100); do
    if "${pod[@]}" healthcheck run jeco-ci >/dev/null 2>&1; then return 0; fi
    [ "$("${pod[@]}" inspect -f '{{.State.Running}}' jeco-ci)" = true ] \
      || { "${pod[@]}" logs jeco-ci >&2; fail "the container exited"; }
    sleep 0.2
  done
  "${pod[@]}" logs jeco-ci >&2
  fail "the image's HEALTHCHECK never passed"
}
stop() {
  # (podman says on stderr that it cannot remove systemd health timers that never existed.)
  "${pod[@]}" stop -t 15 jeco-ci >/dev/null 2>>"$work/podman.err"
  [ "$("${pod[@]}" inspect -f '{{.State.ExitCode}}' jeco-ci)" = 0 ] \
    || fail "the server did not stop cleanly: $("${pod[@]}" logs jeco-ci 2>&1 | tail -n3)"
  "${pod[@]}" rm jeco-ci >/dev/null 2>>"$work/podman.err"
}

run
healthy
say "HEALTHCHECK passed (jeco-server healthcheck inside the image)"
[ "$("${pod[@]}" inspect -f '{{.Config.User}}' jeco-ci)" = 10001:10001 ] || fail "image user"
pid=$("${pod[@]}" inspect -f '{{.State.Pid}}' jeco-ci)
[ "$(stat -c %u "/proc/$pid")" = 10001 ] || fail "the server runs as uid $(stat -c %u "/proc/$pid")"
say "the server runs as uid 10001, not root"
body='{"username":"boxed","password":"a long enough password"}'
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d "$body" "$url/api/v1/auth/register")
[ "$code" = 201 ] || fail "register answered $code"
stop
say "stopped with SIGTERM (exit 0); a new container on the same /data:"
run
healthy
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d "$body" "$url/api/v1/auth/login")
[ "$code" = 200 ] || fail "signing in after the restart answered $code: /data did not keep the account"
stop
say "the account outlived the container in /data: passed"
say "not exercised here: the Dockerfile's build stage (needs a registry) and compose.yaml (needs a Docker engine)"
