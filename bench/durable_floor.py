#!/usr/bin/env python3
"""What the durable steps of an upload cost on this disk, with nothing else around them.

DESIGN.md section 3 asks every upload to write its body to a temp file, fsync it, rename it
into place, fsync the folder and commit one SQLite transaction (WAL, synchronous=FULL) before
the answer. This script does exactly that for a set of small files from N threads (4, as the
WebDAV benchmark's clients), with no HTTP, no quota, no job queue and no other bookkeeping, so
its figure is a ceiling for any server that answers only once a small file is durable:

  fsync      write + fsync of each body, nothing else (the floor of any durable store)
  single     the design's steps, each file its own folder fsync and commit
  group      the same, with group commit: whoever finds no commit running commits every file
             queued so far (one folder fsync, one transaction), as CloudVault does

usage: durable_floor.py SRC_DIR WORK_DIR [--threads N] [--modes fsync,single,group]
Prints one line per mode: "<mode> <files/s>". WORK_DIR must be on the filesystem to measure;
the script writes a fresh folder under it per mode and does not delete it (on ext4 without a
journal a mass delete slows file creation for minutes; the caller cleans up when it suits).
"""

import argparse
import glob
import os
import sqlite3
import threading
import time
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("work")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--modes", default="fsync,single,group")
    a = ap.parse_args()
    files = sorted(p for p in glob.glob(os.path.join(a.src, "*")) if os.path.isfile(p))
    if not files:
        raise SystemExit(f"no files in {a.src}")
    bodies = [open(p, "rb").read() for p in files]
    for mode in a.modes.split(","):
        root = os.path.join(a.work, f"durable-floor-{mode}-{time.time_ns()}")
        rate = run(mode, bodies, root, a.threads)
        print(f"{mode} {rate:.0f}", flush=True)


def run(mode, bodies, root, threads):
    os.makedirs(os.path.join(root, "tmp"))
    os.makedirs(os.path.join(root, "files"))
    db_path = os.path.join(root, "meta.db")

    def connect():
        c = sqlite3.connect(db_path, isolation_level=None, timeout=60, check_same_thread=False)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        return c

    connect().execute(
        "CREATE TABLE nodes(id TEXT PRIMARY KEY, parent TEXT, name TEXT, size INT,"
        " UNIQUE(parent, name))"
    )
    files_dir = os.path.join(root, "files")

    def commit(c, items):
        for tmp, final, _ in items:
            os.rename(tmp, final)
        dfd = os.open(files_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        c.execute("BEGIN IMMEDIATE")
        for _, final, size in items:
            c.execute("INSERT INTO nodes VALUES(?,?,?,?)", (str(uuid.uuid4()), "p", final, size))
        c.execute("COMMIT")

    next_i = iter(range(len(bodies)))
    take = threading.Lock()
    one_commit = threading.Lock()
    cv = threading.Condition()
    queue, done, leading = [], set(), [False]
    errors = []

    def worker():
        try:
            c = connect()
            while True:
                with take:
                    i = next(next_i, None)
                if i is None:
                    return
                blob = str(uuid.uuid4())
                tmp = os.path.join(root, "tmp", blob + ".part")
                final = os.path.join(files_dir, blob + ".bin")
                fd = os.open(tmp if mode != "fsync" else final,
                             os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
                try:
                    os.write(fd, bodies[i])
                    os.fsync(fd)
                finally:
                    os.close(fd)
                item = (tmp, final, len(bodies[i]))
                if mode == "fsync":
                    continue
                if mode == "single":
                    with one_commit:  # one writer at a time, as SQLite's write lock
                        commit(c, [item])
                    continue
                with cv:
                    queue.append(item)
                    while item not in done:
                        if not leading[0] and queue:
                            leading[0] = True
                            batch = queue[:]
                            queue.clear()
                            cv.release()
                            try:
                                commit(c, batch)
                            finally:
                                cv.acquire()
                                done.update(batch)
                                leading[0] = False
                                cv.notify_all()
                        else:
                            cv.wait()
        except Exception as e:  # reported by the caller, never a silent figure
            errors.append(e)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    stored = len(os.listdir(files_dir))
    if stored != len(bodies):
        raise SystemExit(f"{mode}: {stored} of {len(bodies)} files stored")
    return len(bodies) / elapsed


if __name__ == "__main__":
    main()
