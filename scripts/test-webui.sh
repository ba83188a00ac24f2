#!/usr/bin/env bash
# The web UI's tests (webui/): npm ci (when the lock file changed), unit tests (Vitest), the
# production build (bundle budget), then the end-to-end tests in Debian's Chromium against the
# release server binary (what start.sh runs; the photo timeline's first screen is timed on it).
# Part of scripts/test.sh; runs alone too.
#
#   scripts/test-webui.sh            # everything
#   scripts/test-webui.sh --no-e2e   # npm ci, vitest and the build only (no Chromium, no cargo)
#
# Node: the node on PATH when it fits vitest's engines (^22.12 || ^24 || >=26), else a Node from
# PyPI in ${CLOUDVAULT_NODE_DIR:-$TOOLS_DIR/node} (scripts/lib/node.sh). npm's cache lives with
# the other test tools, so `npm ci` is quick after the first run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/common.sh
source scripts/lib/apt.sh
source scripts/lib/node.sh

E2E=1
for a in "$@"; do
  case "$a" in
    --no-e2e) E2E=0 ;;
    *) die "unknown argument $a (usage: scripts/test-webui.sh [--no-e2e])" ;;
  esac
done

TOOLS_DIR="${CLOUDVAULT_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudvault-test-tools}"
use_node "$NODE_FOR_TESTS" "${CLOUDVAULT_NODE_DIR:-$TOOLS_DIR/node}"

if [ "$E2E" = 1 ]; then
  # Debian's Chromium, driven by playwright-core; ffmpeg makes the test pictures and videos.
  command -v dpkg-query >/dev/null 2>&1 && apt_install chromium ffmpeg
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  say "web UI: the release server for the end-to-end tests (cargo build --release)"
  cargo build --release --locked
fi

cd webui
export npm_config_cache="${npm_config_cache:-$TOOLS_DIR/npm-cache}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "web UI: npm ci"
  npm ci --no-audit --no-fund
fi
say "web UI: vitest"
npx vitest run
say "web UI: build"
npm run build
if [ "$E2E" = 1 ]; then
  say "web UI: end-to-end story in Chromium"
  npm run e2e
fi
