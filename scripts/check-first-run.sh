#!/usr/bin/env bash
# A newcomer's first run (issue 16), as CI checks it: from a fresh clone of this repository's HEAD,
# `./scripts/start.sh` installs what is missing, builds, and serves (/healthz answers, the built
# web UI is served at /), then is stopped:
#   A. with Debian 12's own nodejs 18 first on PATH (the .deb's binary, extracted, not installed):
#      start.sh must see it is too old and use a Node from PyPI;
#   B. with no node, npm or npx on PATH at all;
#   C. with the PATH as it is, while another process holds apt's and dpkg's locks (as unattended
#      upgrades do on a freshly booted machine), the apt step forced (CLOUDVAULT_APT_FORCE=1):
#      start.sh must say it waits, wait, and go on once the locks are free.
# The AI step of start.sh (issue 18): every run installs ONNX Runtime from PyPI's wheel into its
# data folder; A fetches the CLIP model from a local mirror of the test model
# (CLOUDVAULT_MODEL_BASE_URL, python3 -m http.server) and `cloudvault model status` then loads both;
# B and C cannot reach huggingface.co and must say so in exactly one line naming the fix.
# And scripts/test-webui.sh --no-e2e (Vitest and the production build, on the node_modules that
# start.sh's npm ci installed under the same PATH) passes under A and B; the end-to-end story runs
# once, in scripts/test.sh, with the PATH as it is. Each run starts without node_modules and dist.
#
# Run by scripts/test.sh (so by CI), or alone: scripts/check-first-run.sh. Needs root or sudo
# (apt), git, curl and python3. Uncommitted changes are not in the clone: commit first.
#
# The server is built with CLOUDVAULT_PROFILE=dev into the caller's CARGO_TARGET_DIR (or this
# checkout's target/), so in CI it reuses the debug build `cargo test` made and compiles only the
# clone's own crate again; CLOUDVAULT_FIRST_RUN_PROFILE=release checks the release build instead
# (about 12 more minutes on 2 cores when cold).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
source scripts/lib/common.sh
source scripts/lib/apt.sh

TOOLS_DIR="${CLOUDVAULT_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudvault-test-tools}"
PROFILE=${CLOUDVAULT_FIRST_RUN_PROFILE:-dev}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

PASSED=0 FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudvault-first-run.XXXXXX")
SERVER_PID='' HOLDER_PID='' MIRROR_PID=''
cleanup() {
  local rc=$?
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  [ -z "$MIRROR_PID" ] || kill "$MIRROR_PID" 2>/dev/null || true
  [ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null || as_root kill "$HOLDER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ "$rc" -eq 0 ] && [ "${CLOUDVAULT_FIRST_RUN_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
  else
    printf 'logs kept in %s (start-*.log, webui-*.log)\n' "$WORK" >&2
  fi
}
trap cleanup EXIT

CHECK_START=$(date +%s)
pass() { PASSED=$((PASSED + 1)); say "ok: $*"; }
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAILED: %s\n' "$*" >&2
  printf 'first-run check: %d passed, %d failed\n' "$PASSED" "$FAILED"
  exit 1
}

# ---- the two PATHs -------------------------------------------------------------------------------

# Debian 12's nodejs 18 and the libraries it needs that this machine lacks (libnode108, and
# libuv1 and libc-ares2 where missing), from `apt-get download`, unpacked with `dpkg -x` into the
# tools cache and run through a wrapper that sets LD_LIBRARY_PATH. `node --version` prints
# v18.20.x; running a script would need Debian's JS packages under /usr/share/nodejs (acorn,
# undici, cjs-module-lexer), which stay uninstalled: start.sh must not run it anyway.
debian_node18() {
  local root="$TOOLS_DIR/debian-nodejs18" dl version pkgs=() dep libdir
  if ! "$root/bin/node" --version 2>/dev/null | grep -q '^v18\.'; then
    say "Fetching Debian 12's nodejs 18 (apt-get download, dpkg -x) into $root"
    [ -n "$(apt-cache madison nodejs 2>/dev/null)" ] || apt_get update -qq
    version=$(apt-cache madison nodejs | awk -F' [|] ' '$2 ~ /^18\./ { print $2; exit }')
    [ -n "$version" ] || fail "no nodejs 18 in this machine's apt sources (apt-cache madison nodejs)"
    pkgs=("nodejs=$version" "libnode108=$version")
    for dep in $(apt-cache depends libnode108 | awk '$1 == "Depends:" && $2 ~ /^lib/ { print $2 }'); do
      dpkg -s "$dep" >/dev/null 2>&1 || pkgs+=("$dep")
    done
    rm -rf "$root" && mkdir -p "$root/debs"
    dl=$(mktemp -d) && chmod 777 "$dl" # apt downloads as the _apt user
    (cd "$dl" && apt-get download -qq "${pkgs[@]}")
    for deb in "$dl"/*.deb; do dpkg -x "$deb" "$root/tree"; done
    mv "$dl"/*.deb "$root/debs/" && rm -rf "$dl"
    libdir=$(echo "$root"/tree/usr/lib/*-linux-gnu)
    mkdir -p "$root/bin"
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
      "$libdir" "$root/tree/usr/bin/node" >"$root/bin/node"
    chmod +x "$root/bin/node"
    ln -s node "$root/bin/nodejs"
  fi
  mkdir -p "$WORK/node18-bin"
  ln -s "$root/bin/node" "$WORK/node18-bin/node"
  ln -s "$root/bin/node" "$WORK/node18-bin/nodejs"
}

# A bin folder with everything on the PATH but node, nodejs, npm, npx and corepack.
no_node_bin() {
  local bin="$WORK/nonode-bin" dir f name
  mkdir -p "$bin"
  IFS=: read -r -a dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
      name=${f##*/}
      case "$name" in node | nodejs | npm | npx | corepack) continue ;; esac
      if [ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$bin/$name" ]; then ln -s "$f" "$bin/$name"; fi
    done
  done
}

