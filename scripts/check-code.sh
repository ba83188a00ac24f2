#!/usr/bin/env bash
# CI gate on the code itself (issue 17), in order, stopping at the first failure:
#   1. formatting         cargo fmt --all --check
#   2. lints              cargo clippy --all-targets -D warnings, then the length rule
#                         (-D clippy::too_many_lines, threshold in clippy.toml) on everything
#                         but tests: --lib --bins --examples
#   3. doors              nothing under src/http or src/dav names `db::` (both doors call services)
#   4. module cycles      no import cycle between the top-level modules of src/
#                         (scripts/lib/module_cycles.py)
#   5. dependencies       cargo deny check licenses bans sources (deny.toml). The advisories check
#                         is NOT run: it fetches the RustSec database from GitHub, which this
#                         machine and CI cannot reach (only the package registries are reachable).
#
# usage: scripts/check-code.sh [--allow-door-debt]
#   --allow-door-debt   checks 3 and 4 print their findings as warnings and do not fail the run,
#                       and so do over-long functions under src/dav and src/http (the doors
#                       being restructured); one anywhere else still fails (until the doors'
#                       restructuring lands).
#
# cargo-deny is installed when missing (cargo install --locked) into
# $CLOUDVAULT_TEST_TOOLS/cargo-bin (default ~/.cache/cloudvault-test-tools/cargo-bin), which
# survives between runs on the same machine. It is not wired into scripts/test.sh yet.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ALLOW_DOOR_DEBT=0
for arg in "$@"; do
  case "$arg" in
    --allow-door-debt) ALLOW_DOOR_DEBT=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: scripts/check-code.sh [--allow-door-debt])" ;;
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

# A finding of a check that --allow-door-debt turns into a warning.
door_debt() { # door_debt CHECK WHAT
  if [ "$ALLOW_DOOR_DEBT" = 1 ]; then
    printf 'check-code: WARNING (allowed by --allow-door-debt) at %s: %s\n' "$1" "$2" >&2
  else
    fail "$1" "$2"
  fi
}

check_format() {
  say "1. formatting: cargo fmt --all --check"
  cargo fmt --all --check || fail "formatting" "run cargo fmt --all"
}

check_lints() {
  say "2a. lints: cargo clippy --all-targets --locked -- -D warnings"
  cargo clippy --all-targets --locked -- -D warnings || fail "lints" "clippy warnings (above)"
  say "2b. function length: cargo clippy --lib --bins --examples --locked -- -D clippy::too_many_lines"
  if [ "$ALLOW_DOOR_DEBT" = 0 ]; then
    cargo clippy --lib --bins --examples --locked -- -D clippy::too_many_lines \
      || fail "function length" "a function outside the tests is over the clippy.toml threshold (above): split it"
    return 0
  fi
  # Door debt allowed: long functions under src/dav and src/http (being restructured) are
  # warnings; one anywhere else still fails.
  local out long elsewhere
  out="$(cargo clippy --lib --bins --examples --locked --message-format=short \
    -- -W clippy::too_many_lines 2>&1)" \
    || { printf '%s\n' "$out"; fail "function length" "cargo clippy failed (above)"; }
  long="$(printf '%s\n' "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: warning: this function has too many lines' || true)"
  elsewhere="$(printf '%s\n' "$long" | grep -vE '^src/(dav|http)/' | grep . || true)"
  if [ -n "$elsewhere" ]; then
    printf '%s\n' "$elsewhere"
    fail "function length" "a function outside the tests is over the clippy.toml threshold (above): split it"
  fi
  if [ -n "$long" ]; then
    printf '%s\n' "$long"
    door_debt "function length" "$(printf '%s\n' "$long" | wc -l) function(s) under src/dav or src/http over the threshold (above)"
  else
    echo "function length: no function over the threshold"
  fi
}

# The two doors (src/http, src/dav) call services; only src/db holds SQL. Any `db::` there is a
# door reaching past the services.
check_doors() {
  say "3. doors: no db:: under src/http or src/dav"
  local hits
  hits="$(grep -rn 'db::' src/http src/dav || true)"
  if [ -z "$hits" ]; then
    echo "doors: clean"
    return 0
  fi
  printf '%s\n' "$hits"
  door_debt "doors" "$(printf '%s\n' "$hits" | wc -l) line(s) under src/http or src/dav name db:: (above)"
}

check_module_cycles() {
  say "4. module cycles: scripts/lib/module_cycles.py"
  local rc=0
  python3 scripts/lib/module_cycles.py || rc=$?
  case "$rc" in
    0) ;;
    1) door_debt "module cycles" "top-level modules of src/ import each other (above)" ;;
    *) fail "module cycles" "scripts/lib/module_cycles.py could not run (exit $rc)" ;;
  esac
}

ensure_cargo_deny() {
  if command -v cargo-deny >/dev/null 2>&1; then
    return 0
  fi
  say "installing cargo-deny into $CARGO_TOOLS (once; several minutes)"
  local start build rc=0
  start=$(date +%s)
  mkdir -p "$CARGO_TOOLS"
  # Built in a folder of its own, removed afterwards: none of it belongs in the project's target.
  build="$(mktemp -d)"
  CARGO_TARGET_DIR="$build" cargo install cargo-deny --locked --root "$CARGO_TOOLS" || rc=$?
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
check_lints
check_doors
check_module_cycles
check_dependencies
say "check-code: passed in $(elapsed "$START")$([ "$ALLOW_DOOR_DEBT" = 1 ] && echo ' (door debt allowed)')"
