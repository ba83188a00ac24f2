#!/usr/bin/env bash
# Sets up and starts CloudVault on the embedded default: SQLite + files in ./data,
# listening on 127.0.0.1:8080. Safe to run again: each step is skipped when already done.
#
#   ./scripts/start.sh                          # build (first time) and serve
#   ./scripts/start.sh --listen 127.0.0.1:9000  # extra arguments go to `cloudvault serve`
#   CLOUDVAULT_DEFAULT_QUOTA=100GB ./scripts/start.sh
#
# Steps: Debian build packages (apt) → Rust toolchain (cargo on PATH, ~/.cargo/bin, or rustup
# from https://sh.rustup.rs) → web UI (only if webui/package.json exists) → cargo build --release
# → exec cloudvault serve. CLOUDVAULT_* variables work as usual; --data ./data is added only when
# neither CLOUDVAULT_DATA_DIR, CLOUDVAULT_CONFIG nor --data/--config says where the data lives.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# The oldest Rust that builds the server: the highest rust-version among the crates in
# Cargo.lock (parking_lot asks for 1.95). Raise it when an update needs more.
MIN_RUST=1.95

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$N"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (install sudo or run this script as root)"
  fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  say "Installing ${missing[*]} with apt"
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

version_ge() { # version_ge A B: A >= B
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# 1. Build packages (C compiler and linker for the bundled SQLite, curl for rustup).
if command -v dpkg-query >/dev/null 2>&1; then
  apt_install build-essential pkg-config nasm curl ca-certificates
else
  say "Not a Debian system: make sure a C compiler, pkg-config and curl are installed"
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
  # Debian's nodejs has npm apart; NodeSource's nodejs ships npm itself (and conflicts with it).
  command -v node >/dev/null 2>&1 || apt_install nodejs
  command -v npm >/dev/null 2>&1 || apt_install npm
  say "Building the web UI (webui/dist)"
  (
    cd webui
    if [ -f package-lock.json ]; then
      # npm ci starts from scratch: only when the lock file changed since the last install.
      if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund
      fi
    else
      npm install --no-audit --no-fund
    fi
    npm run build
  )
fi

# 4. The server.
say "Building the server (cargo build --release; the first build takes a few minutes)"
cargo build --release
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/cloudvault"
[ -x "$BIN" ] || die "build finished but $BIN is missing"

# 5. Serve. Flags win over environment and config file, so --data is only added when nothing
#    else chose the data folder.
args=()
has_location=0
for a in "$@"; do
  case "$a" in --data|--data=*|--config|--config=*) has_location=1 ;; esac
done
if [ "$has_location" -eq 0 ] && [ -z "${CLOUDVAULT_DATA_DIR:-}" ] && [ -z "${CLOUDVAULT_CONFIG:-}" ]; then
  args+=(--data ./data)
fi
say "Starting: $BIN ${args[*]} serve $*"
exec "$BIN" "${args[@]}" serve "$@"