# ---- one start.sh run ----------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

show_log() { printf -- '---- last lines of %s\n' "$1" >&2; tail -n 40 "$1" >&2; }

# start_server NAME PATH [ENV=VALUE...]: starts ./scripts/start.sh in the clone in the
# background, with a fresh data folder and a free port; sets SERVER_PID, PORT, LOG.
start_server() {
  local name=$1 path=$2
  shift 2
  PORT=$(free_port)
  LOG="$WORK/start-$name.log"
  # A fresh web UI each time, so npm ci and the build run under this run's PATH.
  rm -rf "$WORK/clone/webui/node_modules" "$WORK/clone/webui/dist"
  (
    cd "$WORK/clone"
    exec env PATH="$path" CLOUDVAULT_PROFILE="$PROFILE" CLOUDVAULT_NODE_DIR="$WORK/node" \
      CLOUDVAULT_TEST_TOOLS="$TOOLS_DIR" "$@" \
      ./scripts/start.sh --data "$WORK/data-$name" --listen "127.0.0.1:$PORT"
  ) </dev/null >"$LOG" 2>&1 &
  SERVER_PID=$!
}

# serves NAME: waits until the server answers /healthz (the first build may take long), checks
# that / is the built web UI and that its script loads, then stops the server.
serves() {
  local name=$1 base="http://127.0.0.1:$PORT" deadline page asset
  deadline=$(($(date +%s) + 3600))
  until curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      show_log "$LOG"
      SERVER_PID=''
      fail "$name: start.sh ended before the server answered"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { show_log "$LOG"; fail "$name: no answer on $base/healthz within an hour"; }
    sleep 1
  done
  page=$(curl -fsS "$base/")
  asset=$(printf '%s' "$page" | grep -o 'src="/assets/[^"]*\.js"' | head -n 1 | cut -d'"' -f2)
  if ! printf '%s' "$page" | grep -q '<div id="root">' || [ -z "$asset" ]; then
    show_log "$LOG"
    fail "$name: / is not the built web UI: $(printf '%s' "$page" | head -c 300)"
  fi
  curl -fsS -o /dev/null "$base$asset" || fail "$name: the web UI's script $asset does not load"
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=''
  pass "$name: start.sh served /healthz and the web UI ($asset) on $base, then stopped ($(grep -m1 -o 'Server built in .*' "$LOG"))"
}

expect_log() { # expect_log NAME REGEX WHAT
  grep -qE "$2" "$LOG" || { show_log "$LOG"; fail "$1: start.sh did not print $3 (/$2/)"; }
}

# ai_offline NAME: start.sh installed ONNX Runtime and said in one line that the model is missing
# and how to add it.
ai_offline() {
  local name=$1 n
  expect_log "$name" '^==> AI: ONNX Runtime ready \(.*/data-'"$name"'/onnxruntime/libonnxruntime\.so' "that ONNX Runtime is installed"
  [ -e "$WORK/data-$name/onnxruntime/libonnxruntime.so" ] || fail "$name: no libonnxruntime.so in the data folder"
  # start.sh's own lines (==>); the server's log that follows says it again in its own words.
  n=$(grep -cE '^==> .*(CLIP model|huggingface)' "$LOG" || true)
  [ "$n" = 1 ] || { show_log "$LOG"; fail "$name: start.sh printed $n lines about the model, want one"; }
  expect_log "$name" '^==> AI: no CLIP model \(cannot reach huggingface\.co\): .*to add it: .*cloudvault --data .*/data-'"$name"' model fetch$' "one line naming the missing model and its fix"
  pass "$name: ONNX Runtime installed, and one line about the model: $(grep -m1 -o 'AI: no CLIP model ([^)]*)' "$LOG")"
}

