#!/usr/bin/env bash
# Desktop end-to-end test: builds the UI and the desktop app, then drives the built app under Xvfb
# through tauri-driver + WebKitWebDriver against a real jeco-server (tests/tests/desktop).
#
# The app keeps its tokens in the OS keychain, so the test runs inside a fresh D-Bus session with a
# throwaway, unlocked GNOME Keyring (its files in a temporary directory, never the user's keyring).
#
# Needs (Debian/Ubuntu): libwebkit2gtk-4.1-dev build-essential libssl-dev libayatana-appindicator3-dev
# librsvg2-dev libxdo-dev pkg-config xvfb xauth x11-utils xclip webkit2gtk-driver dbus dbus-x11 gnome-keyring,
# libasound2-dev libopus-dev python3, Node 20+ with npm, and tauri-driver (installed here when missing).
#
# Usage: scripts/e2e-desktop.sh [extra args for the test binary, e.g. --nocapture]
# Screenshots: target/screenshots/*.png; driver log: target/e2e-tauri-driver.log.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in cargo npm xvfb-run xwininfo xclip dbus-run-session gnome-keyring-daemon WebKitWebDriver python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "e2e-desktop: missing tools: ${missing[*]}" >&2
  echo "  apt-get install -y --no-install-recommends xvfb xauth x11-utils xclip dbus dbus-x11 gnome-keyring webkit2gtk-driver nodejs npm" >&2
  exit 1
fi

if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "e2e-desktop: installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "e2e-desktop: building the UI"
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: npm 11 writes lockfiles without other platforms' optional packages
  # (@rollup/rollup-*, @tauri-apps/cli-*), which `npm ci` then rejects as out of sync.
  npm --prefix ui install --no-audit --no-fund
fi
bash scripts/ui-build.sh   # only when the UI changed: a rebuilt ui/dist recompiles the app

echo "e2e-desktop: building the desktop app and the test"
cargo build -p jeco-desktop -p jeco-cli -p jeco-server --bins
cargo test -p jeco-e2e --test desktop --no-run

keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
export JECO_E2E_KEYRING_HOME="$keyring_home"

# Sound without a sound card, for voice notes: the app runs with this throwaway home as HOME
# (tests/src/desktop.rs passes JECO_E2E_HOME on), whose .asoundrc makes ALSA's default capture
# device the `file` plugin reading a tone made here (4 s of 48 kHz stereo S16_LE, a 440 Hz tone
# switched on and off so a recording's waveform has a shape), and its playback the null device.
# The keychain does not depend on HOME (the app reaches it over D-Bus), so it keeps working.
python3 - "$keyring_home/voice-in.raw" <<'PY'
import math, struct, sys
rate = 48000
frames = bytearray()
for i in range(4 * rate):
    t = i / rate
    v = int(12000 * math.sin(2 * math.pi * 440 * t)) if int(t * 4) % 2 == 0 else 0
    frames += struct.pack("<hh", v, v)
open(sys.argv[1], "wb").write(frames)
PY
cat > "$keyring_home/.asoundrc" <<EOF
pcm.!default { type asym; playback.pcm "nullout"; capture.pcm "capfile" }
pcm.nullout { type null }
pcm.capraw { type file; slave.pcm "null"; file "/dev/null"; infile "$keyring_home/voice-in.raw"; format "raw" }
pcm.capfile { type plug; slave { pcm "capraw"; format S16_LE; rate 48000; channels 2 } }
ctl.!default { type hw card 0 }
EOF
export JECO_E2E_HOME="$keyring_home"
export JECO_E2E_TEST_ARGS="$*"

# Run the session in its own PID namespace when the machine allows it (root or user namespaces):
# every daemon started for the test (D-Bus, keyring, accessibility bus, Xvfb, drivers, the app)
# ends with it, and nothing inside can signal processes outside.
isolate=()
if unshare --pid --fork --mount-proc --kill-child true >/dev/null 2>&1; then
  isolate=(unshare --pid --fork --mount-proc --kill-child)
fi

echo "e2e-desktop: running under ${isolate[*]:+${isolate[*]} + }dbus-run-session + gnome-keyring + xvfb-run"
"${isolate[@]}" dbus-run-session -- bash -euo pipefail -c '
  # An unlocked "login" keyring in a throwaway home: the Secret Service the app and the test use.
  eval "$(printf "jeco-e2e" | HOME="$JECO_E2E_KEYRING_HOME" XDG_DATA_HOME="$JECO_E2E_KEYRING_HOME/share" \
    gnome-keyring-daemon --unlock --components=secrets)"
  # The daemon exits with this D-Bus session.
  xvfb-run -a -s "-screen 0 1600x1200x24" \
    cargo test -p jeco-e2e --test desktop -- --test-threads=1 $JECO_E2E_TEST_ARGS
'
