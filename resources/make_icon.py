#!/usr/bin/python3
"""Draws the application icon (resources/icons/latent-explorer-N.png): a latent map, clusters of
encoded points, and a path dragged through it to a cross-hair. Needs Debian's python3-numpy.

usage: resources/make_icon.py   (writes the PNGs beside this script, in icons/)
"""
import os
import struct
import zlib

import numpy as np

SUPER = 4  # supersampling for anti-aliased edges


def png(path, rgba):
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def draw(size):
    n = size * SUPER
    y, x = np.mgrid[0:n, 0:n] / n  # unit square, y down
    img = np.zeros((n, n, 4))
    # A rounded square, deep blue to violet.
    r = 0.18
    cx, cy = np.clip(x, r, 1 - r), np.clip(y, r, 1 - r)
    inside = (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2
    inside &= (x > 0.02) & (x < 0.98) & (y > 0.02) & (y < 0.98)
    top, bottom = np.array([0.10, 0.16, 0.36]), np.array([0.30, 0.12, 0.42])
    t = y[..., None]
    img[..., :3] = top * (1 - t) + bottom * t
    img[..., 3] = inside
    # Faint grid lines of the map.
    grid = (np.abs((x * 6) % 1 - 0.5) > 0.47) | (np.abs((y * 6) % 1 - 0.5) > 0.47)
    img[..., :3] = np.where((grid & inside)[..., None], img[..., :3] * 0.7 + 0.3 * 0.5, img[..., :3])
    # Clusters of points, one colour each (seeded, so the icon never changes).
    rng = np.random.default_rng(7)
    clusters = [((0.30, 0.33), (0.98, 0.62, 0.20)), ((0.70, 0.30), (0.35, 0.80, 0.55)),
                ((0.35, 0.72), (0.40, 0.65, 1.00)), ((0.72, 0.70), (0.95, 0.40, 0.55))]
    for (mx, my), colour in clusters:
        for px, py in rng.normal((mx, my), 0.07, (14, 2)):
            d = (x - px) ** 2 + (y - py) ** 2
            dot = (d < 0.022 ** 2) & inside
            img[dot, :3] = colour
    # The dragged path: a curve from one cluster to another, white.
    s = np.linspace(0, 1, 400)
    path = np.stack([0.30 + 0.42 * s + 0.10 * np.sin(np.pi * s), 0.33 + 0.37 * s - 0.18 * np.sin(np.pi * s)], 1)
    for px, py in path:
        d = (x - px) ** 2 + (y - py) ** 2
        img[(d < 0.018 ** 2) & inside, :3] = (1, 1, 1)
    # The cross-hair at the end.
    ex, ey = path[-1]
    ring = np.abs(np.sqrt((x - ex) ** 2 + (y - ey) ** 2) - 0.075) < 0.016
    arms = ((np.abs(x - ex) < 0.012) & (np.abs(y - ey) < 0.13) & (np.abs(y - ey) > 0.04)) | \
           ((np.abs(y - ey) < 0.012) & (np.abs(x - ex) < 0.13) & (np.abs(x - ex) > 0.04))
    img[(ring | arms) & inside, :3] = (1, 1, 1)
    # Downsample (box filter): anti-aliased edges.
    img = img.reshape(size, SUPER, size, SUPER, 4).mean((1, 3))
    img[..., :3] /= np.maximum(img[..., 3:], 1e-6)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "icons"), exist_ok=True)
    for size in (16, 32, 48, 64, 128, 256):
        png(os.path.join(here, "icons", f"latent-explorer-{size}.png"), draw(size))


if __name__ == "__main__":
    main()
