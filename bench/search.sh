#!/usr/bin/env bash
# Benchmark (not a test): the in-memory embedding index (src/search/index.rs) against numpy f32
# brute force and faiss IndexScalarQuantizer (SQ8, fp16) in the SAME run, on synthetic 512-d
# sets (random unit vectors and clustered ones, 100k and 1M): p50/p99 of one query, recall@10
# against the exact f32 answer, memory, build time; then the verdict against issue 4b's targets
# (1M: p50 <= 30 ms with recall@10 >= 0.95). See bench/README.md. Exits 0 once it has a table.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/search.sh [options]

  --sizes LIST          comma-separated set sizes (default 100000,1000000)
  --kinds LIST          random,clustered (default both)
  --queries N           queries per set (default 200)
  --threads N           threads for numpy/faiss (default 2; ours run with 1 and 2)
  --text-encode-ms X    TEXT-ENCODER HOOK: add X ms per query for a "whole query" row (a stand-in
                        until the CLIP text encoder exists; see examples/searchbench.rs)
  --no-peers            skip numpy/faiss
  -h, --help

environment: BENCH_DIR (default /tmp/cloudvault-searchbench): venv, data files, results.
EOF
}

SIZES=100000,1000000
KINDS=random,clustered
QUERIES=200
THREADS=2
TEXT_MS=0
PEERS=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --sizes) SIZES=$2; shift 2 ;;
        --kinds) KINDS=$2; shift 2 ;;
        --queries) QUERIES=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --text-encode-ms) TEXT_MS=$2; shift 2 ;;
        --no-peers) PEERS=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cloudvault-searchbench}
log() { printf '== %s\n' "$*" >&2; }
mkdir -p "$BENCH_DIR"

if [[ $PEERS == 1 ]]; then
    if [[ ! -x $BENCH_DIR/venv/bin/python ]]; then
        log "python venv with numpy and faiss-cpu (PyPI)"
        python3 -m venv "$BENCH_DIR/venv"
    fi
    "$BENCH_DIR/venv/bin/python" -c 'import numpy' 2>/dev/null || "$BENCH_DIR/venv/bin/pip" install -q numpy
    "$BENCH_DIR/venv/bin/python" -c 'import faiss' 2>/dev/null ||
        "$BENCH_DIR/venv/bin/pip" install -q faiss-cpu || log "faiss-cpu did not install: numpy only"
fi

log "building examples/searchbench (release)"
(cd "$REPO" && cargo build --release --example searchbench -q)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
DRIVER=$TARGET_DIR/release/examples/searchbench

RUN=$BENCH_DIR/runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
OUT=$RUN/results.tsv
{
    echo "# commit $(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet || echo '+dirty')"
    echo "# $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x$(nproc)"
    echo "# thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
} > "$OUT"
cat "$OUT" >&2

IFS=, read -ra sizes <<< "$SIZES"
IFS=, read -ra kinds <<< "$KINDS"
for n in "${sizes[@]}"; do
    for kind in "${kinds[@]}"; do
        data=$BENCH_DIR/data
        mkdir -p "$data"
        extra=()
        [[ $TEXT_MS != 0 ]] && extra+=(--text-encode-ms "$TEXT_MS")
        # numpy and faiss need the data file; without them the driver keeps it in memory.
        [[ $PEERS == 1 ]] && extra+=(--out "$data")
        "$DRIVER" --n "$n" --kind "$kind" --queries "$QUERIES" "${extra[@]}" | tee -a "$OUT"
        if [[ $PEERS == 1 ]]; then
            log "numpy / faiss on $kind n=$n"
            "$BENCH_DIR/venv/bin/python" "$REPO/bench/search_peers.py" "$data" "$kind" "$n" 512 "$THREADS" | tee -a "$OUT"
            rm -f "$data"/data.f32
        fi
    done
done

python3 - "$OUT" <<'EOF'
import sys
rows, over, quant = [], {}, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if f[0] == "row":
        rows.append(f[1:])
    elif f[0] == "oversample":
        over.setdefault((f[1], f[2]), []).append(f"x{f[3]}: {f[4]}")
    elif f[0] == "quant":
        quant.setdefault((f[1], f[2]), []).append(f"{f[3]} {f[4]}")
print(f"\n{'set':<10} {'n':>8} {'implementation':<30} {'thr':>3} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>9} {'MiB':>8} {'build s':>8}")
for s, n, imp, t, p50, p99, rec, mem, b in rows:
    print(f"{s:<10} {n:>8} {imp:<30} {t:>3} {p50:>8} {p99:>8} {rec:>9} {mem:>8} {b:>8}")
print("\nrecall@10 of our index against candidates kept (oversample x k), 2 threads:")
for (s, n), v in over.items():
    print(f"  {s} {n}: " + ", ".join(v))
print("recall@10 of the int8 ranking alone (no rescoring), by quantisation:")
for (s, n), v in quant.items():
    print(f"  {s} {n}: " + ", ".join(v))
print("\nverdict (issue 4b, 1M: p50 <= 30 ms and recall@10 >= 0.95):")
found = False
for s, n, imp, t, p50, p99, rec, mem, b in rows:
    if n == "1000000" and imp == "cloudvault-int8":
        found = True
        ok = float(p50) <= 30 and float(rec) >= 0.95
        ref = [r for r in rows if r[0] == s and r[1] == n and r[2] == "numpy-f32"]
        vs = f", numpy f32 in this run {ref[0][4]} ms" if ref else ""
        print(f"  {s:<10} {t} thread(s): p50 {p50} ms, recall {rec}{vs}: {'PASS' if ok else 'MISS'}")
if not found:
    print("  no 1M row in this run (use --sizes ...,1000000)")
EOF
log "results: $OUT"