# webui_tests NAME PATH: scripts/test-webui.sh --no-e2e in the clone under PATH (node_modules as
# start.sh's npm ci left them under the same PATH).
webui_tests() {
  local name=$1 path=$2 log="$WORK/webui-${1%% *}.log" t
  t=$(date +%s)
  if ! (cd "$WORK/clone" && env PATH="$path" CLOUDVAULT_NODE_DIR="$WORK/node" CLOUDVAULT_TEST_TOOLS="$TOOLS_DIR" \
      scripts/test-webui.sh --no-e2e) </dev/null >"$log" 2>&1; then
    show_log "$log"
    fail "$name: scripts/test-webui.sh --no-e2e failed"
  fi
  grep -qE '^==> Using Node v24\.' "$log" || { show_log "$log"; fail "$name: test-webui.sh did not use the Node from PyPI"; }
  pass "$name: vitest and the build passed (after start.sh's npm ci) with $(grep -m1 '^==> Using Node' "$log" | cut -d' ' -f3-4) ($(elapsed "$t"))"
}

# ---- the checks ----------------------------------------------------------------------------------

# Which Node versions scripts/lib/node.sh takes, as the engines fields in webui/package-lock.json say.
node_versions_table() {
  local v want got
  source scripts/lib/node.sh
  while read -r v want; do
    got=$( (node_version_fits "$v" "$NODE_FOR_BUILD" && echo b || echo -) ; (node_version_fits "$v" "$NODE_FOR_TESTS" && echo t || echo -) )
    got=${got//$'\n'/}
    [ "$got" = "$want" ] || fail "node_version_fits $v: got '$got', want '$want' (b = build, t = tests)"
  done <<'TABLE'
v18.20.4 --
v20.18.3 --
v20.19.0 b-
v20.20.2 b-
v21.7.3 --
v22.11.0 --
v22.12.0 bt
v23.11.0 b-
v24.19.0 bt
v25.1.0 b-
v26.0.0 bt
garbage --
TABLE
  pass "scripts/lib/node.sh takes the Node versions the web UI's engines ask for (build ^20.19 || >=22.12, tests ^22.12 || ^24 || >=26)"
}

say "first-run check in $WORK (clone of $(git rev-parse --short HEAD); profile $PROFILE; CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
[ -z "$(git status --porcelain --untracked-files=no)" ] || say "note: uncommitted changes in $ROOT are not part of the check"
node_versions_table
git clone -q "$ROOT" "$WORK/clone"
debian_node18
no_node_bin
NODE18_PATH="$WORK/node18-bin:$PATH"
v=$(PATH="$NODE18_PATH" node --version)
[[ "$v" == v18.* ]] || fail "the PATH for run A has node $v, not Debian's 18"
! PATH="$WORK/nonode-bin" command -v node >/dev/null || fail "the PATH for run B still has a node"
! PATH="$WORK/nonode-bin" command -v npm >/dev/null || fail "the PATH for run B still has an npm"
say "run A: Debian 12's node $v first on PATH; run B: no node on PATH"

# A plain mirror of the test model for run A's `model fetch` (no checksums: allow-unverified).
MODEL_SRC="$TOOLS_DIR/test-model"
[ -f "$MODEL_SRC/config.json" ] || fail "no test model in $MODEL_SRC: scripts/test.sh builds it (scripts/make-test-model.py)"
MIRROR_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$MODEL_SRC" "$MIRROR_PORT" >"$WORK/mirror.log" 2>&1 &
MIRROR_PID=$!

t=$(date +%s)
start_server A "$NODE18_PATH" CLOUDVAULT_MODEL_BASE_URL="http://127.0.0.1:$MIRROR_PORT/{file}" CLOUDVAULT_MODEL_ALLOW_UNVERIFIED=1
serves "A (Debian's node $v first on PATH)"
expect_log A '^==> AI: ONNX Runtime ready \(.*/data-A/onnxruntime/libonnxruntime\.so' "that ONNX Runtime is installed"
expect_log A '^==> AI: CLIP model ready \(model ViT-B-32__openai ready in .*/data-A/models/ViT-B-32__openai\)' "that the model was fetched from the mirror"
status=$("$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/cloudvault" --data "$WORK/data-A" model status 2>&1) \
  || { printf '%s\n' "$status" >&2; fail "A: cloudvault model status does not load ONNX Runtime and the fetched model"; }
expect_log A '^==> AI: weights: the server runs (int8|float32): int8 is .* ms a picture, float32 ' "which weights the server runs, measured on this CPU"
grep -q '^weights: \(int8\|float32\) (int8 is ' <<<"$status" || { printf '%s\n' "$status" >&2; fail "A: model status does not say which weights it loads and why"; }
pass "A: start.sh installed ONNX Runtime and the model from the mirror (weights measured on this CPU); model status loads both"
kill "$MIRROR_PID" 2>/dev/null || true
wait "$MIRROR_PID" 2>/dev/null || true
MIRROR_PID=''

expect_log A "too old: the web UI needs Node" "that Node 18 is too old"
expect_log A '^==> Using Node v24\..*from PyPI' "the Node from PyPI it uses"
say "run A took $(elapsed "$t")"
webui_tests "A (Debian's node $v first on PATH)" "$NODE18_PATH"

t=$(date +%s)
start_server B "$WORK/nonode-bin"
serves "B (no node on PATH)"
ai_offline B
expect_log B "^==> No node on PATH" "that there is no Node"
expect_log B '^==> Using Node v24\..*from PyPI' "the Node from PyPI it uses"
say "run B took $(elapsed "$t")"
webui_tests "B (no node on PATH)" "$WORK/nonode-bin"

# C: hold apt's and dpkg's locks the way apt does (fcntl locks: `flock` would not stop apt).
t=$(date +%s)
HOLD_LOG="$WORK/holder.log"
HOLD_CODE='
import fcntl, sys, time
held = []
for path in sys.argv[1:]:
    f = open(path, "a")
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    held.append(f)
print("held", flush=True)
time.sleep(600)
'
# Started directly (not through a shell function), so that HOLDER_PID is the holder itself (or
# sudo, which passes the signal on) and killing it frees the locks.
if [ "$(id -u)" -eq 0 ]; then
  python3 -c "$HOLD_CODE" /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >"$HOLD_LOG" 2>&1 &
else
  # shellcheck disable=SC2024 # the log is ours, not root's
  sudo python3 -c "$HOLD_CODE" /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >"$HOLD_LOG" 2>&1 &
fi
HOLDER_PID=$!
deadline=$(($(date +%s) + 30))
until grep -q held "$HOLD_LOG"; do
  kill -0 "$HOLDER_PID" 2>/dev/null || fail "could not take apt's locks: $(cat "$HOLD_LOG")"
  [ "$(date +%s)" -lt "$deadline" ] || fail "could not take apt's locks within 30 s"
  sleep 0.2
done
start_server C "$PATH" CLOUDVAULT_APT_FORCE=1
deadline=$(($(date +%s) + 120))
until grep -q 'waiting for another apt/dpkg (unattended upgrades?) to finish' "$LOG"; do
  kill -0 "$SERVER_PID" 2>/dev/null || { show_log "$LOG"; SERVER_PID=''; fail "C: start.sh ended while apt's locks were held"; }
  [ "$(date +%s)" -lt "$deadline" ] || { show_log "$LOG"; fail "C: start.sh did not say it waits for apt within 2 min"; }
  sleep 0.5
done
sleep 5 # still waiting, not past the apt step
kill -0 "$SERVER_PID" 2>/dev/null || { show_log "$LOG"; SERVER_PID=''; fail "C: start.sh ended while apt's locks were held"; }
if grep -qE 'apt/dpkg is free again|^==> Using cargo' "$LOG"; then
  show_log "$LOG"
  fail "C: start.sh went on while apt's locks were held"
fi
pass "C: start.sh waits while apt's locks are held: $(grep -m1 'waiting for another apt' "$LOG" | cut -c5-)"
kill "$HOLDER_PID" 2>/dev/null || as_root kill "$HOLDER_PID" 2>/dev/null || true
wait "$HOLDER_PID" 2>/dev/null || true
HOLDER_PID=''
serves "C (the locks released; PATH as it is)"
expect_log C 'apt/dpkg is free again' "that apt was free again"
ai_offline C
say "run C took $(elapsed "$t")"

say "first-run check took $(elapsed "$CHECK_START")"
printf 'first-run check: %d passed, %d failed\n' "$PASSED" "$FAILED"
