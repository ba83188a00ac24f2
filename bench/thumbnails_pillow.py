"""Pillow's fastest thumbnail path, the anchor of bench/thumbnails.sh: JPEG draft mode (libjpeg-turbo
decodes at 1/8 scale), EXIF orientation applied, thumbnail() to fit 256x256, saved at quality 82.
Runs REPS passes over the files in PROCS processes; prints `procs count wall_s per_s cpu_ms_per_thumb`.
Usage: thumbnails_pillow.py PROCS REPS OUT_DIR FILE...
"""
import multiprocessing as mp
import os
import resource
import sys
import time

from PIL import Image, ImageOps


def thumb(job):
    i, src, out = job
    with Image.open(src) as img:
        img.draft("RGB", (256, 256))
        img = ImageOps.exif_transpose(img)
        img.thumbnail((256, 256))
        img.save(os.path.join(out, f"p{i}.jpg"), quality=82)
    return i


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    procs, reps, out, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    os.makedirs(out, exist_ok=True)
    jobs = [(i, files[i % len(files)], out) for i in range(len(files) * reps)]
    ctx = mp.get_context("fork")
    cpu0 = cpu_children()
    with ctx.Pool(procs) as pool:
        pool.map(thumb, [(10**6 + k, files[0], out) for k in range(procs)])  # warm-up, not timed
        start = time.perf_counter()
        pool.map(thumb, jobs, chunksize=1)
        wall = time.perf_counter() - start
        pool.close()
        pool.join()
    cpu = cpu_children() - cpu0
    n = len(jobs)
    # CPU includes the warm-up's `procs` thumbnails: count them too.
    print(f"{procs}\t{n}\t{wall:.3f}\t{n / wall:.2f}\t{cpu * 1000 / (n + procs):.1f}")
