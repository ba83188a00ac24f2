#!/usr/bin/env bash
# Checks the shipped systemd units with `systemd-analyze verify` (and fails on any warning it
# prints, which verify itself does not). The units name /usr/local/bin/cloudvault, which verify
# requires to exist: a copy of the units pointing at BINARY (default: target/release or
# target/debug cloudvault, else /bin/true) is checked instead.
#   scripts/verify-systemd.sh [BINARY] [UNIT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  for b in target/release/cloudvault target/debug/cloudvault /bin/true; do
    if [ -x "$b" ]; then bin=$(realpath "$b"); break; fi
  done
fi
units=${2:-systemd}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (apt-get install systemd)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$units"/. "$work"/
find "$work" -type f \( -name '*.service' -o -name '*.timer' -o -name '*.conf' \) \
  -exec sed -i "s#/usr/local/bin/cloudvault#$bin#g" {} +
out=$(cd "$work" && systemd-analyze verify ./*.service ./*.timer 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
echo "systemd units OK: $(cd "$work" && ls ./*.service ./*.timer | xargs -n1 basename | tr '\n' ' ')"
