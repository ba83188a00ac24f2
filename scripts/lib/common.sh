# shellcheck shell=bash
# Shared by the scripts in scripts/: messages, root, version comparison. Source it; it sets nothing
# else and runs nothing.

if [ -t 1 ]; then _cv_b=$'\033[1m' _cv_n=$'\033[0m'; else _cv_b='' _cv_n=''; fi
say() { printf '%s==> %s%s\n' "$_cv_b" "$*" "$_cv_n"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (install sudo or run this as root)"
  fi
}

version_ge() { # version_ge A B: A >= B (dotted versions, a leading v ignored)
  local a=${1#v} b=${2#v}
  [ "$(printf '%s\n%s\n' "$b" "$a" | sort -V | head -n1)" = "$b" ]
}

elapsed() { # elapsed START_SECONDS → "3m12s"
  local s=$(( $(date +%s) - $1 ))
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
