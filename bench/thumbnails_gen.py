"""Writes N photo-like 12-megapixel JPEGs (4000x3000, quality 90) for bench/thumbnails.sh.

Content: smooth colour gradients, 40-90 filled shapes, a blur (lens), band-limited texture and
per-pixel sensor noise, so the files are ~3.5 MB like a phone's. One in four has EXIF orientation 6,
one in four orientation 8. Deterministic (seeded): the same N gives the same files.
Usage: thumbnails_gen.py OUT_DIR N
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

out, n = sys.argv[1], int(sys.argv[2])
W, H = 4000, 3000
os.makedirs(out, exist_ok=True)
for i in range(n):
    path = os.path.join(out, f"photo{i:02}.jpg")
    if os.path.exists(path):
        continue
    rng = np.random.default_rng(1000 + i)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.empty((H, W, 3), np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-1, 1, 3)
        base[..., c] = 128 + 60 * np.sin(x / W * np.pi * (1 + 2 * abs(a)) + b * 3) * np.cos(y / H * np.pi * (1 + 2 * abs(d)))
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(40, 90))):
        x0, y0 = int(rng.integers(0, W)), int(rng.integers(0, H))
        w, h = int(rng.integers(40, 1200)), int(rng.integers(40, 900))
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=col)
        elif kind == 1:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=col)
        else:
            draw.polygon([(x0 + int(rng.integers(-600, 600)), y0 + int(rng.integers(-600, 600))) for _ in range(5)], fill=col)
    img = img.filter(ImageFilter.GaussianBlur(2.0))
    arr = np.asarray(img).astype(np.float32)
    tex = rng.normal(0, 1, (H // 4, W // 4)).astype(np.float32)
    tex = np.asarray(Image.fromarray(((tex * 40) + 128).clip(0, 255).astype(np.uint8)).resize((W, H), Image.BICUBIC)).astype(np.float32) - 128
    arr += tex[..., None] * 0.6
    arr += rng.normal(0, 5, (H, W, 3)).astype(np.float32)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "Model 12"
    exif[0x0132] = "2024:02:29 12:30:15"
    if i % 4 == 1:
        exif[0x0112] = 6
    elif i % 4 == 3:
        exif[0x0112] = 8
    img.save(path + ".part", format="JPEG", quality=90, exif=exif)
    os.replace(path + ".part", path)
    print(f"  {path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
