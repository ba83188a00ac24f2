"""Peers for bench/search.sh: numpy f32 brute force and faiss scalar quantisers (SQ8, fp16) on
the vectors, queries and exact answers that examples/searchbench.rs wrote to DIR.

Prints `row set n impl threads p50_ms p99_ms recall mem_mb build_s` lines (tab-separated), the
same format as the Rust driver. One query at a time, like a user's search.
"""

import sys
import time

import numpy as np


def main():
    folder, set_name, n, dim, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    data = np.fromfile(f"{folder}/data.f32", dtype="<f4").reshape(n, dim)
    queries = np.fromfile(f"{folder}/queries.f32", dtype="<f4").reshape(-1, dim)
    truth = np.fromfile(f"{folder}/truth.u32", dtype="<u4").reshape(-1, 10)

    def run(label, search, mem_mb, build_s, nthreads):
        search(queries[0])  # warm-up, untimed
        times, found = [], 0
        for q, t in zip(queries, truth):
            start = time.perf_counter()
            ids = search(q)
            times.append((time.perf_counter() - start) * 1000.0)
            found += len(set(int(i) for i in ids) & set(int(i) for i in t))
        times.sort()
        p = lambda f: times[round((len(times) - 1) * f)]
        print(f"row\t{set_name}\t{n}\t{label}\t{nthreads}\t{p(0.5):.2f}\t{p(0.99):.2f}\t"
              f"{found / truth.size:.4f}\t{mem_mb:.1f}\t{build_s:.2f}", flush=True)

    def numpy_search(q):
        s = data @ q
        top = np.argpartition(-s, 10)[:10]
        return top[np.argsort(-s[top])]

    run("numpy-f32", numpy_search, data.nbytes / 2**20, 0.0, threads)

    try:
        import faiss
    except ImportError as e:
        print(f"faiss not available: {e}", file=sys.stderr)
        return
    faiss.omp_set_num_threads(threads)
    for label, qtype in (("faiss-SQ8", faiss.ScalarQuantizer.QT_8bit), ("faiss-fp16", faiss.ScalarQuantizer.QT_fp16)):
        start = time.perf_counter()
        index = faiss.IndexScalarQuantizer(dim, qtype, faiss.METRIC_INNER_PRODUCT)
        index.train(data[: min(n, 100_000)])
        index.add(data)
        build = time.perf_counter() - start
        mem = index.sa_code_size() * n / 2**20

        def faiss_search(q, index=index):
            _, ids = index.search(q.reshape(1, -1), 10)
            return ids[0]

        run(label, faiss_search, mem, build, threads)
        del index


if __name__ == "__main__":
    main()
