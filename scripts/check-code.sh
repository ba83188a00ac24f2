#!/usr/bin/env bash
# CI gate on the code itself (issue 17), in order, stopping at the first failure:
#   1. formatting         cargo fmt --all --check
#   2. doors              nothing under src/http or src/dav names `db::` or a `.db` handle (both
#                         doors call services)
#   3. module cycles      no import cycle between the top-level modules of src/
#                         (scripts/lib/module_cycles.py)
#   4. lints              cargo clippy --all-targets -D warnings, then the length rule
#                         (-D clippy::too_many_lines, threshold in clippy.toml) on everything
#                         but tests: --lib --bins --examples
#   5. dependencies       cargo deny check licenses bans sources (deny.toml). The advisories check
#                         is NOT run: it fetches the RustSec database from GitHub, which this
#                         machine and CI cannot reach (only the package registries are reachable).
#
# usage: scripts/check-code.sh (run by scripts/test.sh before the tests, quick checks first)
#
# cargo-deny is installed when missing (cargo install --locked) into
# $CLOUDVAULT_TEST_TOOLS/cargo-bin (default ~/.cache/cloudvault-test-tools/cargo-bin), which
# survives between runs on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

for arg in "$@"; do
  case "$arg" in
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: scripts/check-code.sh)" ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
TOOLS_DIR="${CLOUDVAULT_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudvault-test-tools}"
CARGO_TOOLS="$TOOLS_DIR/cargo-bin"
export PATH="$CARGO_TOOLS/bin:$PATH"

fail() { # fail CHECK WHAT: stop the gate with a clear message
  printf '\ncheck-code: FAILED at %s: %s\n' "$1" "$2" >&2
  exit 1
}

check_format() {
  say "1. formatting: cargo fmt --all --check"
  cargo fmt --all --check || fail "formatting" "run cargo fmt --all"
}

check_lints() {
  say "4a. lints: cargo clippy --all-targets --locked -- -D warnings"
  cargo clippy --all-targets --locked -- -D warnings || fail "lints" "clippy warnings (above)"
  say "4b. function length: cargo clippy --lib --bins --examples --locked -- -D clippy::too_many_lines"
  cargo clippy --lib --bins --examples --locked -- -D clippy::too_many_lines \
    || fail "function length" "a function outside the tests is over the clippy.toml threshold (above): split it"
  echo "function length: no function over the threshold"
}

# The two doors (src/http, src/dav) call services; only src/db holds SQL. Any `db::` there, or a
# `.db` handle (the pool: `app.db.run(...)`), is a door reaching past the services.
check_doors() {
  say "2. doors: no db:: (nor a .db handle) under src/http or src/dav"
  local hits
  hits="$(grep -rnE 'db::|\.db\b' src/http src/dav || true)"
  if [ -z "$hits" ]; then
    echo "doors: clean"
    return 0
  fi
  printf '%s\n' "$hits"
  fail "doors" "$(printf '%s\n' "$hits" | wc -l) line(s) under src/http or src/dav reach the database (above): call a service"
}

check_module_cycles() {
  say "3. module cycles: scripts/lib/module_cycles.py"
  local rc=0
  python3 scripts/lib/module_cycles.py || rc=$?
  case "$rc" in
    0) ;;
    1) fail "module cycles" "top-level modules of src/ import each other (above)" ;;
    *) fail "module cycles" "scripts/lib/module_cycles.py could not run (exit $rc)" ;;
  esac
}

ensure_cargo_deny() {
  if command -v cargo-deny >/dev/null 2>&1; then
    return 0
  fi
  say "installing cargo-deny into $CARGO_TOOLS (once; about a minute and a half)"
  local start build rc=0
  start=$(date +%s)
  mkdir -p "$CARGO_TOOLS"
  # Built in a folder of its own, removed afterwards: none of it belongs in the project's target.
  build="$(mktemp -d)"
  # A debug build without default features (TLS roots for fetching the advisory database, not
  # run here): 79 s here against 369 s for the optimised build, and the check still takes ~3 s.
  CARGO_TARGET_DIR="$build" cargo install cargo-deny --locked --debug --no-default-features \
    --root "$CARGO_TOOLS" || rc=$?
  rm -rf "$build"
  [ "$rc" = 0 ] || fail "dependencies" "cargo install cargo-deny failed (exit $rc)"
  echo "cargo-deny installed in $(elapsed "$start")"
}

check_dependencies() {
  ensure_cargo_deny
  # advisories: not run, it needs the RustSec database from GitHub (unreachable here).
  say "5. dependencies: cargo deny check licenses bans sources ($(cargo-deny --version))"
  # Without the inclusion trees (a thousand lines for the duplicate-version warnings alone).
  cargo deny --locked check --hide-inclusion-graph licenses bans sources \
    || fail "dependencies" "cargo deny (above): a license, ban or source deny.toml does not allow; \
\`cargo deny check licenses bans sources\` shows which crates pull it in"
}

START=$(date +%s)
check_format
check_doors
check_module_cycles
check_lints
check_dependencies
say "check-code: passed in $(elapsed "$START")"
