#!/usr/bin/env python3
"""Draws the Jeco Chat logo with the Python standard library only and writes icons/icon-source.png.

The logo: a rounded square with an indigo-to-violet gradient and a white speech bubble holding three
dots. Edges are anti-aliased with signed distances, so one sample per pixel is enough. Regenerate the
platform icons from the source with `npx @tauri-apps/cli@^2 icon icons/icon-source.png -o icons`.
"""
import math
import struct
import sys
import zlib
from pathlib import Path


def rounded_rect_sd(x, y, cx, cy, hw, hh, r):
    """Signed distance from (x, y) to a rounded rectangle (negative inside)."""
    qx = abs(x - cx) - (hw - r)
    qy = abs(y - cy) - (hh - r)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - r


def coverage(sd, px):
    """Signed distance (in pixels) to alpha coverage."""
    v = 0.5 - sd / px
    return 0.0 if v <= 0 else 1.0 if v >= 1 else v


def triangle_sd(x, y, a, b, c):
    """Signed distance to a triangle (negative inside)."""
    def seg(px, py, ax, ay, bx, by):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
        return math.hypot(px - ax - t * dx, py - ay - t * dy)

    d = min(seg(x, y, *a, *b), seg(x, y, *b, *c), seg(x, y, *c, *a))
    def side(p1, p2):
        return (p2[0] - p1[0]) * (y - p1[1]) - (p2[1] - p1[1]) * (x - p1[0])
    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    inside = (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)
    return -d if inside else d


def draw(size):
    px = 1.0 / size  # one pixel in unit coordinates
    top = (0x4F, 0x46, 0xE5)  # indigo-600
    bottom = (0x7C, 0x3A, 0xED)  # violet-600
    rows = []
    for j in range(size):
        row = bytearray()
        y = (j + 0.5) / size
        for i in range(size):
            x = (i + 0.5) / size
            # Background tile.
            a_bg = coverage(rounded_rect_sd(x, y, 0.5, 0.5, 0.46, 0.46, 0.2), px)
            if a_bg == 0:
                row += b"\0\0\0\0"
                continue
            t = (x + y) / 2
            r, g, b = (top[k] + (bottom[k] - top[k]) * t for k in range(3))
            # Speech bubble: body plus tail.
            body = rounded_rect_sd(x, y, 0.5, 0.46, 0.27, 0.19, 0.12)
            tail = triangle_sd(x, y, (0.33, 0.58), (0.29, 0.78), (0.49, 0.62))
            a_bubble = coverage(min(body, tail), px)
            # Three dots inside the bubble, in the gradient colour.
            dots = min(math.hypot(x - cx, y - 0.46) - 0.045 for cx in (0.38, 0.5, 0.62))
            a_dot = coverage(dots, px)
            white = a_bubble * (1 - a_dot)
            r = r * (1 - white) + 255 * white
            g = g * (1 - white) + 255 * white
            b = b * (1 - white) + 255 * white
            row += bytes((int(r + 0.5), int(g + 0.5), int(b + 0.5), int(a_bg * 255 + 0.5)))
        rows.append(bytes(row))
    return rows


def write_png(path, size, rows):
    raw = b"".join(b"\0" + r for r in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    Path(path).write_bytes(png)


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    out = Path(__file__).with_name("icon-source.png")
    write_png(out, size, draw(size))
    print(f"wrote {out} ({size}x{size})")
