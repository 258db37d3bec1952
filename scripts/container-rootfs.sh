#!/usr/bin/env bash
# Assembles the root file system of the jeco-server container image into DIR: the binary, exactly
# the shared libraries it links (from ldd), CA certificates (SMTP over TLS, S3), a passwd/group with
# the unprivileged `jeco` user (uid/gid 10001), and /data (the volume) owned by it. Nothing else: no
# shell, no package manager. Used by the Dockerfile's build stage and by scripts/test-container.sh.
#
# Usage: scripts/container-rootfs.sh BINARY DIR
set -euo pipefail
binary="$1"
root="$2"
[ -x "$binary" ] || { echo "container-rootfs: $binary is not an executable" >&2; exit 1; }
rm -rf "$root"
install -d "$root/usr/bin" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
install -m 0755 "$binary" "$root/usr/bin/jeco-server"
# The dynamic loader and every library, at the paths the binary asks for.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
  install -D -m 0644 "$(readlink -f "$lib")" "$root$lib"
done
chmod 0755 "$root"/lib64/ld-linux-* "$root"/lib/ld-linux-* 2>/dev/null || true
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\njeco:x:10001:10001:Jeco Chat server:/data:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\njeco:x:10001:\n' > "$root/etc/group"
install -d -o 10001 -g 10001 -m 0700 "$root/data"
