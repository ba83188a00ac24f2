#!/usr/bin/env bash
# Thumbnails per second on 12-megapixel JPEGs: CloudVault's media code (release build) side by side
# with Pillow's JPEG draft mode and vipsthumbnail, in one run. See bench/README.md.
#
#   bench/thumbnails.sh                 # 16 photos, 3 rounds, 2 passes per measurement
#   bench/thumbnails.sh --rounds 1 --images 4 --passes 1   # quick check that it works
#   BENCH_DIR=/mnt/x bench/thumbnails.sh --no-install
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

BENCH_DIR="${BENCH_DIR:-/tmp/cloudvault-thumbbench}"
IMAGES="${IMAGES:-16}"
ROUNDS="${ROUNDS:-3}"
PASSES="${PASSES:-2}"
INSTALL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --images) IMAGES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --passes) PASSES="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
mkdir -p "$BENCH_DIR"

# Tools: python3-venv for Pillow, libvips-tools for vipsthumbnail (optional: skipped if it cannot be had).
if [ "$INSTALL" = 1 ]; then
  missing=()
  for p in python3-venv libvips-tools; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || echo "   (install failed; going on without)"
  fi
fi
VENV="$BENCH_DIR/venv"
if ! "$VENV/bin/python" -c 'import PIL, numpy' 2>/dev/null; then
  echo "==> Pillow and numpy into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pillow numpy
fi
PY="$VENV/bin/python"

echo "==> $IMAGES photo-like 4000x3000 JPEGs in $BENCH_DIR/photos (made once, ~5 s each)"
"$PY" "$REPO/bench/thumbnails_gen.py" "$BENCH_DIR/photos" "$IMAGES"
PHOTOS=()
for i in $(seq 0 $((IMAGES - 1))); do PHOTOS+=("$BENCH_DIR/photos/$(printf 'photo%02d.jpg' "$i")"); done

echo "==> cargo build --release --example thumbbench"
cargo build --release --quiet --example thumbbench
DRIVER="${CARGO_TARGET_DIR:-$REPO/target}/release/examples/thumbbench"
# A copy, so a rebuild during the run cannot swap the binary under it.
cp "$DRIVER" "$BENCH_DIR/thumbbench"
DRIVER="$BENCH_DIR/thumbbench"

RUN="$BENCH_DIR/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN"
RESULTS="$RUN/results.tsv"
OUT="$BENCH_DIR/out"

now() { date +%s.%N; }
# vipsthumbnail with one thread per process (VIPS_CONCURRENCY=1), the file list PASSES times, split
# across $1 processes. Prints the same columns as the other drivers (no CPU figure).
run_vips() {
  local procs="$1" list=() start end n
  for _ in $(seq "$PASSES"); do list+=("${PHOTOS[@]}"); done
  n=${#list[@]}
  rm -rf "$OUT/vips"; mkdir -p "$OUT/vips"
  VIPS_CONCURRENCY=1 vipsthumbnail --size 256 -o "$OUT/vips/%s.jpg[Q=82]" "${PHOTOS[0]}"  # warm-up
  start=$(now)
  printf '%s\n' "${list[@]}" | VIPS_CONCURRENCY=1 xargs -P "$procs" -n $(((n + procs - 1) / procs)) \
    vipsthumbnail --size 256 -o "$OUT/vips/%s.jpg[Q=82]"
  end=$(now)
  python3 -c "import sys; n,w=int(sys.argv[1]),float(sys.argv[2])-float(sys.argv[3]); print(f'{sys.argv[4]}\t{n}\t{w:.3f}\t{n/w:.2f}\t-')" \
    "$n" "$end" "$start" "$procs"
}

echo "==> load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $ROUNDS rounds x $PASSES passes x $IMAGES photos"
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
  for par in 1 2; do
    rm -rf "$OUT"; mkdir -p "$OUT"
    line=$("$DRIVER" --mode small --threads "$par" --reps "$PASSES" --out "$OUT/small" "${PHOTOS[@]}")
    printf 'cloudvault small (256)\t%s\t%s\n' "$round" "$line" | tee -a "$RESULTS"
    line=$("$PY" "$REPO/bench/thumbnails_pillow.py" "$par" "$PASSES" "$OUT/pillow" "${PHOTOS[@]}")
    printf 'pillow draft (256)\t%s\tsmall\t%s\n' "$round" "$line" | tee -a "$RESULTS"
    line=$("$DRIVER" --mode full --threads "$par" --reps "$PASSES" --out "$OUT/full" "${PHOTOS[@]}")
    printf 'cloudvault process_file (1440+256)\t%s\t%s\n' "$round" "$line" | tee -a "$RESULTS"
    if command -v vipsthumbnail >/dev/null; then
      line=$(run_vips "$par")
      printf 'vipsthumbnail (256)\t%s\tsmall\t%s\n' "$round" "$line" | tee -a "$RESULTS"
    fi
  done
done
echo "==> load after: $(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "cloudvault $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet || echo '+dirty')"
  "$PY" -c 'import PIL; from PIL import features; print("Pillow", PIL.__version__, "libjpeg-turbo", features.version("libjpeg_turbo"))'
  command -v vipsthumbnail >/dev/null && vipsthumbnail --vips-version 2>/dev/null | head -n 1
  grep -m1 'model name' /proc/cpuinfo
} > "$RUN/versions.txt" 2>&1 || true
cat "$RUN/versions.txt"

# Medians per row, and the ratios to Pillow (same parallelism, and per CPU-second).
python3 - "$RESULTS" <<'EOF' | tee "$RUN/table.txt"
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, _round, _mode, par, n, wall, per_s, cpu = line.rstrip("\n").split("\t")
    rows.setdefault((name, int(par)), []).append((float(per_s), None if cpu == "-" else float(cpu)))
def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None
table = {k: (med([a for a, _ in v]), med([b for _, b in v])) for k, v in rows.items()}
print()
print(f"{'path':36} {'par':>3} {'thumbs/s':>9} {'CPU ms/thumb':>13} {'vs Pillow same par':>19} {'vs Pillow per CPU-s':>20}")
for (name, par), (per_s, cpu) in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    pil = table.get(("pillow draft (256)", par))
    same = f"{per_s / pil[0]:.2f}x" if pil else "-"
    per_cpu = f"{pil[1] / cpu:.2f}x" if pil and pil[1] and cpu else "-"
    print(f"{name:36} {par:>3} {per_s:>9.1f} {cpu if cpu is not None else '-':>13} {same:>19} {per_cpu:>20}")
ours, pil = table.get(("cloudvault small (256)", 1)), table.get(("pillow draft (256)", 1))
if ours and pil:
    ok = ours[0] >= pil[0] and ours[1] <= pil[1]
    print()
    print(f"target (issue 4c): small thumbnails per core >= Pillow draft: {ours[0]:.1f}/s vs {pil[0]:.1f}/s, "
          f"{ours[1]:.1f} vs {pil[1]:.1f} CPU ms each -> {'PASS' if ok else 'MISS'}")
EOF
echo "==> results in $RUN"
