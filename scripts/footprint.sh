#!/usr/bin/env bash
# The desktop app's memory (PSS of the whole process tree, WebKit processes included) after start
# and through a stretch of steady traffic, and its startup to a cached timeline — measured on the
# built app under Xvfb against a real server (tests/src/bin/footprint.rs).
#
# Usage: scripts/footprint.sh [--minutes 60] [--rate 2] [--sample-secs 30] [--conversations 20]
#                             [--history 30] [--switch-secs 20] [--launches 10] [--breakdown]
#                             [--leak-check MIB] [--heap-snapshots]
# `--leak-check MIB` fails when the app grew by more than MIB from minute 2 to the last minute:
# `./dev test` runs `scripts/footprint.sh --leak-check ...` for 5 minutes (see `dev`).
# `--heap-snapshots` compares JavaScriptCore heap snapshots (after a full GC) taken after start and
# after the traffic, through WebKit's inspector: the app is then launched without the WebDriver and
# no startup is measured (`heapdiff A.json B.json` compares two saved snapshots again).
# The app measured is the debug build unless JECO_DESKTOP_BIN names another (a release build from
# `./dev package` for the figures in BENCHMARKS.md).
# Needs what scripts/e2e-desktop.sh needs (`./dev setup` installs it). Figures: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/ui-build.sh   # only when the UI changed (a rebuilt ui/dist recompiles the app)
cargo build -p jeco-desktop -p jeco-server --bins
cargo build -p jeco-e2e --bin footprint
target="${CARGO_TARGET_DIR:-target}"

keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
export JECO_E2E_KEYRING_HOME="$keyring_home"
dbus-run-session -- bash -euo pipefail -c '
  eval "$(printf "jeco-footprint" | HOME="$JECO_E2E_KEYRING_HOME" XDG_DATA_HOME="$JECO_E2E_KEYRING_HOME/share" \
    gnome-keyring-daemon --unlock --components=secrets)"
  xvfb-run -a -s "-screen 0 1280x1024x24" "$0" "$@"
' "$target/debug/footprint" "$@"
