#!/usr/bin/env python3
"""Writes N photo-like JPEGs (smooth sky-like gradients, shapes, sensor noise; 3.1 MP, a quarter of
them portrait) for the CLIP benchmark, and OUT_DIR/thumbs/ with the same pictures fitted into
1440x1440 (JPEG quality 85, like the server's large thumbnails). Deterministic. Needs numpy and Pillow.

    python3 bench/make-photos.py OUT_DIR [--count 64] [--width 2048] [--height 1536]
"""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photo(i, w, h):
    rng = np.random.default_rng(1000 + i)
    if i % 4 == 3:
        w, h = h, w
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    top, bottom, side = (rng.uniform(0, 255, 3).astype(np.float32) for _ in range(3))
    img = top * (1 - y) + bottom * y
    img = img * (0.8 + 0.2 * x) + side * 0.1 * x
    im = Image.fromarray(np.broadcast_to(img, (h, w, 3)).clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        rw, rh = rng.uniform(0.05, 0.4) * w, rng.uniform(0.05, 0.4) * h
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x0 + rw, y0 + rh], fill=colour)
        else:
            d.rectangle([x0, y0, x0 + rw, y0 + rh], fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(radius=3))
    noise = rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    arr = (np.asarray(im, dtype=np.float32) + noise).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--height", type=int, default=1536)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out_dir, "thumbs"), exist_ok=True)
    for i in range(a.count):
        im = photo(i, a.width, a.height)
        im.save(os.path.join(a.out_dir, f"photo-{i:03d}.jpg"), quality=90)
        im.thumbnail((1440, 1440), Image.LANCZOS)
        im.save(os.path.join(a.out_dir, "thumbs", f"photo-{i:03d}.jpg"), quality=85)
    print(f"{a.count} photos in {a.out_dir}")


if __name__ == "__main__":
    main()
