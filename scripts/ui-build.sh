#!/usr/bin/env bash
# Builds the UI into ui/dist only when its inputs changed since the last build. The desktop crate
# embeds ui/dist and recompiles whenever it changes, so an unneeded rebuild costs a Rust build.
# "Changed" is decided on the inputs' contents (a hash kept in ui/dist/.inputs.sha256), taken
# before the build starts: a file edited while a build runs makes the next call build again.
set -euo pipefail
cd "$(dirname "$0")/../ui"
inputs_hash() {
  find src index.html package.json package-lock.json vite.config.ts tsconfig.json -type f -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
want=$(inputs_hash)
if [ -f dist/index.html ] && [ "$(cat dist/.inputs.sha256 2>/dev/null)" = "$want" ]; then
  echo "ui-build: ui/dist is up to date" >&2
  exit 0
fi
echo "ui-build: building ui/dist" >&2
npm run build --silent
echo "$want" > dist/.inputs.sha256
