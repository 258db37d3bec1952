#!/usr/bin/env bash
# Builds the jeco-server Debian package (the server alone: no desktop app, no client) with
# dpkg-deb, from the files in packaging/deb/:
#   /usr/bin/jeco-server                       the binary
#   /lib/systemd/system/jeco-server.service    a hardened unit running as the jeco-server user
#   /etc/jeco-server/config.toml               the configuration (a conffile: edits survive upgrades)
#   /usr/share/doc/jeco-server/                README and copyright
# The maintainer scripts create the jeco-server system user and /var/lib/jeco-server (0750).
#
# Usage: scripts/package-deb.sh [--debug] [--out DIR]
#   --debug   package the debug build (what CI's package test installs, to reuse the build it
#             already has); the default is an optimized, stripped release build.
#   --out     where the .deb goes (default: $CARGO_TARGET_DIR or target, under debian/).
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target_dir/debian"
while (($#)); do
  case "$1" in
    --debug) profile=debug ;;
    --out) out="$2"; shift ;;
    *) echo "package-deb: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in dpkg-deb dpkg objdump; do
  command -v "$tool" >/dev/null || { echo "package-deb: $tool is missing (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done

if [ "$profile" = release ]; then
  cargo build --locked --release -p jeco-server --bin jeco-server >&2
else
  cargo build --locked -p jeco-server --bin jeco-server >&2
fi
binary="$target_dir/$profile/jeco-server"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
# The newest glibc symbol version the binary uses is the libc6 it needs.
glibc=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1)

stage=$(mktemp -d)
chmod 0755 "$stage"   # the archive's "./" entry: never a 0700 root directory
trap 'rm -rf "$stage"' EXIT
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/jeco-server" \
  "$stage/usr/share/doc/jeco-server"
install -m 0755 "$binary" "$stage/usr/bin/jeco-server"
[ "$profile" = release ] && strip --strip-unneeded "$stage/usr/bin/jeco-server"
install -m 0644 packaging/deb/jeco-server.service "$stage/lib/systemd/system/jeco-server.service"
install -m 0640 packaging/deb/config.toml "$stage/etc/jeco-server/config.toml"
install -m 0644 server/README.md "$stage/usr/share/doc/jeco-server/README.md"
cat > "$stage/usr/share/doc/jeco-server/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: jeco-server

Files: *
Copyright: The Jeco Chat authors
License: AGPL-3.0-or-later
COPYRIGHT
for script in postinst prerm postrm; do
  install -m 0755 "packaging/deb/$script" "$stage/DEBIAN/$script"
done
echo "/etc/jeco-server/config.toml" > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: jeco-server
Version: $version
Architecture: $arch
Maintainer: Jeco Chat <chat@example.invalid>
Installed-Size: $size
Depends: libc6 (>= $glibc), libgcc-s1, adduser
Section: net
Priority: optional
Homepage: https://example.invalid/jeco-chat
Description: Jeco Chat server (self-hosted team chat)
 One binary serving the HTTP API, the WebSocket gateway and accounts on an
 embedded SQLite database, run by systemd as the jeco-server user with its
 data in /var/lib/jeco-server. Back it up with "jeco-server backup".
CONTROL

mkdir -p "$out"
deb="$out/jeco-server_${version}_${arch}.deb"
# xz for the real package; a quick gzip for the large debug build that only CI installs.
if [ "$profile" = release ]; then compress=(-Zxz); else compress=(-Zgzip -z1); fi
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "$deb" >&2
echo "$deb"
